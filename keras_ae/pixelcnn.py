"""A small gated PixelCNN (van den Oord et al. 2016) over grids of discrete codes: the learned
prior of ``VQVAE``.

The network maps a grid of code indices ``(batch, rows, cols)`` to logits
``(batch, rows, cols, num_codes)`` in which the logits at a position depend only on the codes
before it in raster order (the rows above, and the positions to the left in its own row). It
has the two stacks of the gated PixelCNN, which leave no blind spot:

- the vertical stack sees the rows up to its own; it reaches the output only shifted down by
  one row, so the output at row ``i`` sees rows ``< i`` through it;
- the horizontal stack sees its own row up to its own position, excluding the position itself
  in the first layer.

Causality comes from padding and kernel shapes, not from masked weights.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_ae.arrays import compiled, sample_categorical


def _gate(features):
    """``tanh(a) * sigmoid(b)`` of the two halves of the channels."""
    a, b = keras.ops.split(features, 2, axis=-1)
    return keras.ops.tanh(a) * keras.ops.sigmoid(b)


def _shift_down(features):
    """Moves every row down by one (the top row becomes zeros)."""
    return layers.Cropping2D(((0, 1), (0, 0)))(layers.ZeroPadding2D(((1, 0), (0, 0)))(features))


def _shift_right(features):
    """Moves every column right by one (the left column becomes zeros)."""
    return layers.Cropping2D(((0, 0), (0, 1)))(layers.ZeroPadding2D(((0, 0), (1, 0)))(features))


def build_gated_pixelcnn(
    grid_shape: tuple[int, int],
    num_codes: int,
    *,
    channels: int = 64,
    num_layers: int = 6,
    kernel_size: int = 3,
    name: str = "prior",
) -> keras.Model:
    """Builds the prior network ``indices (batch, rows, cols) int -> logits (batch, rows, cols,
    num_codes)``, causal in raster order (see the module docstring)."""
    if kernel_size < 3 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd integer of at least 3, got {kernel_size}.")
    if num_layers < 1 or channels < 1:
        raise ValueError(f"num_layers and channels must be positive, got {num_layers}, {channels}.")
    half = kernel_size // 2
    indices = keras.Input(shape=tuple(grid_shape), dtype="int32", name="codes")
    embedded = layers.Embedding(num_codes, channels, name="embedding")(indices)
    vertical, horizontal = embedded, _shift_right(embedded)
    for i in range(num_layers):
        # Vertical: rows i-half..i, all columns within the kernel.
        v = layers.ZeroPadding2D(((half, 0), (half, half)))(vertical)
        v = layers.Conv2D(2 * channels, (half + 1, kernel_size), name=f"vertical_{i}")(v)
        # Horizontal: its own row, columns j-half..j (the first layer's input is shifted right,
        # so there the position itself is excluded).
        h = layers.ZeroPadding2D(((0, 0), (half, 0)))(horizontal)
        h = layers.Conv2D(2 * channels, (1, half + 1), name=f"horizontal_{i}")(h)
        link = layers.Conv2D(2 * channels, 1, name=f"vertical_to_horizontal_{i}")(_shift_down(v))
        h_out = layers.Conv2D(channels, 1, name=f"horizontal_out_{i}")(_gate(h + link))
        horizontal = h_out if i == 0 else horizontal + h_out
        vertical = _gate(v)
    hidden = layers.Conv2D(channels, 1, activation="relu", name="head")(
        layers.Activation("relu")(horizontal)
    )
    logits = layers.Conv2D(num_codes, 1, name="logits")(hidden)
    return keras.Model(indices, logits, name=name)


def sample_codes(
    prior: keras.Model, n: int, seed: int | None = None, temperature: float = 1.0
) -> np.ndarray:
    """Draws ``n`` code grids from ``prior`` one position at a time in raster order:
    ``(n, rows, cols)`` int32."""
    rows, cols = prior.input_shape[1:3]
    rng = np.random.default_rng(seed)
    codes = np.zeros((n, rows, cols), dtype=np.int32)
    predict = compiled(lambda grid: prior(grid, training=False))
    for row in range(rows):
        for col in range(cols):
            logits = predict(tf.constant(codes)).numpy()[:, row, col, :] / temperature
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            codes[:, row, col] = sample_categorical(probabilities, rng)
    return codes
