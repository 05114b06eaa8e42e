"""fit stops at the first step that makes a loss term or a weight NaN or infinite, with the
weights and optimizer state from before that step put back; the metrics refuse NaN weights."""

import keras
import numpy as np
import pytest

import keras_ae
from keras_ae import evaluation
from keras_ae.divergence import DivergenceError

SMALL = dict(input_shape=(28, 28, 1), latent_dim=4, hidden_units=(16,))


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((96, 28, 28, 1)) > 0.5).astype("float32")


class _StateBeforeEachStep(keras.callbacks.Callback):
    """Copies of the model's variables and of ``optimizers``' before each batch."""

    def __init__(self, optimizers):
        super().__init__()
        self.optimizers = optimizers
        self.states = []

    def on_train_batch_begin(self, batch, logs=None):
        self.states.append(_state(self.model, self.optimizers))


def _state(model, optimizers) -> list[np.ndarray]:
    variables = [*model.variables, *(v for o in optimizers for v in o.variables)]
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _fit_until_divergence(model, fit, optimizers, images, counter):
    watch = _StateBeforeEachStep(optimizers)
    with pytest.raises(DivergenceError) as caught:
        fit(images, epochs=4, batch_size=16, verbose=0, callbacks=[watch])
    error = caught.value
    # The step that went bad is the last one begun, and nothing of it remains: the weights,
    # the step counter and the optimizers' moments are those from before it.
    assert error.step == len(watch.states) >= 1
    assert int(getattr(model, counter).numpy()) == error.step - 1
    after = _state(model, optimizers)
    assert len(after) == len(watch.states[-1])
    for before, now in zip(watch.states[-1], after, strict=True):
        np.testing.assert_array_equal(now, before)
    assert all(np.isfinite(value).all() for value in after if value.dtype.kind == "f")
    message = str(error)
    assert f"step {error.step}" in message
    assert "learning rate" in message and "clipnorm" in message and "data" in message
    return error


def test_an_exploding_learning_rate_stops_a_vae_at_the_bad_step(images):
    keras.utils.set_random_seed(0)
    model = keras_ae.VAE(**SMALL, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(1e6))
    error = _fit_until_divergence(model, model.fit, [model.optimizer], images, "trained_steps")
    assert error.stage == "autoencoder"
    assert "loss" in error.terms
    assert error.learning_rates == {"optimizer": pytest.approx(1e6)}
    assert "1e+06" in str(error)


def test_several_steps_per_execution_stop_at_the_same_step(images):
    outcomes = []
    for steps_per_execution in (1, 3):
        keras.utils.set_random_seed(0)
        model = keras_ae.VAE(**SMALL, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(1e6), steps_per_execution=steps_per_execution)
        with pytest.raises(DivergenceError) as caught:
            model.fit(images, epochs=4, batch_size=16, verbose=0)
        outcomes.append((caught.value.step, model.get_weights()))
    (step_one, weights_one), (step_three, weights_three) = outcomes
    assert step_one == step_three
    for one, three in zip(weights_one, weights_three, strict=True):
        np.testing.assert_array_equal(one, three)


def test_an_exploding_discriminator_stops_a_factor_vae(images):
    keras.utils.set_random_seed(0)
    model = keras_ae.FactorVAE(
        **SMALL,
        seed=0,
        discriminator_layers=1,
        discriminator_units=8,
        discriminator_learning_rate=1e30,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    optimizers = [model.optimizer, model.discriminator_optimizer]
    error = _fit_until_divergence(model, model.fit, optimizers, images, "trained_steps")
    assert error.learning_rates["discriminator_optimizer"] == pytest.approx(1e30)


VQ = dict(architecture="mlp", code_dim=2, num_codes=8, prior_channels=8, prior_layers=2)


def test_an_exploding_learning_rate_stops_both_stages_of_a_vq_vae(images):
    keras.utils.set_random_seed(0)
    model = keras_ae.VQVAE(**SMALL, **VQ, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(1e6))
    error = _fit_until_divergence(model, model.fit, [model.optimizer], images, "trained_steps")
    assert error.stage == "autoencoder"

    keras.utils.set_random_seed(0)
    model = keras_ae.VQVAE(**SMALL, **VQ, seed=0, prior_learning_rate=1e30)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images, epochs=1, batch_size=16, verbose=0)
    error = _fit_until_divergence(
        model, model.fit_prior, [model.prior_optimizer], images, "prior_trained_steps"
    )
    assert error.stage == "prior"
    assert error.terms == ("prior_nll",)
    # The first stage's count is untouched by the second's failure.
    assert int(model.trained_steps.numpy()) == len(images) // 16


def test_stop_on_divergence_false_lets_fit_go_on(images):
    keras.utils.set_random_seed(0)
    model = keras_ae.VAE(**SMALL, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(1e6), stop_on_divergence=False)
    history = model.fit(images, epochs=2, batch_size=16, verbose=0)
    assert int(model.trained_steps.numpy()) == 12
    assert not np.isfinite(history.history["loss"][-1])
    assert not all(np.isfinite(weight).all() for weight in model.get_weights())
    with pytest.raises(TypeError, match="stop_on_divergence must be True or False"):
        model.compile(optimizer="adam", stop_on_divergence="no")


def test_a_keras_file_keeps_the_opt_out(images, tmp_path):
    model = keras_ae.VAE(**SMALL, seed=0)
    model.compile(optimizer="adam", stop_on_divergence=False)
    model.fit(images[:16], batch_size=16, verbose=0)
    model.save(tmp_path / "model.keras")
    assert keras.saving.load_model(tmp_path / "model.keras").stop_on_divergence is False


@pytest.mark.parametrize(
    "metric",
    [
        lambda model, x: evaluation.elbo(model, x),
        lambda model, x: evaluation.kl_per_latent(model, x),
        lambda model, x: evaluation.model_reconstruction_errors(model, x),
    ],
    ids=["elbo", "kl_per_latent", "reconstruction"],
)
def test_metrics_refuse_a_model_with_a_nan_weight(metric, images):
    model = keras_ae.VAE(**SMALL, seed=0)
    kernel = model.decoder.trainable_weights[0]
    broken = kernel.numpy()
    broken[0, 0] = np.nan
    kernel.assign(broken)
    with pytest.raises(DivergenceError, match=r"finite weights.*" + kernel.path):
        metric(model, images[:8])
