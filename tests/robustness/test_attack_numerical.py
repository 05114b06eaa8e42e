"""Numerical faults: a learning rate that makes the loss NaN (in ``keras-ae train``, in ``fit``,
in ``fit_prior``, in FactorVAE's discriminator), a NaN or infinite weight in memory, and
evaluation metrics on representations that are constant, NaN, infinite, one-dimensional or
empty. Each ends in a clear error, or a defined value, never a crash deep inside numpy or
sklearn; a diverging step leaves the weights from before it."""

import json
import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from _cases import refused, survives
from hypothesis import given
from hypothesis import strategies as st

import keras_ae
from keras_ae import evaluation
from keras_ae.divergence import DivergenceError
from keras_ae.zoo import recipes
from keras_ae.zoo.train import TrainingDivergedError, fit_recipe

RECIPE = Path(__file__).parent.parent / "data" / "tiny_recipe.yaml"


def test_a_diverging_run_stops_with_a_clear_error_and_keeps_its_last_checkpoint(tmp_path):
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["training"].update(steps=30, checkpoint_every=1, steps_per_execution=1)
    # Adam at a learning rate of a million blows the tiny VAE up within a few steps.
    recipe["training"]["optimizer"] = {"name": "adam", "learning_rate": 1e6}
    error = refused(
        "numerical",
        "a learning rate that makes the loss NaN",
        lambda: fit_recipe(recipes.Recipe.from_dict(recipe), tmp_path, verbose=0),
        TrainingDivergedError,
        r"diverged at step \d+ .*learning_rate",
    )
    kept = int(re.search(r"\(step (\d+)\) was kept", str(error))[1])
    assert 1 <= kept < 30
    checkpoint = tmp_path / "checkpoints" / "tiny_vae"

    def last_good_checkpoint_intact():
        state = json.loads((checkpoint / "state.json").read_text())
        assert state["trained_steps"] == kept
        model = keras.saving.load_model(checkpoint / state["model_file"])
        assert int(model.trained_steps.numpy()) == kept
        assert all(np.isfinite(weight).all() for weight in model.get_weights())

    survives("numerical", "the last good checkpoint after divergence", last_good_checkpoint_intact)


SMALL = dict(input_shape=(28, 28, 1), latent_dim=4, hidden_units=(16,), seed=0)
_VQ = dict(architecture="mlp", code_dim=2, num_codes=8, prior_channels=8, prior_layers=2)


def _images() -> np.ndarray:
    return (np.random.default_rng(0).random((64, 28, 28, 1)) > 0.5).astype("float32")


def _vae():
    model = keras_ae.VAE(**SMALL)
    model.compile(optimizer=keras.optimizers.SGD(1e6))
    return model, model.fit, [model.optimizer]


