"""Likelihood measures on a VAE whose true log-likelihood is known in closed form: probabilistic
PCA, p(z) = N(0, I), p(x|z) = N(W z, sigma^2 I), so p(x) = N(0, W W^T + sigma^2 I)."""

import math

import keras
import numpy as np
import pytest
from scipy.special import logsumexp

import keras_ae
from keras_ae import evaluation

DATA_DIM, LATENT_DIM, SIGMA = 6, 4, 0.5
# q(z|x) has the true posterior's mean and 1.5x its marginal variances: an over-dispersed,
# diagonal approximation of a correlated posterior, so the ELBO is about 2.8 nats below log p(x)
# and the importance weights have finite variance.
VARIANCE_INFLATION = 1.5


def probabilistic_pca(latent_mask=None):
    """A keras_ae VAE: a linear Gaussian decoder ``W z`` and a linear encoder giving the
    approximate posterior; returns ``(model, W)``. ``latent_mask`` zeroes the posterior mean of
    the masked-out latents (for the active-units test)."""
    rng = np.random.RandomState(0)
    weights = rng.normal(size=(DATA_DIM, LATENT_DIM))
    precision = weights.T @ weights + SIGMA**2 * np.eye(LATENT_DIM)
    posterior_covariance = SIGMA**2 * np.linalg.inv(precision)
    mean_map = np.linalg.solve(precision, weights.T)  # (latent, data)
    if latent_mask is not None:
        mean_map = mean_map * np.asarray(latent_mask, float)[:, None]
    kernel = np.zeros((DATA_DIM, 2 * LATENT_DIM))
    kernel[:, :LATENT_DIM] = mean_map.T
    bias = np.zeros(2 * LATENT_DIM)
    bias[LATENT_DIM:] = np.log(VARIANCE_INFLATION * np.diag(posterior_covariance))

    x_in = keras.Input((DATA_DIM,))
    encoder = keras.Model(x_in, keras.layers.Dense(2 * LATENT_DIM)(x_in))
    encoder.layers[-1].set_weights([kernel.astype("float32"), bias.astype("float32")])
    z_in = keras.Input((LATENT_DIM,))
    decoder = keras.Model(z_in, keras.layers.Dense(DATA_DIM)(z_in))
    decoder.layers[-1].set_weights([weights.T.astype("float32"), np.zeros(DATA_DIM, "float32")])
    model = keras_ae.VAE(encoder=encoder, decoder=decoder, likelihood="gaussian")
    model.sigma = SIGMA
    return model, weights


def sample_data(weights, n, seed=1):
    rng = np.random.RandomState(seed)
    z = rng.standard_normal((n, LATENT_DIM))
    return (z @ weights.T + SIGMA * rng.standard_normal((n, DATA_DIM))).astype("float32")


def true_log_likelihood(weights, x):
    covariance = weights @ weights.T + SIGMA**2 * np.eye(DATA_DIM)
    _, log_det = np.linalg.slogdet(covariance)
    mahalanobis = np.einsum("ni,ij,nj->n", x, np.linalg.inv(covariance), x)
    return -0.5 * (mahalanobis + log_det + DATA_DIM * math.log(2 * math.pi))


def closed_form_elbo(model, weights, x):
    """E_q[log p(x|z)] - KL(q || p(z)) exactly, for the linear Gaussian decoder."""
    mean, log_var = (a.astype(np.float64) for a in evaluation.posterior_moments(model, x))
    variance = np.exp(log_var)
    expected_squared_error = np.sum((x - mean @ weights.T) ** 2, axis=1) + variance @ np.sum(
        weights**2, axis=0
    )
    expected_nll = 0.5 * expected_squared_error / SIGMA**2 + DATA_DIM * (
        math.log(SIGMA) + 0.5 * math.log(2 * math.pi)
    )
    kl = 0.5 * np.sum(mean**2 + variance - 1.0 - log_var, axis=1)
    return -(expected_nll + kl), kl


@pytest.fixture(scope="module")
def ppca():
    model, weights = probabilistic_pca()
    return model, weights, sample_data(weights, 400)


