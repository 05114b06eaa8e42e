"""The encoder's Jacobian norms (keras_ae.evaluation.jacobian), checked against closed forms."""

import numpy as np
import pytest

import keras_ae
from keras_ae import evaluation


def test_jacobian_norm_of_a_linear_encoder_is_the_kernels_frobenius_norm(linear_model):
    kernel = np.random.RandomState(0).normal(size=(6, 3))
    norms = evaluation.encoder_jacobian_norms(linear_model(kernel), np.ones((10, 6)), batch_size=4)
    np.testing.assert_allclose(norms, np.linalg.norm(kernel), rtol=1e-5)


def test_jacobian_norm_of_a_conv64_vae_runs_in_batches():
    model = keras_ae.BetaVAE(input_shape=(64, 64, 1), latent_dim=10, architecture="conv64")
    x = np.random.RandomState(0).uniform(size=(5, 64, 64, 1))
    norms = evaluation.encoder_jacobian_norms(model, x, batch_size=2)
    assert norms.shape == (5,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_a_sigmoid_encoder_matches_the_closed_form_for_each_example():
    # h = sigmoid(x W + b): ||dh/dx||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ij^2, which differs
    # from one example to the next.
    model = keras_ae.Autoencoder(
        input_shape=(6,), latent_dim=3, hidden_units=(), code_activation="sigmoid", seed=0
    )
    kernel, bias = model.encoder.get_layer("code").get_weights()
    x = np.random.default_rng(0).normal(size=(7, 6)).astype("float32")
    h = 1.0 / (1.0 + np.exp(-(x.astype("float64") @ kernel + bias)))
    expected = np.sqrt(((h * (1 - h)) ** 2 * (kernel.astype("float64") ** 2).sum(axis=0)).sum(1))
    norms = evaluation.encoder_jacobian_norms(model, x, batch_size=3)
    assert norms.dtype == np.float64 and norms.shape == (7,)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    assert np.ptp(norms) > 0.01 * norms.mean()  # the check is per example, not one number
    one_batch = evaluation.encoder_jacobian_norms(model, x, batch_size=100)
    np.testing.assert_allclose(one_batch, norms, rtol=1e-6)
    assert evaluation.mean_jacobian_norm(model, x, batch_size=2) == pytest.approx(norms.mean())


def test_a_vae_is_measured_at_its_posterior_mean():
    # A VAE whose encoder is linear: the mean head's kernel alone sets the norm, whatever the
    # log-variance head holds.
    model = keras_ae.VAE(input_shape=(5,), latent_dim=2, hidden_units=(), seed=0)
    mean_kernel = model.encoder.get_layer("z_mean").get_weights()[0]
    norms = evaluation.encoder_jacobian_norms(model, np.zeros((3, 5)))
    np.testing.assert_allclose(norms, np.linalg.norm(mean_kernel), rtol=1e-5)


def test_an_empty_input_gives_an_empty_result(linear_model):
    norms = evaluation.encoder_jacobian_norms(linear_model(np.eye(4)[:, :2]), np.zeros((0, 4)))
    assert norms.shape == (0,) and norms.dtype == np.float64
