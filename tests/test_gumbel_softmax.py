"""The Gumbel-softmax VAE: the relaxation, its noise, the KL and the temperature schedule against
numpy, and the model's bound, codes and resumed annealing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import losses

rng = np.random.default_rng(0)
SMALL = dict(input_shape=(28, 28, 1), latent_dim=12, num_classes=4, hidden_units=(32,))


def test_gumbel_softmax_matches_numpy_and_lies_on_the_simplex():
    logits, noise = rng.normal(size=(5, 3, 4)), rng.gumbel(size=(5, 3, 4))
    got = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 0.7).numpy()
    shifted = np.exp((logits + noise) / 0.7)
    np.testing.assert_allclose(got, shifted / shifted.sum(-1, keepdims=True), rtol=1e-10)
    assert got.shape == (5, 3, 4)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-12)


def test_gumbel_softmax_limits_one_hot_when_cold_and_uniform_when_hot():
    logits, noise = rng.normal(size=(50, 6)), rng.gumbel(size=(50, 6))
    cold = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 1e-3).numpy()
    np.testing.assert_allclose(cold, np.eye(6)[(logits + noise).argmax(-1)], atol=1e-6)
    hot = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 1e4).numpy()
    np.testing.assert_allclose(hot, 1 / 6, atol=1e-3)


def test_gumbel_noise_has_the_gumbel_moments_and_argmax_samples_the_categorical():
    noise = losses.gumbel_noise((200_000,), seed=0).numpy()
    assert noise.mean() == pytest.approx(np.euler_gamma, abs=0.01)
    assert noise.var() == pytest.approx(np.pi**2 / 6, rel=0.02)
    probabilities = np.array([0.5, 0.3, 0.2])
    draws = losses.gumbel_noise((100_000, 3), seed=1).numpy() + np.log(probabilities)
    frequencies = np.bincount(draws.argmax(1), minlength=3) / len(draws)
    np.testing.assert_allclose(frequencies, probabilities, atol=0.01)


def test_categorical_kl_to_uniform_matches_numpy():
    logits = rng.normal(size=(3, 5, 4))
    q = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = (q * np.log(q / 0.25)).sum(-1)
    got = losses.categorical_kl_to_uniform(tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    flat = losses.categorical_kl_to_uniform(tf.zeros((2, 4))).numpy()
    np.testing.assert_allclose(flat, 0.0, atol=1e-7)
    certain = losses.categorical_kl_to_uniform(tf.constant([[50.0, 0.0, 0.0, 0.0]])).numpy()
    assert certain[0] == pytest.approx(np.log(4), rel=1e-5)


@pytest.mark.parametrize(("step", "expected"), [(0, 1.0), (1000, np.exp(-1.0)), (10**6, 0.2)])
def test_annealed_temperature(step, expected):
    got = losses.annealed_temperature(tf.constant(step, tf.int64), 1.0, 0.2, 1e-3).numpy()
    assert got == pytest.approx(expected, rel=1e-6)


def test_the_model_reads_its_code_as_categorical_variables(mnist_images):
    model = keras_ae.GumbelVAE(**SMALL)
    assert model.num_variables == 3
    x = mnist_images[0][:20]
    probabilities = model.encode(x).reshape(20, 3, 4)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    samples = model.sample(5, seed=0)
    assert samples.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(samples, model.sample(5, seed=0))
    with pytest.raises(ValueError, match="multiple of num_classes"):
        keras_ae.GumbelVAE(**{**SMALL, "latent_dim": 10})
    with pytest.raises(ValueError, match="density"):
        keras_ae.GumbelVAE(**SMALL, likelihood="squared_error")
    with pytest.raises(ValueError, match="min_temperature"):
        keras_ae.GumbelVAE(**SMALL, min_temperature=2.0)


def test_the_discrete_bound_is_the_decoded_one_hot_draw_plus_the_kl(mnist_images):
    model = keras_ae.GumbelVAE(**SMALL, seed=0)
    x = mnist_images[0][:30]
    bound = model.negative_elbo(x, seed=3)
    np.testing.assert_array_equal(bound, model.negative_elbo(x, seed=3))
    probabilities = model.encode(x).reshape(30, 3, 4)
    kl = (probabilities * np.log(probabilities * 4)).sum(axis=(1, 2))
    # The reconstruction part: the decoded one-hot draw's Bernoulli NLL, at least that of the
    # best code and at most that of the worst, for each example.
    reconstruction = bound - kl
    candidates = []
    for classes in np.ndindex(4, 4, 4):
        code = np.eye(4)[list(classes)].reshape(1, 12).repeat(30, 0).astype("float32")
        p = np.clip(model.decode(code).astype("float64"), 1e-7, 1 - 1e-7)
        candidates.append(-(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3)))
    candidates = np.array(candidates)
    assert np.all(reconstruction >= candidates.min(0) - 1e-2)
    assert np.all(reconstruction <= candidates.max(0) + 1e-2)


def test_the_temperature_schedule_continues_after_save_and_reload(mnist_images, tmp_path):
    x = mnist_images[0][:256]
    model = keras_ae.GumbelVAE(**SMALL, temperature_rate=0.05, min_temperature=0.1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    first = model.fit(x, batch_size=64, epochs=1, verbose=0).history
    # The mean over steps 0..3 of exp(-0.05 step).
    assert first["temperature"][0] == pytest.approx(np.exp(-0.05 * np.arange(4)).mean(), 1e-5)
    model.save(tmp_path / "gumbel.keras")
    reloaded = keras.saving.load_model(tmp_path / "gumbel.keras")
    more = reloaded.fit(x, batch_size=64, epochs=1, verbose=0, shuffle=False).history
    assert more["temperature"][0] == pytest.approx(np.exp(-0.05 * np.arange(4, 8)).mean(), 1e-5)
    model.fit(x, batch_size=64, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), reloaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