def test_importance_weighted_nll_converges_to_the_true_nll(ppca):
    model, weights, x = ppca
    true_nll = -true_log_likelihood(weights, x).mean()
    negative_elbo = -closed_form_elbo(model, weights, x)[0].mean()
    # decoder_batch_size=512 splits k=1000 into chunks of 8 samples per example.
    estimates = {
        k: evaluation.importance_weighted_nll(model, x, k, decoder_batch_size=512, seed=k).mean()
        for k in (1, 10, 100, 1000)
    }
    gaps = {k: estimate - true_nll for k, estimate in estimates.items()}
    assert negative_elbo - true_nll > 2.0  # the approximate posterior leaves a real gap
    # k = 1 estimates the ELBO (the log weights' std is about 4.4 nats per example).
    assert estimates[1] == pytest.approx(negative_elbo, abs=0.75)
    assert gaps[1] > gaps[10] > gaps[100] > -0.05
    assert all(estimates[k] < negative_elbo for k in (10, 100, 1000))
    assert abs(gaps[1000]) < 0.5
    assert abs(gaps[1000]) < 0.1  # in fact much closer


def test_importance_weighted_estimate_is_never_above_the_elbo_of_the_same_samples(ppca):
    model, _, x = ppca
    log_weights = evaluation.log_importance_weights(model, x, 100, seed=3)
    assert log_weights.shape == (len(x), 100)
    for k in (1, 10, 100):
        importance_weighted = -(logsumexp(log_weights[:, :k], axis=1) - math.log(k))
        single_sample_bound = -log_weights[:, :k].mean(axis=1)
        assert np.all(importance_weighted <= single_sample_bound + 1e-9)
    # importance_weighted_nll draws the same samples for the same seed.
    np.testing.assert_allclose(
        evaluation.importance_weighted_nll(model, x, 100, seed=3),
        -(logsumexp(log_weights, axis=1) - math.log(100)),
        rtol=1e-10,
    )


def test_elbo_matches_the_closed_form(ppca):
    model, weights, x = ppca
    exact_elbo, exact_kl = closed_form_elbo(model, weights, x)
    bound = evaluation.elbo(model, x, num_samples=500, batch_size=64)
    assert set(bound) == {"elbo", "reconstruction", "kl"}
    np.testing.assert_allclose(bound["kl"], exact_kl, rtol=1e-4)
    np.testing.assert_allclose(bound["elbo"], -(bound["reconstruction"] + bound["kl"]))
    assert bound["elbo"].mean() == pytest.approx(exact_elbo.mean(), abs=0.05)


def test_active_units_and_kl_per_latent():
    model, weights = probabilistic_pca(latent_mask=[1, 1, 0, 1])
    x = sample_data(weights, 300)
    active = evaluation.active_units(model, x)
    assert active["active_units"] == 3
    assert active["mean_variance"][2] == 0.0
    mean, log_var = evaluation.posterior_moments(model, x)
    expected = 0.5 * np.mean(mean**2 + np.exp(log_var) - 1.0 - log_var, axis=0)
    np.testing.assert_allclose(evaluation.kl_per_latent(model, x), expected, rtol=1e-5)


def test_a_bernoulli_vae_with_a_thousand_samples(mnist_images):
    images, _ = mnist_images
    model = keras_ae.VAE(input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
    x = images[:16]
    nll = evaluation.importance_weighted_nll(model, x, 1000, decoder_batch_size=2048)
    negative_elbo = -evaluation.elbo(model, x, num_samples=20)["elbo"]
    assert nll.shape == (16,) and np.all(np.isfinite(nll))
    assert nll.mean() < negative_elbo.mean()


def test_refuses_models_without_a_density():
    squared = keras_ae.VAE(input_shape=(4,), latent_dim=2, likelihood="squared_error")
    with pytest.raises(ValueError, match="no density"):
        evaluation.importance_weighted_nll(squared, np.zeros((2, 4)), 10)
    with pytest.raises(ValueError, match="no density"):
        evaluation.elbo(squared, np.zeros((2, 4)))
    plain = keras_ae.Autoencoder(input_shape=(4,), latent_dim=2)
    with pytest.raises(TypeError, match="VAE family"):
        evaluation.active_units(plain, np.zeros((2, 4)))
