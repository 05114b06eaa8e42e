"""The denoising autoencoder: it reconstructs the clean input from a corrupted one, corrupts in
training only, and keeps its corruption settings in its config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae.corruption import CORRUPTIONS

SMALL = dict(input_shape=(6,), latent_dim=3, hidden_units=())
x = tf.constant(np.random.default_rng(0).uniform(0.2, 0.8, size=(8, 6)), tf.float32)


def _fully_masked(**kwargs) -> keras_ae.DenoisingAutoencoder:
    """A DAE whose corruption zeroes every pixel, and whose decoder outputs 0.5 everywhere
    (zero kernel, bias 0.5): its training input is all zeros, its reconstruction all 0.5."""
    model = keras_ae.DenoisingAutoencoder(
        **SMALL, corruption="masking", corruption_level=1.0, likelihood="squared_error", **kwargs
    )
    pixels = model.decoder.get_layer("pixels")
    pixels.set_weights([np.zeros((3, 6), "float32"), np.full((6,), 0.5, "float32")])
    return model


def test_the_loss_compares_the_reconstruction_with_the_clean_input():
    model = _fully_masked()
    clean_target = np.mean(np.sum((x.numpy() - 0.5) ** 2, axis=1))
    corrupted_target = 6 * 0.5**2  # the reconstruction 0.5 against the all-zero input
    trained = model.loss_terms(x, training=True)
    assert float(trained["loss"]) == pytest.approx(clean_target, rel=1e-6)
    assert float(trained["loss"]) != pytest.approx(corrupted_target)
    # An Autoencoder with the same weights, given the corrupted input as its data, measures
    # against the corrupted input.
    plain = keras_ae.Autoencoder(**SMALL, likelihood="squared_error")
    plain.set_weights(model.get_weights())
    zeros = tf.zeros_like(x)
    assert float(plain.loss_terms(zeros)["loss"]) == pytest.approx(corrupted_target, rel=1e-6)


def test_fit_trains_on_the_corrupted_input_against_the_clean_one():
    model = _fully_masked()
    # A learning rate of 0 leaves the weights as they are; fit reports the step's loss.
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(x.numpy(), batch_size=8, epochs=1, verbose=0)
    clean_target = np.mean(np.sum((x.numpy() - 0.5) ** 2, axis=1))
    assert history.history["loss"][0] == pytest.approx(clean_target, rel=1e-5)


def test_corruption_applies_only_in_training():
    model = keras_ae.DenoisingAutoencoder(
        **SMALL, corruption="gaussian", corruption_level=1.0, seed=0
    )
    plain = keras_ae.Autoencoder(**SMALL)
    plain.set_weights(model.get_weights())
    model.compile(optimizer="adam")
    plain.compile(optimizer="adam")
    trained = [float(model.loss_terms(x, training=True)["loss"]) for _ in range(2)]
    assert trained[0] != trained[1]  # fresh noise at each training step
    evaluated = [model.evaluate(x.numpy(), verbose=0, return_dict=True)["loss"] for _ in range(2)]
    assert evaluated[0] == evaluated[1]
    plain_loss = plain.evaluate(x.numpy(), verbose=0, return_dict=True)["loss"]
    assert evaluated[0] == pytest.approx(plain_loss, rel=1e-6)
    np.testing.assert_array_equal(model.encode(x), model.encode(x))
    np.testing.assert_allclose(model.encode(x), model.encoder(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.reconstruct(x), plain.reconstruct(x), rtol=1e-6)


def test_the_training_noise_comes_from_the_models_seed():
    first, second = (
        keras_ae.DenoisingAutoencoder(**SMALL, corruption="masking", corruption_level=0.5, seed=3)
        for _ in range(2)
    )
    noisy = first.corrupt(x).numpy()
    np.testing.assert_array_equal(noisy, second.corrupt(x).numpy())
    np.testing.assert_array_equal((noisy == 0).sum(axis=1), 3)  # half of the six pixels
    assert not np.array_equal(noisy, first.corrupt(x).numpy())  # the generator moves on


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_each_corruption_trains_a_step(corruption):
    model = keras_ae.DenoisingAutoencoder(
        input_shape=(10, 10, 1), latent_dim=4, hidden_units=(16,), corruption=corruption
    )
    model.compile(optimizer="adam")
    images = np.random.default_rng(0).uniform(size=(32, 10, 10, 1)).astype("float32")
    history = model.fit(images, batch_size=32, epochs=1, verbose=0)
    assert int(model.trained_steps.numpy()) == 1
    assert np.isfinite(history.history["loss"][0])


def test_a_bad_corruption_is_refused():
    with pytest.raises(ValueError, match=r"Unknown corruption 'blur'; expected one of \("):
        keras_ae.DenoisingAutoencoder(**SMALL, corruption="blur")
    # A level that does not fit the kind is refused at construction, not at the first step.
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\]"):
        keras_ae.DenoisingAutoencoder(**SMALL, corruption="salt_and_pepper", corruption_level=2)
    with pytest.raises(ValueError, match="stddev >= 0"):
        keras_ae.DenoisingAutoencoder(**SMALL, corruption="gaussian", corruption_level=-0.1)


def test_the_config_round_trips_the_corruption():
    model = keras_ae.DenoisingAutoencoder(
        **SMALL, corruption="salt_and_pepper", corruption_level=0.3
    )
    config = model.get_config()
    assert (config["corruption"], config["corruption_level"]) == ("salt_and_pepper", 0.3)
    copy = keras_ae.DenoisingAutoencoder.from_config(config)
    assert (copy.corruption, copy.corruption_level) == ("salt_and_pepper", 0.3)
    assert copy.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(revived) is keras_ae.DenoisingAutoencoder
    assert (revived.corruption, revived.corruption_level) == ("salt_and_pepper", 0.3)
