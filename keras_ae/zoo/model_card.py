"""A preset's model card (``README.md``): YAML front matter the Hugging Face Hub reads, then the
description, usage, metrics, pictures and files."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCardData

from keras_ae.zoo import registry
from keras_ae.zoo.preset_files import (
    CONFIG_FILE,
    GOLDEN_FILE,
    LOADED_WITHOUT_TRAINING_WEIGHTS,
    METADATA_FILE,
    TRAINING_WEIGHTS_FILE,
    WEIGHTS_FILE,
)
from keras_ae.zoo.recipes import evaluation_data


def _family_tag(class_name: str) -> str:
    """``"BetaVAE"`` -> ``"beta-vae"``, ``"KSparseAutoencoder"`` -> ``"k-sparse-autoencoder"``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", class_name)
    return words.lower()


def _flat_metrics(metrics: Mapping, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            flat.update(_flat_metrics(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


#: The disentanglement scores a card sets beside the image-moments baseline's, with labels.
DISENTANGLEMENT_SCORES = {
    "factor_vae.eval_accuracy": "FactorVAE score",
    "mig.discrete_mig": "MIG",
    "beta_vae.eval_accuracy": "BetaVAE score",
    "dci.disentanglement": "DCI disentanglement",
    "sap.SAP_score": "SAP",
}
BASELINE_PREFIX = "baseline.image_moments."


def _baseline_section(metrics: Mapping[str, Any]) -> list[str]:
    """The model's disentanglement scores beside the image-moments baseline's, when measured."""
    rows = [
        f"| {label} | {_format_value(metrics[key])} | "
        f"{_format_value(metrics[BASELINE_PREFIX + key])} |"
        for key, label in DISENTANGLEMENT_SCORES.items()
        if key in metrics and BASELINE_PREFIX + key in metrics
    ]
    if not rows:
        return []
    return [
        "## Disentanglement against a baseline",
        "",
        "The same metrics, on the same samples, for six hand-made image moments (centroid x and "
        "y, pixel mass, three second moments; `keras_ae.evaluation.image_moments`): what a "
        "learned representation has to beat to be called disentangled.",
        "",
        "| metric | this model | image moments |",
        "| --- | --- | --- |",
        *rows,
        "",
    ]


def _paper_section(recipe: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[str]:
    """The recipe's ``paper`` rows: each paper figure beside this preset's, with both
    settings."""
    rows = []
    for row in recipe.get("paper") or []:
        # "-elbo.elbo": the negated metric (a paper's -ELBO beside this preset's ELBO).
        key = str(row.get("metric") or "")
        ours = metrics.get(key.lstrip("-"))
        if key.startswith("-") and ours is not None:
            ours = -ours
        figure = str(row["figure"])
        rows.append(
            f"| {row['measure']} | {figure} ({row['source']}) | "
            f"{_format_value(ours) if ours is not None else 'not measured'} | "
            f"{row['setting']} | {row['ours']}"
            f"{'; ' + row['note'] if row.get('note') else ''} |"
        )
    if not rows:
        return []
    return [
        "## Paper vs this preset",
        "",
        "The paper's figure beside this preset's, measured by keras_ae's own code on the "
        "official MNIST test set; where the settings differ, the last two columns say how.",
        "",
        "| measure | paper | this preset | paper's setting | this preset's setting |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _factor_information_section(metrics: Mapping[str, Any]) -> list[str]:
    """Per factor, the latent that holds the most information about it (MIG's numerator)."""
    prefix = "mig.information."
    factors = [key[len(prefix) :] for key in metrics if key.startswith(prefix)]
    if not factors:
        return []
    rows = [
        f"| {factor} | z{metrics.get('mig.information_latent.' + factor, '?')} | "
        f"{_format_value(metrics[prefix + factor])} |"
        for factor in factors
    ]
    return [
        "## What each latent captures",
        "",
        "For each ground-truth factor, the latent with the largest mutual information with it "
        "(latents discretised into 20 bins, as MIG does), in nats. A factor that no latent holds "
        "has a figure near 0.",
        "",
        "| factor | latent | mutual information (nats) |",
        "| --- | --- | --- |",
        *rows,
        "",
    ]


def _seed_section(metadata: Mapping[str, Any]) -> list[str]:
    """How the training seed was chosen: among several, by a score on a separate sample, or
    not at all."""
    selection = metadata.get("seed_selection")
    if not isinstance(selection, Mapping):
        if "seed" not in metadata:
            return []
        return [
            "## Seed",
            "",
            f"Trained from the single seed {metadata['seed']}; it was not chosen among others.",
            "",
        ]
    rows = [
        f"| {candidate['seed']} | {_format_value(candidate['score'])} |"
        + (" chosen |" if candidate["seed"] == selection.get("chosen") else " |")
        for candidate in selection.get("candidates", [])
    ]
    return [
        "## How the seed was chosen",
        "",
        f"Seeds {', '.join(str(seed) for seed in selection.get('seeds', []))} each trained for "
        f"{selection.get('steps'):,} steps and were scored by `{selection.get('metric')}` on a "
        f"ground-truth sample drawn with random seed {selection.get('sample_seed')}, not the "
        "seed-0 sample this card's metrics use. The best one trained on from its own "
        "checkpoint; the other seeds' runs are not part of this preset.",
        "",
        f"| seed | {selection.get('metric')} after {selection.get('steps'):,} steps | |",
        "| --- | --- | --- |",
        *rows,
        "",
    ]


def _smoke_run_note(mode: str | None) -> list[str]:
    """A line for a preset that ``keras-ae train --evaluate quick|none`` did not fully
    evaluate."""
    if mode == "quick":
        return [
            "**A smoke run, evaluated quickly** (`keras-ae train --evaluate quick`): its metrics "
            "are measured on a few held-out examples, without the disentanglement metrics, and "
            "are not comparable with fully evaluated presets'.",
            "",
        ]
    if mode == "none":
        return [
            "**A smoke run, not evaluated** (`keras-ae train --evaluate none`): no metrics were "
            "measured.",
            "",
        ]
    return []


def model_card(metadata: Mapping[str, Any], default_name: str) -> str:
    """The README.md of a preset: YAML front matter for the Hub, then a description."""
    name = metadata.get("name") or default_name
    class_name = metadata["class_name"]
    dataset = metadata.get("dataset")
    dataset_name = dataset.get("name") if isinstance(dataset, Mapping) else dataset
    metrics = _flat_metrics(metadata.get("metrics") or {})
    card_data = ModelCardData(
        library_name="keras",
        tags=["keras-ae", "autoencoder", _family_tag(class_name)],
        datasets=[str(dataset_name)] if dataset_name else None,
        metrics=list(metrics) or None,
    )
    lines = [f"---\n{card_data.to_yaml()}\n---", "", f"# {name}", ""]
    if metadata.get("description"):
        lines += [str(metadata["description"]), ""]
    lines += _smoke_run_note(metadata.get("evaluation_mode"))
    load_line = (
        f'model = keras_ae.load("{name}")'
        if name in registry.PRESETS
        else 'model = keras_ae.load("hf://<org>/<repo>")  # or the path of this directory'
    )
    trained_on = ""
    if dataset_name:
        trained_on = f" trained on {dataset_name}"
        if isinstance(dataset, Mapping) and dataset.get("split"):
            trained_on += f" ({dataset['split']} split)"
    lines += [
        f"A keras-ae `{class_name}` with {metadata['parameter_count']:,} parameters"
        f"{trained_on}, saved with keras_ae {metadata['keras_ae_version']} and Keras "
        f"{metadata['keras_version']}.",
        "",
        "## Usage",
        "",
        "```python",
        "import keras_ae",
        "",
        load_line,
        "codes = model.encode(x)",
        "reconstructions = model.reconstruct(x)",
        "```",
        "",
    ]
    lines += _paper_section(metadata.get("recipe") or {}, metrics)
    lines += _baseline_section(metrics)
    lines += _factor_information_section(metrics)
    lines += _seed_section(metadata)
    if metrics:
        lines += ["## Metrics", ""]
        measured_on = evaluation_data(metadata.get("recipe"))
        if measured_on:
            lines += [f"Measured on {measured_on}.", ""]
        if "mig.discrete_mig" in metrics:
            version = metadata.get("scikit_learn_version")
            lines += [
                f"MIG computed with scikit-learn {version} (its mutual information changed "
                "between versions)."
                if version
                else "The scikit-learn version behind MIG was not recorded for this preset.",
                "",
            ]
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {key} | {_format_value(value)} |" for key, value in metrics.items()]
        lines += [""]
    if metadata.get("pictures"):
        lines += ["## Pictures", ""]
        for picture in metadata["pictures"]:
            lines += [f"![{Path(picture).stem}]({picture})", ""]
    lines += ["## Files", "", f"- `{CONFIG_FILE}`: the model's Keras config."]
    training = metadata.get("training_weights")
    if training:
        attributes = ", ".join(f"`{name}`" for name in training.get("attributes") or [])
        lines += [
            f"- `{WEIGHTS_FILE}`: the weights `encode`, `decode`, `reconstruct` and `sample` use "
            f"(sha256 `{metadata['weights_sha256']}`).",
            f"- `{TRAINING_WEIGHTS_FILE}` (optional): what only training uses ({attributes}; "
            f"sha256 `{training['sha256']}`). `keras_ae.load` reads it when it is present, so "
            "`fit` resumes with them; without it, "
            f"{LOADED_WITHOUT_TRAINING_WEIGHTS}.",
        ]
    else:
        lines += [f"- `{WEIGHTS_FILE}`: the weights (sha256 `{metadata['weights_sha256']}`)."]
    lines += [f"- `{METADATA_FILE}`: versions, training recipe, dataset and metrics."]
    golden = metadata.get("golden")
    if golden:
        lines += [
            f"- `{GOLDEN_FILE}`: {golden.get('examples')} fixed inputs with the codes and "
            "reconstructions this model gave them, to check a copy without any dataset "
            f"(sha256 `{golden.get('sha256')}`).",
        ]
    lines += [""]
    return "\n".join(lines)
