"""Built-in encoder and decoder networks.

- ``"mlp"``: flattens any input shape, Dense layers of ``hidden_units``, and a code layer; the
  decoder mirrors the hidden sizes and reshapes its output back to the input shape.
- ``"conv28"``: for 28x28xC images: Conv 32, 64 (kernel 4, stride 2) -> Dense 256 -> code.
- ``"conv28_grid"``: for 28x28xC images, a code that keeps its layout (VQ-VAE's): Conv 32, 64
  (kernel 4, stride 2), Conv 64 (kernel 3) -> a 1x1 Conv to ``code_dim / 49`` channels on the 7x7
  grid, flattened; the decoder reshapes the code to the grid and mirrors the encoder.
- ``"conv64"``: for 64x64xC images, Burgess et al. (2017) / disentanglement_lib: Conv 32, 32, 64,
  64 (kernel 4, stride 2, ReLU) -> Dense 256 -> code; the decoder mirrors it with transposed
  convolutions.

Decoders end without an activation: their output is the Bernoulli logits or the Gaussian mean.
"""

import math
from collections.abc import Sequence

import keras
from keras import layers

ARCHITECTURES = ("mlp", "conv28", "conv28_grid", "conv64")
_CONV_INPUT_SIZE = {"conv28": 28, "conv28_grid": 28, "conv64": 64}
#: The code grid of ``"conv28_grid"``: rows and columns of code vectors.
GRID_28 = (7, 7)


def _check_architecture(architecture: str, input_shape: tuple[int, ...]) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {architecture!r}; expected one of {ARCHITECTURES}.")
    side = _CONV_INPUT_SIZE.get(architecture)
    if side is not None and (len(input_shape) != 3 or input_shape[:2] != (side, side)):
        raise ValueError(
            f"architecture={architecture!r} takes inputs of shape ({side}, {side}, channels), "
            f"got input_shape={input_shape}."
        )


def grid_channels(architecture: str, code_dim: int) -> int:
    """The channels of a grid architecture's code: ``code_dim`` over the grid's positions."""
    positions = GRID_28[0] * GRID_28[1]
    if code_dim % positions:
        raise ValueError(
            f"architecture={architecture!r} lays the code out on a {GRID_28[0]}x{GRID_28[1]} "
            f"grid, so latent_dim must be a multiple of {positions}; got {code_dim}."
        )
    return code_dim // positions


def _code_heads(features, code_dim: int, code_activation: str | None, gaussian: bool):
    if gaussian:
        mean = layers.Dense(code_dim, name="z_mean")(features)
        log_var = layers.Dense(code_dim, name="z_log_var")(features)
        return [mean, log_var]
    return layers.Dense(code_dim, activation=code_activation, name="code")(features)


def build_encoder(
    architecture: str,
    input_shape: Sequence[int],
    code_dim: int,
    *,
    hidden_units: Sequence[int] = (512,),
    activation: str = "relu",
    code_activation: str | None = None,
    gaussian: bool = False,
    name: str = "encoder",
) -> keras.Model:
    """Builds an encoder ``x (batch, *input_shape) -> code (batch, code_dim)``.

    With ``gaussian=True`` it has two outputs, the posterior mean and log-variance, each
    ``(batch, code_dim)``.
    """
    input_shape = tuple(int(d) for d in input_shape)
    _check_architecture(architecture, input_shape)
    inputs = keras.Input(shape=input_shape, name="x")
    if architecture == "mlp":
        h = layers.Flatten()(inputs)
        for i, units in enumerate(hidden_units):
            h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
    elif architecture == "conv28_grid":
        if gaussian:
            raise ValueError(
                'architecture="conv28_grid" has no Gaussian posterior head; use "conv28" for '
                "the VAE family."
            )
        channels = grid_channels(architecture, code_dim)
        h = inputs
        for i, n_filters in enumerate((32, 64)):
            h = layers.Conv2D(
                n_filters, 4, strides=2, padding="same", activation="relu", name=f"conv_{i}"
            )(h)
        h = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_2")(h)
        h = layers.Conv2D(channels, 1, activation=code_activation, name="code_grid")(h)
        return keras.Model(inputs, layers.Flatten(name="code")(h), name=name)
    else:
        filters = (32, 64) if architecture == "conv28" else (32, 32, 64, 64)
        h = inputs
        for i, n_filters in enumerate(filters):
            h = layers.Conv2D(
                n_filters, 4, strides=2, padding="same", activation="relu", name=f"conv_{i}"
            )(h)
        h = layers.Flatten()(h)
        h = layers.Dense(256, activation="relu", name="dense")(h)
    outputs = _code_heads(h, code_dim, code_activation, gaussian)
    return keras.Model(inputs, outputs, name=name)


def build_decoder(
    architecture: str,
    output_shape: Sequence[int],
    code_dim: int,
    *,
    hidden_units: Sequence[int] = (512,),
    activation: str = "relu",
    name: str = "decoder",
) -> keras.Model:
    """Builds a decoder ``z (batch, code_dim) -> (batch, *output_shape)`` logits or means."""
    output_shape = tuple(int(d) for d in output_shape)
    _check_architecture(architecture, output_shape)
    inputs = keras.Input(shape=(code_dim,), name="z")
    if architecture == "mlp":
        h = inputs
        for i, units in enumerate(reversed(tuple(hidden_units))):
            h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
        h = layers.Dense(math.prod(output_shape), name="pixels")(h)
        outputs = layers.Reshape(output_shape)(h)
    elif architecture == "conv28_grid":
        channels = grid_channels(architecture, code_dim)
        h = layers.Reshape((*GRID_28, channels))(inputs)
        h = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv")(h)
        h = layers.Conv2DTranspose(
            32, 4, strides=2, padding="same", activation="relu", name="deconv_0"
        )(h)
        outputs = layers.Conv2DTranspose(
            output_shape[-1], 4, strides=2, padding="same", name="pixels"
        )(h)
    else:
        side = _CONV_INPUT_SIZE[architecture]
        filters = (32,) if architecture == "conv28" else (64, 32, 32)
        start = side // 2 ** (len(filters) + 1)
        h = layers.Dense(256, activation="relu", name="dense")(inputs)
        h = layers.Dense(start * start * 64, activation="relu", name="dense_grid")(h)
        h = layers.Reshape((start, start, 64))(h)
        for i, n_filters in enumerate(filters):
            h = layers.Conv2DTranspose(
                n_filters, 4, strides=2, padding="same", activation="relu", name=f"deconv_{i}"
            )(h)
        outputs = layers.Conv2DTranspose(
            output_shape[-1], 4, strides=2, padding="same", name="pixels"
        )(h)
    return keras.Model(inputs, outputs, name=name)
