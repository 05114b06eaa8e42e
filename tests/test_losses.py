"""Each loss term against an independent numpy/scipy reference."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

from keras_ae import losses

rng = np.random.default_rng(0)


def test_gaussian_kl_matches_numerical_integration():
    mean, log_var = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    closed_form = losses.gaussian_kl(tf.constant(mean), tf.constant(log_var)).numpy()[0]
    for j in range(2):
        q = stats.norm(mean[0, j], np.exp(0.5 * log_var[0, j]))
        integrand = lambda z, q=q: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z))  # noqa: E731
        numerical, _ = integrate.quad(integrand, -30, 30)
        assert closed_form[j] == pytest.approx(numerical, abs=1e-6)


def test_gaussian_kl_is_zero_at_the_prior():
    zeros = tf.zeros((3, 4))
    np.testing.assert_allclose(losses.gaussian_kl(zeros, zeros).numpy(), 0.0)


def test_bernoulli_kl_matches_definition():
    rho, rho_hat = 0.05, rng.uniform(0.01, 0.99, size=7)
    expected = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    got = losses.bernoulli_kl(rho, tf.constant(rho_hat)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert losses.bernoulli_kl(rho, tf.constant([rho])).numpy()[0] == pytest.approx(0.0)
    assert np.isfinite(losses.bernoulli_kl(rho, tf.constant([0.0, 1.0])).numpy()).all()


def test_bernoulli_nll_sums_pixels_per_example():
    x = rng.uniform(size=(4, 3, 5)).round()
    logits = rng.normal(size=(4, 3, 5))
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2))
    got = losses.bernoulli_nll(tf.constant(x), tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_gaussian_nll_matches_scipy():
    x, mean, sigma = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), 0.3
    expected = -stats.norm.logpdf(x, mean, sigma).sum(axis=1)
    got = losses.gaussian_nll(tf.constant(x), tf.constant(mean), sigma).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_squared_error():
    x, y = rng.normal(size=(2, 3, 3, 1)), rng.normal(size=(2, 3, 3, 1))
    got = losses.squared_error(tf.constant(x), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, ((x - y) ** 2).sum(axis=(1, 2, 3)))


@pytest.mark.parametrize(("step", "expected"), [(0, 0.0), (250, 6.25), (1000, 25.0), (5000, 25.0)])
def test_capacity_schedule_ramps_linearly_then_holds(step, expected):
    got = losses.capacity_schedule(tf.constant(step), c_max=25.0, c_steps=1000).numpy()
    assert got == pytest.approx(expected)


def test_capacity_penalty_is_gamma_times_distance():
    got = losses.capacity_penalty(tf.constant(3.0), tf.constant(5.0), gamma=1000.0).numpy()
    assert got == pytest.approx(2000.0)
    got = losses.capacity_penalty(tf.constant(7.0), tf.constant(5.0), gamma=10.0).numpy()
    assert got == pytest.approx(20.0)


def test_closed_form_jacobian_norm_matches_numpy_jacobian():
    x, kernel, bias = rng.normal(size=(5, 8)), rng.normal(size=(8, 3)), rng.normal(size=3)
    code = 1 / (1 + np.exp(-(x @ kernel + bias)))
    # dh_j/dx_i = h_j (1 - h_j) W_ij, written out per example.
    jacobians = (code * (1 - code))[:, :, None] * kernel.T[None]
    expected = (jacobians**2).sum(axis=(1, 2))
    got = losses.sigmoid_dense_jacobian_norm_squared(tf.constant(code), tf.constant(kernel))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(
        losses.frobenius_norm_squared(tf.constant(jacobians)).numpy(), expected, rtol=1e-10
    )
