"""Likelihood measures for the VAE family, in nats per example.

- ``elbo``: the evidence lower bound, the KL in closed form and the reconstruction term a Monte
  Carlo average over ``num_samples`` draws of z.
- ``importance_weighted_nll``: ``-log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)``, z_i ~ q(z|x)
  (Burda et al. 2016). Its expectation falls towards -log p(x) as k grows and is at most -ELBO
  for every k; with the same k draws the estimate is never above their mean single-sample bound
  (Jensen). Computed in batches of examples and chunks of samples, so k = 1000 fits in memory.
- ``active_units``: latents whose posterior mean varies over the data by more than 0.01.
- ``kl_per_latent``: KL(q(z_j|x) || N(0, 1)) per latent, averaged over the data.

The model is a keras_ae VAE (anything with ``posterior(x) -> (mean, log_var)``, ``decoder``,
``reconstruction_nll`` and ``likelihood``). A ``"squared_error"`` model defines no density, so
``elbo`` and ``importance_weighted_nll`` refuse it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import tensorflow as tf
from scipy.special import logsumexp

from keras_ae import losses
from keras_ae.arrays import as_float32, compiled, map_batches
from keras_ae.divergence import check_finite_weights
from keras_ae.models.registry import model_classes, model_info

_LOG_2PI = math.log(2.0 * math.pi)


def _posterior_models() -> list[str]:
    return [name for name, cls in model_classes().items() if model_info(cls).has_posterior]


def _check_vae(model, needs_density: bool) -> None:
    if not model_info(model).has_posterior:
        raise TypeError(
            f"{type(model).__name__} has no posterior: likelihood measures apply to the VAE "
            f"family, the models with a Gaussian posterior ({', '.join(_posterior_models())})."
        )
    if needs_density and model.likelihood == "squared_error":
        raise ValueError(
            'likelihood="squared_error" defines no density, so there is no likelihood in nats; '
            'use a "bernoulli" or "gaussian" model.'
        )
    check_finite_weights(model, "A likelihood measure")


def posterior_moments(model, x, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean and log-variance of each example, each ``(n, latent_dim)``."""
    _check_vae(model, needs_density=False)
    posterior = compiled(lambda batch: tuple(model.posterior(batch)), reduce_retracing=True)
    return map_batches(posterior, as_float32(x), batch_size)


