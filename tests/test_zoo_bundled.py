"""The bundled presets: each loads offline and reproduces its card's metric; the README's zoo
table is current; recipe-only entries say how to get their weights."""

import json
from pathlib import Path

import numpy as np
import pytest

import keras_ae
from keras_ae.evaluation.codebook import codebook_metrics
from keras_ae.models import model_info
from keras_ae.zoo import (
    UnknownPresetError,
    catalogue,
    golden_pairs,
    preset_directory,
    readme_table,
)
from keras_ae.zoo.held_out import evaluation_recipe, held_out_data

BUNDLED = [name for name in catalogue.PRESETS if catalogue.local_directory(name) is not None]
MNIST_PRESETS = [
    "ae_mnist", "dae_mnist", "sparse_ae_mnist", "ksparse_ae_mnist", "cae_mnist", "vae_mnist",
    "vqvae_mnist", "gumbel_vae_mnist", "draw_mnist",
]  # fmt: skip
README = Path(__file__).parent.parent / "README.md"


def _metadata(name: str) -> dict:
    path = catalogue.local_directory(name) / preset_directory.METADATA_FILE
    return json.loads(path.read_text())


#: Every bundled preset with a golden pair: the fast tier checks each, with no dataset.
WITH_GOLDEN_PAIRS = [name for name in BUNDLED if _metadata(name).get("golden")]


def test_the_mnist_presets_are_bundled():
    assert set(MNIST_PRESETS) <= set(BUNDLED)
    assert set(BUNDLED) <= set(keras_ae.list_models())


def _on_full_mnist(names: list[str]) -> list:
    """``names`` as parameters, those whose card was measured on full MNIST or on dSprites in
    the large tier (they need the keras_ae_mnist data, or generate all of dSprites); the fast
    tier checks every preset by its golden pair instead."""
    return [
        pytest.param(name, marks=pytest.mark.large)
        if _metadata(name)["recipe"]["data"]["name"] in ("mnist", "dsprites")
        else name
        for name in names
    ]


