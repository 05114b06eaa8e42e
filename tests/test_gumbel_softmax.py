"""The Gumbel-softmax VAE: the model's bound, codes and resumed annealing (its loss terms are
tested in test_losses.py)."""

import keras
import numpy as np
import pytest

import keras_ae

SMALL = dict(input_shape=(28, 28, 1), latent_dim=12, num_classes=4, hidden_units=(32,))


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
