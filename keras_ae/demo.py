"""The main job (``keras-ae demo``): load a pretrained model, print its metrics, draw what fits
the model (reconstructions; a latent traversal, or for a quantised code its code-index maps and
samples from its prior), and transfer its embeddings to a downstream task."""

import os
from pathlib import Path


def _print_card_metrics(name: str, metadata: dict) -> None:
    """The card's headline metrics with what each is, and how the model fares against the
    image-moments baseline where the card scored it."""
    from keras_ae.evaluation.labels import METRIC_LABELS
    from keras_ae.zoo.readme_table import headline_keys
    from keras_ae.zoo.recipes import evaluation_data

    metrics = metadata.get("metrics") or {}
    dataset = metadata.get("dataset") or {}
    print(
        f"{name}: {metadata.get('class_name')} trained {metadata.get('trained_steps')} steps on "
        f"{dataset.get('name', '?')} ({metadata.get('wall_time_seconds', '?')} s)"
    )
    if not metrics:
        print("(no metrics recorded)")
        return
    measured_on = evaluation_data(metadata.get("recipe"))
    print(f"its card's metrics, measured on {measured_on}:" if measured_on else "its metrics:")
    keys = headline_keys(str(metadata.get("class_name")), metrics)
    width = max(len(key) for key in keys) if keys else 6
    print(f"\n  {'metric':<{width}}  {'value':>9}  what it is")
    for key in keys:
        print(f"  {key:<{width}}  {metrics[key]:>9.4g}  {METRIC_LABELS[key].meaning}")
    print(
        f"  ({len(keys)} headline metrics of {len(metrics)}; all are in model.preset.metrics "
        f"and on its card: keras-ae show {name})"
    )
    comparison = baseline_comparison(metrics)
    if comparison:
        print("\n" + comparison)


def baseline_comparison(metrics: dict) -> str:
    """The model's disentanglement scores beside the image-moments baseline's (six hand-made
    image statistics, no learning), saying where the baseline does as well or better; "" when
    the metrics hold no baseline."""
    from keras_ae.evaluation.labels import BASELINE_PREFIX, DISENTANGLEMENT_SCORES, METRIC_LABELS

    pairs = [
        (METRIC_LABELS[key].label, metrics[key], metrics[BASELINE_PREFIX + key])
        for key in DISENTANGLEMENT_SCORES
        if key in metrics and BASELINE_PREFIX + key in metrics
    ]
    if not pairs:
        return ""
    width = max(len(label) for label, _, _ in pairs)
    lines = [
        "Against a baseline with no learning, six image moments (centroid, mass, second moments; "
        "keras_ae.evaluation.image_moments) scored on the same samples:",
        *(
            f"  {label:<{width}}  model {model:.3f}  baseline {baseline:.3f}"
            for label, model, baseline in pairs
        ),
    ]
    beaten = [label for label, model, baseline in pairs if baseline >= model]
    if beaten:
        lines.append(
            f"The baseline scores as high or higher on {_and(beaten)}: by "
            f"{'that measure' if len(beaten) == 1 else 'those measures'} this model's latents "
            "are no more disentangled than hand-made image statistics."
        )
    else:
        lines.append("The model scores higher than the baseline on each of them.")
    return "\n".join(lines)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _label_transfer(name: str, model, held_out: dict, data: str) -> None:
    from keras_ae.evaluation import classification_probes

    accuracies = classification_probes(
        model,
        held_out["x_train"],
        held_out["y_train"],
        held_out["x_test"],
        held_out["y_test"],
        classifiers=("logistic",),
    )
    width = model.encode(held_out["x_test"][:1]).shape[1]
    print(
        f"\nTransfer: a logistic regression on {name}'s {width}-d embeddings of {data} "
        f"({len(held_out['x_train']):,} train / {len(held_out['x_test']):,} test images), "
        "beside raw pixels and a PCA of the same width:"
    )
    for features in ("embedding", "pca", "pixels"):
        print(f"  {features:<10} accuracy {accuracies[f'{features}.logistic']:.3f}")


def _factor_transfer(model, ground_truth) -> None:
    from keras_ae.evaluation import factor_probes

    accuracies = factor_probes(
        ground_truth, model.encode, 0, num_train=5000, num_test=2000, classifiers=("knn",)
    )
    chance = {
        name: 1 / size
        for name, size in zip(ground_truth.factor_names, ground_truth.factor_sizes, strict=True)
    }
    print("\nTransfer: predicting each dSprites factor from the embeddings (kNN, 5,000 train):")
    for name in ground_truth.factor_names:
        print(f"  {name:<12} accuracy {accuracies[f'knn.{name}']:.3f} (chance {chance[name]:.3f})")


def run_demo(
    name: str = "beta_vae_dsprites", out: str | os.PathLike = "out", *, transfer: bool = True
) -> dict[str, Path]:
    """Runs the demo on preset ``name``; returns the pictures written to ``out``.

    The transfer example uses the preset's own embeddings: each dSprites factor predicted from
    them, or the labels of its dataset (MNIST digits) beside raw pixels and PCA."""
    from keras_ae.zoo import open_preset
    from keras_ae.zoo.held_out import evaluation_recipe, held_out_data
    from keras_ae.zoo.pictures import draw_pictures
    from keras_ae.zoo.recipes import evaluation_data

    model, metadata, _ = open_preset(name, compile=False)
    _print_card_metrics(str(name), metadata)

    # With transfer, the recipe's labels too (its probes), where it has them.
    recipe = evaluation_recipe(
        metadata.get("recipe"), examples=500, probes=None if transfer else False
    )
    held_out = held_out_data(recipe)
    x = held_out["x_test"]
    pictures = draw_pictures(model, recipe.replace(pictures=demo_pictures(model)), held_out, out)
    squared_error = float(((model.reconstruct(x) - x) ** 2).reshape(len(x), -1).sum(1).mean())
    print(
        f"\nReconstruction squared error on {evaluation_data(recipe.to_dict(), len(x), True)}: "
        f"{squared_error:.2f}"
    )
    for path in pictures.values():
        print(f"wrote {path}")
    if not transfer:
        return pictures
    if "ground_truth_data" in held_out:
        _factor_transfer(model, held_out["ground_truth_data"])
    elif "y_train" in held_out:
        _label_transfer(str(name), model, held_out, recipe.data.name)
    else:
        print(f"\n(no transfer example: {recipe.data.name} has no labels to predict)")
    return pictures


def demo_pictures(model) -> tuple[str, ...]:
    """The pictures the demo draws of ``model``: its reconstructions, and a latent traversal,
    or, for a quantised code (nothing to traverse), its code-index maps and prior samples."""
    from keras_ae.models import model_info

    if model_info(model).codebook:
        return ("reconstructions", "code_indices", "samples")
    return ("reconstructions", "traversal")
