"""Reconstruction error of a model and of a PCA baseline with as many dimensions as its code.

``corrupted_reconstruction_errors`` measures denoising: corrupted inputs against clean targets.

Two measures, both per example and comparable with the literature:

- squared error summed over pixels (Hinton & Salakhutdinov 2006 report it per MNIST image);
- binary cross-entropy per pixel, the mean over pixels of -[x log p + (1 - x) log(1 - p)]
  (the Keras autoencoder tutorials' number). Reconstructions are clipped into
  [1e-7, 1 - 1e-7] first, so a Gaussian model's or PCA's values outside (0, 1) give a large,
  finite loss.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from sklearn.decomposition import PCA

from keras_ae.corruption import corrupt
from keras_ae.divergence import check_finite_weights

_EPSILON = 1e-7


def squared_error_per_example(x, reconstruction) -> np.ndarray:
    """``sum over pixels of (x - reconstruction)^2`` for each example: ``(n,)``."""
    x, reconstruction = _flat(x), _flat(reconstruction)
    return np.sum(np.square(x - reconstruction), axis=1)


def binary_cross_entropy_per_pixel(x, reconstruction) -> np.ndarray:
    """The mean over pixels of the binary cross-entropy of each example: ``(n,)`` nats."""
    x = _flat(x)
    probabilities = np.clip(_flat(reconstruction), _EPSILON, 1.0 - _EPSILON)
    return -np.mean(x * np.log(probabilities) + (1.0 - x) * np.log1p(-probabilities), axis=1)


def _flat(array) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    return array.reshape(len(array), -1)


def reconstruction_errors(x, reconstruction) -> dict:
    """``{"squared_error", "bce_per_pixel"}``: the means over examples of the two measures."""
    return {
        "squared_error": float(np.mean(squared_error_per_example(x, reconstruction))),
        "bce_per_pixel": float(np.mean(binary_cross_entropy_per_pixel(x, reconstruction))),
    }


def model_reconstruction_errors(model, x, batch_size: int = 256) -> dict:
    """The model's ``reconstruction_errors`` on ``x`` (reconstructions as pixel values); a
    model with NaN or infinite weights is refused (``DivergenceError``)."""
    check_finite_weights(model, "The reconstruction error")
    return reconstruction_errors(x, model.reconstruct(x, batch_size=batch_size))


def pca_reconstruction(x_train, x_test, n_components: int) -> np.ndarray:
    """``x_test`` projected on the first ``n_components`` principal components of ``x_train``
    and mapped back: same shape as ``x_test``."""
    x_test = np.asarray(x_test)
    pca = PCA(n_components=n_components, svd_solver="auto", random_state=0)
    pca.fit(_flat(x_train))
    return pca.inverse_transform(pca.transform(_flat(x_test))).reshape(x_test.shape)


def pca_baseline(x_train, x_test, n_components: int) -> dict:
    """``reconstruction_errors`` on ``x_test`` of a PCA with ``n_components`` fitted on
    ``x_train``."""
    return reconstruction_errors(x_test, pca_reconstruction(x_train, x_test, n_components))


def corrupted_reconstruction_errors(
    model, x, kind: str, level: float, seed: int = 0, batch_size: int = 256
) -> dict:
    """``reconstruction_errors`` of the model's reconstructions of corrupted ``x`` against the
    clean ``x``: how well it denoises. ``kind`` and ``level`` are those of
    ``keras_ae.corruption.corrupt`` (e.g. ``"masking"``, 0.25); seeded, so repeatable."""
    check_finite_weights(model, "The reconstruction error")
    x = np.asarray(x, dtype=np.float32)
    seed_generator = keras.random.SeedGenerator(seed)
    corrupted = np.empty_like(x)
    for start in range(0, len(x), batch_size):
        batch = tf.constant(x[start : start + batch_size])
        corrupted[start : start + batch_size] = corrupt(batch, kind, level, seed=seed_generator)
    return reconstruction_errors(x, model.reconstruct(corrupted, batch_size=batch_size))
