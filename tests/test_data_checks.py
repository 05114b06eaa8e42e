"""Bad data is refused with a clear error, before any weight changes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import DataError


@pytest.fixture
def model() -> keras_ae.Autoencoder:
    model = keras_ae.Autoencoder(input_shape=(6, 6, 1), latent_dim=3, hidden_units=(8,))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def _good(n: int = 32) -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(n, 6, 6, 1)).astype("float32")


def _assert_unchanged(model, weights):
    for old, new in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_wrong_shape_names_the_expected_one(model):
    with pytest.raises(DataError, match=r"Expected x of shape \(batch, 6, 6, 1\), got"):
        model.fit(np.zeros((8, 6, 6)), verbose=0)
    with pytest.raises(DataError, match=r"\(n, 6, 6, 1\)"):
        model.encode(np.zeros((2, 36)))
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((8, 5, 5, 1), "float32")).batch(4)
    with pytest.raises(DataError, match=r"\(batch, 6, 6, 1\)"):
        model.fit(dataset, verbose=0)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_nan_and_inf_arrays_are_refused_before_training(model, bad_value):
    x = _good()
    x[5, 2, 2, 0] = bad_value
    weights = model.get_weights()
    with pytest.raises(DataError, match="NaN or Inf"):
        model.fit(x, verbose=0)
    _assert_unchanged(model, weights)


def test_out_of_range_data_is_refused_for_a_bernoulli_likelihood(model):
    weights = model.get_weights()
    with pytest.raises(DataError, match=r"in \[0, 1\].*divide uint8 images by 255"):
        model.fit((_good() * 255).astype("uint8"), verbose=0)
    with pytest.raises(DataError, match=r"validation_data"):
        model.fit(_good(), validation_data=_good() - 0.5, verbose=0)
    _assert_unchanged(model, weights)


def test_targets_are_refused_since_the_target_is_x(model):
    weights = model.get_weights()
    labels = np.arange(32) % 10
    with pytest.raises(DataError, match=r"fit\(x, y\): an autoencoder's target is its input"):
        model.fit(_good(), labels, verbose=0)
    with pytest.raises(DataError, match=r"evaluate\(x, y\).*drop y"):
        model.evaluate(_good(), labels, verbose=0)
    _assert_unchanged(model, weights)
    # A pipeline of (x, y) elements, e.g. datasets.load(..., with_labels=True), still trains.
    pairs = tf.data.Dataset.from_tensor_slices((_good(), labels)).batch(8)
    assert np.isfinite(model.fit(pairs, verbose=0).history["loss"][-1])


def test_gaussian_likelihood_accepts_any_finite_values():
    model = keras_ae.Autoencoder(
        input_shape=(6, 6, 1), latent_dim=3, hidden_units=(8,), likelihood="gaussian"
    )
    model.compile(optimizer="sgd")
    model.fit(_good() * 10 - 5, verbose=0)


def test_pipeline_stops_at_the_first_bad_batch_with_weights_as_they_were(model):
    good, bad = _good(8), _good(8)
    bad[3, 0, 0, 0] = np.nan
    twin = keras_ae.Autoencoder.from_config(model.get_config())
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(0.1))

    pipeline = tf.data.Dataset.from_tensor_slices(np.concatenate([good, bad, good])).batch(8)
    with pytest.raises(DataError, match="Bad batch: the data holds NaN or Inf"):
        model.fit(pipeline, verbose=0)
    # The one good batch before the bad one was applied; the bad one changed nothing.
    twin.fit(tf.data.Dataset.from_tensor_slices(good).batch(8), verbose=0)
    _assert_unchanged(model, twin.get_weights())
    assert int(model.trained_steps.numpy()) == 1


def test_pipeline_out_of_range_batch_is_refused(model):
    pipeline = tf.data.Dataset.from_tensor_slices(_good(8) * 3).batch(4)
    weights = model.get_weights()
    with pytest.raises(DataError, match=r"Bernoulli likelihood needs data in \[0, 1\]"):
        model.fit(pipeline, verbose=0)
    _assert_unchanged(model, weights)
