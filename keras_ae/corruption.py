"""Input corruptions for denoising autoencoders (Vincent et al. 2008, 2010).

Each function takes a batch ``(batch, ...)`` in [0, 1] and returns a corrupted copy of the same
shape and dtype. ``seed`` is anything ``keras.random`` accepts (an int or a
``keras.random.SeedGenerator``).
"""

import keras
import tensorflow as tf

CORRUPTIONS = ("masking", "gaussian", "salt_and_pepper")


def _chosen_fraction(x: tf.Tensor, fraction: float, seed) -> tf.Tensor:
    """A boolean mask, ``x``'s shape, selecting exactly ``round(fraction * n_pixels)`` pixels
    of each example at random (Vincent's "fixed number of components", not a per-pixel coin)."""
    flat_shape = [tf.shape(x)[0], -1]
    n_pixels = int(x.shape[1:].num_elements())
    n_chosen = int(round(fraction * n_pixels))
    if n_chosen == 0:
        return tf.zeros_like(x, dtype=tf.bool)
    scores = keras.random.uniform(tf.shape(tf.reshape(x, flat_shape)), seed=seed)
    threshold = tf.math.top_k(scores, k=n_chosen).values[:, -1:]
    return tf.reshape(scores >= threshold, tf.shape(x))


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"{name} corruption takes a fraction in [0, 1], got {fraction!r}.")


def masking(x: tf.Tensor, fraction: float, seed=None) -> tf.Tensor:
    """Sets a fixed ``fraction`` of each example's pixels to 0."""
    _check_fraction(fraction, "masking")
    return tf.where(_chosen_fraction(x, fraction, seed), tf.zeros_like(x), x)


def gaussian(x: tf.Tensor, stddev: float, seed=None) -> tf.Tensor:
    """Adds isotropic Gaussian noise of standard deviation ``stddev`` (not clipped)."""
    if stddev < 0:
        raise ValueError(f"gaussian corruption takes a stddev >= 0, got {stddev!r}.")
    return x + stddev * keras.random.normal(tf.shape(x), dtype=x.dtype, seed=seed)


def salt_and_pepper(x: tf.Tensor, fraction: float, seed=None) -> tf.Tensor:
    """Sets a fixed ``fraction`` of each example's pixels to 0 or 1, each with probability 1/2."""
    _check_fraction(fraction, "salt_and_pepper")
    chosen = _chosen_fraction(x, fraction, seed)
    # An int seed would give the same uniforms again, correlated with the choice above.
    salt_seed = seed + 1 if isinstance(seed, int) else seed
    salt = keras.random.uniform(tf.shape(x), seed=salt_seed) < 0.5
    return tf.where(chosen, tf.cast(salt, x.dtype), x)


def corrupt(x: tf.Tensor, kind: str, level: float, seed=None) -> tf.Tensor:
    """Applies the corruption named ``kind`` ("masking", "gaussian", "salt_and_pepper")."""
    if kind == "masking":
        return masking(x, level, seed)
    if kind == "gaussian":
        return gaussian(x, level, seed)
    if kind == "salt_and_pepper":
        return salt_and_pepper(x, level, seed)
    raise ValueError(f"Unknown corruption {kind!r}; expected one of {CORRUPTIONS}.")