def _factor_vae():
    model = keras_ae.FactorVAE(
        **SMALL, discriminator_layers=1, discriminator_units=8, discriminator_learning_rate=1e30
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, model.fit, [model.optimizer, model.discriminator_optimizer]


def _vq_vae_prior():
    model = keras_ae.VQVAE(**SMALL, **_VQ, prior_learning_rate=1e30)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(_images(), batch_size=16, verbose=0)
    return model, model.fit_prior, [model.prior_optimizer]


EXPLODING = {
    "an exploding learning rate in fit (VAE, SGD at 1e6)": _vae,
    "an exploding discriminator learning rate (FactorVAE, 1e30)": _factor_vae,
    "an exploding learning rate in fit_prior (VQVAE, 1e30)": _vq_vae_prior,
}


def _state(model, optimizers) -> list[np.ndarray]:
    variables = [*model.variables, *(v for o in optimizers for v in o.variables)]
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


@pytest.mark.parametrize("case", list(EXPLODING))
def test_fit_stops_at_the_diverging_step_with_the_weights_from_before_it(case):
    keras.utils.set_random_seed(0)
    model, fit, optimizers = EXPLODING[case]()
    before = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            before.append(_state(model, optimizers))

    error = refused(
        "numerical",
        case,
        lambda: fit(_images(), epochs=5, batch_size=16, verbose=0, callbacks=[Watch()]),
        DivergenceError,
        r"diverged at step \d+ .*put back.*[Ll]earning rate.*clipnorm",
    )

    def weights_from_before_the_bad_step():
        assert error.step == len(before)
        for now, then in zip(_state(model, optimizers), before[-1], strict=True):
            np.testing.assert_array_equal(now, then)

    survives(
        "numerical",
        f"the weights from before the bad step: {case}",
        weights_from_before_the_bad_step,
    )


_NAN_METRICS = {
    "the ELBO": lambda model, x: evaluation.elbo(model, x),
    "the importance-weighted NLL": lambda model, x: evaluation.importance_weighted_nll(
        model, x, num_samples=2
    ),
    "the KL per latent": lambda model, x: evaluation.kl_per_latent(model, x),
    "the reconstruction error": lambda model, x: evaluation.model_reconstruction_errors(model, x),
}
_MODEL_WITH_BAD_WEIGHTS = {}


@given(
    metric=st.sampled_from(sorted(_NAN_METRICS)),
    weight=st.integers(0, 1000),
    entry=st.integers(0, 10**6),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_metrics_refuse_a_nan_or_infinite_weight_loaded_in_memory(metric, weight, entry, value):
    if not _MODEL_WITH_BAD_WEIGHTS:
        _MODEL_WITH_BAD_WEIGHTS["vae"] = keras_ae.VAE(**SMALL)
    model = _MODEL_WITH_BAD_WEIGHTS["vae"]
    variable = model.trainable_weights[weight % len(model.trainable_weights)]
    good = variable.numpy()
    broken = good.copy().reshape(-1)
    broken[entry % broken.size] = value
    variable.assign(broken.reshape(good.shape))
    try:
        refused(
            "numerical",
            f"{metric} of a model with a {value} weight in memory",
            lambda: _NAN_METRICS[metric](model, _images()[:8]),
            DivergenceError,
            "needs a model with finite weights.*" + variable.path,
        )
    finally:
        variable.assign(good)


_SIZES = dict(random_state=0)
METRICS = {
    "MIG": lambda data, r: evaluation.mig(data, r, num_train=200, **_SIZES),
    "FactorVAE score": lambda data, r: evaluation.factor_vae_score(
        data, r, num_train=50, num_eval=50, num_variance_estimate=100, batch_size=16, **_SIZES
    ),
    "BetaVAE score": lambda data, r: evaluation.beta_vae_score(
        data, r, num_train=50, num_eval=50, batch_size=8, **_SIZES
    ),
    "DCI": lambda data, r: evaluation.dci(data, r, num_train=100, num_test=50, **_SIZES),
    "SAP": lambda data, r: evaluation.sap_score(data, r, num_train=100, num_test=50, **_SIZES),
}
REFUSED = {
    "NaN": (lambda x: np.full((len(x), 3), np.nan), "NaN or Inf"),
    "Inf": (lambda x: np.full((len(x), 3), np.inf), "NaN or Inf"),
    "one-dimensional": (lambda x: x.sum(axis=1), r"\(n, d\)"),
    "zero-width": (lambda x: np.zeros((len(x), 0)), "d >= 1"),
}
DEFINED = {
    "constant": lambda x: np.zeros((len(x), 3)),
    "a single latent": lambda x: x[:, :1] * 1.0,
}


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("representation", list(REFUSED))
def test_metrics_refuse_unusable_representations(metric, representation, tiny_factors):
    represent, match = REFUSED[representation]
    refused(
        "numerical",
        f"{metric} of a {representation} representation",
        lambda: METRICS[metric](tiny_factors, represent),
        ValueError,
        f"representation_function.*{match}|{match}.*representation",
    )


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("representation", list(DEFINED))
def test_metrics_of_degenerate_representations_are_defined_values(
    metric, representation, tiny_factors
):
    def finite_scores_in_range():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = METRICS[metric](tiny_factors, DEFINED[representation])
        values = [v for v in scores.values() if isinstance(v, float)]
        assert values and all(0.0 <= v <= 1.0 for v in values), scores

    survives("numerical", f"{metric} of a {representation} representation", finite_scores_in_range)


@pytest.mark.parametrize(
    ("case", "features", "match"),
    [
        ("NaN features", np.full((20, 3), np.nan), "NaN or Inf"),
        ("one-dimensional features", np.zeros(20), r"\(n, k\)"),
        ("features and labels of different lengths", np.zeros((19, 3)), "19"),
    ],
)
def test_probes_refuse_unusable_features(case, features, match):
    labels = np.arange(20) % 2
    refused(
        "numerical",
        f"a linear probe on {case}",
        lambda: evaluation.probe_accuracy(features, labels, np.zeros((4, 3)), labels[:4]),
        ValueError,
        match,
    )


def test_a_probe_on_constant_features_is_a_defined_value():
    labels = np.arange(20) % 2
    survives(
        "numerical",
        "a linear probe on constant features",
        lambda: (
            0
            <= evaluation.probe_accuracy(np.ones((20, 3)), labels, np.ones((4, 3)), labels[:4])
            <= 1
        ),
    )