def _loaded_offline(name: str, monkeypatch, request):
    """The bundled preset ``name`` loaded offline, its metadata, and its held-out test images."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metadata = _metadata(name)
    if metadata["recipe"]["data"]["name"] == "mnist":
        request.getfixturevalue("full_mnist")
    x = held_out_data(evaluation_recipe(metadata["recipe"], probes=False))["x_test"]
    return keras_ae.load(name), metadata, x


def test_the_presets_trained_on_mnist_and_dsprites_have_golden_pairs():
    # Each is checked below with no dataset (the dSprites ones' from keras_ae.zoo.golden_pairs).
    assert set(MNIST_PRESETS) | set(golden_pairs.DSPRITES_PRESETS) <= set(WITH_GOLDEN_PAIRS)


@pytest.mark.parametrize("name", WITH_GOLDEN_PAIRS)
def test_a_preset_reproduces_its_golden_outputs_offline(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = keras_ae.load(name)
    mismatch = preset_directory.golden_mismatch(model, catalogue.local_directory(name))
    assert set(mismatch) == {"codes", "reconstructions"}
    assert mismatch["codes"] < 1e-3 and mismatch["reconstructions"] < 1e-4


@pytest.mark.parametrize("name", _on_full_mnist(BUNDLED))
def test_bundled_preset_loads_offline_and_reproduces_its_card(name, monkeypatch, request):
    model, metadata, x = _loaded_offline(name, monkeypatch, request)
    assert model.compiled
    error = float(((model.reconstruct(x) - x) ** 2).reshape(len(x), -1).sum(1).mean())
    assert error == pytest.approx(metadata["metrics"]["reconstruction.squared_error"], rel=0.02)
    assert metadata["trained_steps"] == int(model.trained_steps.numpy()) > 0
    assert np.isfinite(list(v for v in metadata["metrics"].values() if np.isscalar(v))).all()


OWN_BOUND = [name for name in BUNDLED if model_info(_metadata(name)["class_name"]).own_bound]


@pytest.mark.parametrize("name", _on_full_mnist(OWN_BOUND))
def test_a_bundled_bound_reproduces_its_card(name, monkeypatch, request):
    model, metadata, x = _loaded_offline(name, monkeypatch, request)
    x = x[: metadata["recipe"]["evaluation"].get("likelihood_examples", 1000)]
    # evaluate_model's seed for random_state=0, as the card was computed with.
    seed = int(np.random.RandomState(0).randint(2**31 - 1))
    elbo = -float(np.mean(model.negative_elbo(x, seed=seed)))
    assert elbo == pytest.approx(metadata["metrics"]["elbo.elbo"], rel=0.02)


CODEBOOK = [name for name in BUNDLED if model_info(_metadata(name)["class_name"]).codebook]


@pytest.mark.parametrize("name", _on_full_mnist(CODEBOOK))
def test_a_bundled_codebook_reproduces_its_card(name, monkeypatch, request):
    model, metadata, x = _loaded_offline(name, monkeypatch, request)
    measured = codebook_metrics(model, x)
    for key in ("perplexity", "prior_nll"):
        assert measured[key] == pytest.approx(metadata["metrics"][f"codebook.{key}"], rel=0.02)


SAMPLERS = [name for name in MNIST_PRESETS if model_info(_metadata(name)["class_name"]).can_sample]


@pytest.mark.large
@pytest.mark.parametrize("name", SAMPLERS)
def test_a_bundled_samplers_quality_reproduces_its_card(name, monkeypatch, request):
    from keras_ae.evaluation.sample_quality import model_sample_quality

    model, metadata, x = _loaded_offline(name, monkeypatch, request)
    metrics = metadata["metrics"]
    seed = int(np.random.RandomState(0).randint(2**31 - 1))
    quality = model_sample_quality(model, x, metrics["sample_quality.num_samples"], seed=seed)
    for key in ("frechet_distance", "confident_share"):
        assert quality[key] == pytest.approx(metrics[f"sample_quality.{key}"], rel=0.02)


@pytest.mark.parametrize("name", ["vae_celeba", "beta_vae_celeba"])
def test_celeba_entries_are_recipe_only(name):
    status = keras_ae.list_models(include_unavailable=True)[name]
    assert status == "recipe only: the weights need the CelebA data"
    assert name not in keras_ae.list_models()
    with pytest.raises(UnknownPresetError, match=f"keras-ae train zoo_configs/{name}.yaml"):
        keras_ae.load(name)
    assert (README.parent / "zoo_configs" / f"{name}.yaml").is_file()


def test_readme_zoo_table_is_current():
    current = README.read_text(encoding="utf-8")
    assert readme_table.updated_readme(current) == current, (
        "README.md's zoo table is out of date: run python -m keras_ae.zoo.readme_table"
    )


def test_a_quantised_models_headline_leaves_out_its_jacobian_norm_of_zero():
    metrics = {"reconstruction.squared_error": 2.0, "jacobian.mean_frobenius_norm": 0.0}
    assert readme_table.headline("VQVAE", metrics) == "test squared error 2.00"
    assert "mean Jacobian norm 0.00" in readme_table.headline("VAE", metrics)


def test_every_registered_name_has_a_recipe():
    for name in catalogue.PRESETS:
        assert (README.parent / "zoo_configs" / f"{name}.yaml").is_file(), name


DISENTANGLING = [name for name in BUNDLED if "mig.discrete_mig" in _metadata(name)["metrics"]]


@pytest.mark.large
@pytest.mark.parametrize("name", DISENTANGLING)
def test_a_dsprites_presets_mig_reproduces_its_card(name, monkeypatch):
    """MIG on a fresh seed-0 sample of 10,000 dSprites points. The card's sample is drawn from
    the same seed after the BetaVAE and FactorVAE scores' draws, so the points differ: the
    figure agrees to sampling noise, not digit for digit."""
    from keras_ae import datasets, evaluation

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metrics = _metadata(name)["metrics"]
    model = keras_ae.load(name)
    ground_truth = datasets.DSprites(verbose=False)
    represent = evaluation.FactorRepresentation(ground_truth, model.encode)
    measured = evaluation.mig(ground_truth, represent, np.random.RandomState(0))
    assert measured["discrete_mig"] == pytest.approx(metrics["mig.discrete_mig"], abs=0.03)
    for key, value in metrics.items():
        if key.startswith("mig.information."):
            assert measured[key[len("mig.") :]] == pytest.approx(value, abs=0.1), key


def test_every_bundled_card_is_the_card_its_metadata_gives_today():
    from keras_ae.zoo import cards

    assert cards.stale_cards() == [], "run python -m keras_ae.zoo.cards"