def _log_weight_chunks(
    model, x: np.ndarray, num_samples: int, batch_size: int, decoder_batch_size: int, seed: int
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yields ``(examples, log_weights)``: a slice of ``x`` and the log importance weights
    ``log p(x|z) + log p(z) - log q(z|x)`` of a chunk of its samples, ``(batch, chunk)``.

    Draws are in a fixed order (example batch by example batch, chunk by chunk), so a seed gives
    the same samples whatever the caller does with them.
    """
    noise = np.random.RandomState(seed)

    @compiled(reduce_retracing=True)
    def log_weights(x_batch, mean, log_var, eps):
        # x_batch (b, *data_shape); mean, log_var (b, d); eps (b, s, d) -> (b, s)
        batch, samples, latent_dim = tf.unstack(tf.shape(eps))
        z = mean[:, None, :] + tf.exp(0.5 * log_var)[:, None, :] * eps
        decoded = model.decoder(tf.reshape(z, [batch * samples, latent_dim]), training=False)
        repeated_x = tf.repeat(x_batch, samples, axis=0)
        log_likelihood = -tf.reshape(model.reconstruction_nll(repeated_x, decoded), [batch, -1])
        log_prior = -0.5 * tf.reduce_sum(tf.square(z) + _LOG_2PI, axis=-1)
        log_posterior = -0.5 * tf.reduce_sum(
            tf.square(eps) + _LOG_2PI + log_var[:, None, :], axis=-1
        )
        return log_likelihood + log_prior - log_posterior

    for start in range(0, len(x), batch_size):
        examples = slice(start, min(start + batch_size, len(x)))
        x_batch = x[examples]
        mean, log_var = model.posterior(tf.constant(x_batch), training=False)
        chunk = max(1, decoder_batch_size // len(x_batch))
        for first in range(0, num_samples, chunk):
            samples = min(chunk, num_samples - first)
            eps = noise.standard_normal((len(x_batch), samples, model.latent_dim))
            weights = log_weights(
                tf.constant(x_batch), mean, log_var, tf.constant(eps, dtype=mean.dtype)
            )
            yield examples, weights.numpy().astype(np.float64)


def log_importance_weights(
    model,
    x,
    num_samples: int,
    *,
    batch_size: int = 64,
    decoder_batch_size: int = 4096,
    seed: int = 0,
) -> np.ndarray:
    """The log importance weights ``log p(x|z_i) + log p(z_i) - log q(z_i|x)`` of ``num_samples``
    draws z_i ~ q(z|x) per example: ``(n, num_samples)`` nats.

    The same ``seed`` gives the same draws as ``importance_weighted_nll``.
    """
    _check_vae(model, needs_density=True)
    x = as_float32(x)
    weights = np.empty((len(x), num_samples))
    filled = np.zeros(len(x), np.int64)
    for examples, chunk in _log_weight_chunks(
        model, x, num_samples, batch_size, decoder_batch_size, seed
    ):
        start = filled[examples.start]
        weights[examples, start : start + chunk.shape[1]] = chunk
        filled[examples] += chunk.shape[1]
    return weights


def importance_weighted_nll(
    model,
    x,
    num_samples: int = 1000,
    *,
    batch_size: int = 64,
    decoder_batch_size: int = 4096,
    seed: int = 0,
) -> np.ndarray:
    """The importance-weighted estimate of -log p(x) with ``num_samples`` draws from q(z|x):
    ``(n,)`` nats.

    Examples go ``batch_size`` at a time and each decoder call takes at most
    ``decoder_batch_size`` (example, sample) pairs; the log-mean-exp is accumulated chunk by
    chunk, so memory does not grow with ``num_samples``.
    """
    _check_vae(model, needs_density=True)
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
    x = as_float32(x)
    log_sums = np.full(len(x), -np.inf)
    for examples, chunk in _log_weight_chunks(
        model, x, num_samples, batch_size, decoder_batch_size, seed
    ):
        log_sums[examples] = np.logaddexp(log_sums[examples], logsumexp(chunk, axis=1))
    return -(log_sums - math.log(num_samples))


def elbo(
    model,
    x,
    *,
    num_samples: int = 1,
    batch_size: int = 256,
    decoder_batch_size: int = 4096,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The evidence lower bound per example: ``{"elbo", "reconstruction", "kl"}``, each
    ``(n,)`` nats, with ``elbo = -(reconstruction + kl)``.

    ``kl`` is KL(q(z|x) || N(0, I)) in closed form; ``reconstruction`` is -log p(x|z) averaged
    over ``num_samples`` draws z ~ q(z|x). Examples go at most ``batch_size`` at a time, fewer
    if needed to keep each decoder call within ``decoder_batch_size`` (example, sample) pairs.
    """
    _check_vae(model, needs_density=True)
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
    x = as_float32(x)
    noise = np.random.RandomState(seed)
    batch_size = max(1, min(batch_size, decoder_batch_size // num_samples))

    @compiled(reduce_retracing=True)
    def terms(x_batch, eps):
        # x_batch (b, *data_shape); eps (s, b, d) -> reconstruction (b,), kl (b,)
        mean, log_var = model.posterior(x_batch, training=False)
        samples, batch, latent_dim = tf.unstack(tf.shape(eps))
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
        decoded = model.decoder(tf.reshape(z, [samples * batch, latent_dim]), training=False)
        repeated_x = tf.tile(
            x_batch, tf.concat([[samples], tf.ones_like(tf.shape(x_batch)[1:])], 0)
        )
        nll = tf.reshape(model.reconstruction_nll(repeated_x, decoded), [samples, batch])
        reconstruction = tf.reduce_mean(nll, axis=0)
        return reconstruction, tf.reduce_sum(losses.gaussian_kl(mean, log_var), axis=1)

    reconstruction, kl = [], []
    for start in range(0, len(x), batch_size):
        x_batch = x[start : start + batch_size]
        eps = noise.standard_normal((num_samples, len(x_batch), model.latent_dim))
        batch_reconstruction, batch_kl = terms(
            tf.constant(x_batch), tf.constant(eps, dtype=tf.float32)
        )
        reconstruction.append(batch_reconstruction.numpy().astype(np.float64))
        kl.append(batch_kl.numpy().astype(np.float64))
    reconstruction = np.concatenate(reconstruction) if reconstruction else np.zeros(0)
    kl = np.concatenate(kl) if kl else np.zeros(0)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}


def kl_per_latent(model, x, batch_size: int = 256) -> np.ndarray:
    """KL(q(z_j|x) || N(0, 1)) of each latent j, averaged over the examples: ``(latent_dim,)``
    nats."""
    mean, log_var = posterior_moments(model, x, batch_size)
    return losses.gaussian_kl(mean.astype(np.float64), log_var.astype(np.float64)).numpy().mean(0)


def active_units(model, x, threshold: float = 0.01, batch_size: int = 256) -> dict:
    """Burda et al.'s active units: latents whose posterior mean has variance over ``x`` above
    ``threshold``. Returns ``{"active_units": int, "mean_variance": (latent_dim,)}``."""
    mean, _ = posterior_moments(model, x, batch_size)
    variance = mean.astype(np.float64).var(axis=0)
    return {"active_units": int(np.sum(variance > threshold)), "mean_variance": variance}
