"""DRAW: the Gaussian filterbanks against numpy, reading and writing through them, and the model's
loss, canvas sequence, bound and exact resume, with and without attention."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import losses
from keras_ae.models.draw import _filter, attention_filterbanks, gaussian_filterbank

rng = np.random.default_rng(0)
SMALL = dict(input_shape=(28, 28, 1), latent_dim=12, steps=3, hidden_units=(32,))


def test_filterbank_rows_sum_to_one_and_match_the_formula():
    centre, stride, variance = np.array([10.0, 3.5]), np.array([2.0, 0.5]), np.array([1.5, 4.0])
    got = gaussian_filterbank(
        tf.constant(centre), tf.constant(stride), tf.constant(variance), 4, 20
    ).numpy()
    assert got.shape == (2, 4, 20)
    np.testing.assert_allclose(got.sum(axis=2), 1.0, rtol=1e-6)
    for b in range(2):
        for i in range(4):
            mean = centre[b] + (i + 1 - 4 / 2 - 0.5) * stride[b]
            row = np.exp(-((np.arange(20) - mean) ** 2) / (2 * variance[b]))
            np.testing.assert_allclose(got[b, i], row / row.sum(), rtol=1e-6)


def test_attention_parameters_place_the_grid():
    # g = 0 centres the grid on the image; log stride 0 spreads N filters over the image.
    parameters = tf.constant([[0.0, 0.0, np.log(0.25), 0.0, np.log(2.0)]])
    f_y, f_x, gain = attention_filterbanks(parameters, 3, 9, 9)
    peaks = f_x.numpy()[0].argmax(axis=1)
    np.testing.assert_array_equal(peaks, [0, 4, 8])
    np.testing.assert_array_equal(f_y.numpy(), f_x.numpy())
    assert gain.numpy()[0] == pytest.approx(2.0)


def test_reading_and_writing_are_the_filterbank_products():
    f_y, f_x = rng.random((2, 3, 6)), rng.random((2, 3, 5))
    images, patch = rng.random((2, 6, 5, 2)), rng.random((2, 3, 3, 2))
    glimpse = _filter(tf.constant(f_y), tf.constant(images), tf.constant(f_x)).numpy()
    np.testing.assert_allclose(glimpse, np.einsum("bnh,bhwc,bmw->bnmc", f_y, images, f_x))
    written = _filter(tf.constant(f_y), tf.constant(patch), tf.constant(f_x), transpose=True)
    np.testing.assert_allclose(written.numpy(), np.einsum("bnh,bnmc,bmw->bhwc", f_y, patch, f_x))


@pytest.mark.parametrize("attention", [True, False])
def test_draw_trains_and_its_canvas_ends_at_the_reconstruction(attention, mnist_images):
    x = mnist_images[0][:256]
    model = keras_ae.DRAW(**SMALL, attention=attention, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = model.fit(x, batch_size=64, epochs=3, verbose=0).history
    assert set(history) == {"loss", "reconstruction", "kl"}
    assert history["loss"][-1] < history["loss"][0]
    canvases = model.canvas_sequence(x[:4])
    assert canvases.shape == (3, 4, 28, 28, 1)
    np.testing.assert_allclose(canvases[-1], model.reconstruct(x[:4]), atol=1e-5)
    samples = model.canvas_sequence(5, seed=1)
    assert samples.shape == (3, 5, 28, 28, 1)
    np.testing.assert_allclose(samples[-1], model.sample(5, seed=1), atol=1e-5)


def test_the_bound_is_the_loss_of_the_same_noise(mnist_images):
    x = mnist_images[0][:40]
    model = keras_ae.DRAW(**SMALL, seed=0)
    bound = model.negative_elbo(x, seed=5)
    assert bound.shape == (40,)
    np.testing.assert_array_equal(bound, model.negative_elbo(x, seed=5))
    noise = np.random.default_rng(5).standard_normal((40, 3, 4)).astype("float32")
    canvases, means, log_vars = model.recurrence.infer(tf.constant(x), tf.constant(noise))
    reconstruction = losses.bernoulli_nll(x, canvases[-1]).numpy()
    kl = 0.5 * (means.numpy() ** 2 + np.exp(log_vars.numpy()) - 1 - log_vars.numpy())
    np.testing.assert_allclose(bound, reconstruction + kl.sum(axis=(1, 2)), rtol=1e-5)
    # Averaged over draws it is the training loss (the same terms, the same estimator).
    terms = model.loss_terms(tf.constant(x))
    assert float(terms["loss"]) == pytest.approx(bound.mean(), rel=0.05)


def test_bad_draw_arguments_are_refused():
    with pytest.raises(ValueError, match="multiple of steps"):
        keras_ae.DRAW(input_shape=(28, 28, 1), latent_dim=10, steps=3)
    with pytest.raises(ValueError, match="height, width, channels"):
        keras_ae.DRAW(input_shape=(784,), latent_dim=10, steps=2)
    with pytest.raises(ValueError, match="bernoulli"):
        keras_ae.DRAW(input_shape=(28, 28, 1), latent_dim=10, steps=2, likelihood="gaussian")


def test_the_canvas_pictures_show_every_step(mnist_images, tmp_path):
    from PIL import Image

    from keras_ae import plotting

    model = keras_ae.DRAW(**SMALL)
    assert plotting.canvas_gif(model, mnist_images[0][:4], tmp_path / "canvas.gif") == 3
    with Image.open(tmp_path / "canvas.gif") as gif:
        assert gif.n_frames == 3
    plotting.canvas_grid(model, 5, seed=0, path=tmp_path / "samples.png")
    assert (tmp_path / "samples.png").stat().st_size > 0
    with pytest.raises(ValueError, match="does not draw over steps"):
        plotting.canvas_grid(keras_ae.VAE(input_shape=(28, 28, 1), latent_dim=2), 3)
