"""The built-in encoder and decoder networks: their shapes, the Gaussian encoder's two heads,
and the shapes each architecture refuses."""

import re

import keras
import numpy as np
import pytest

from keras_ae.networks import ARCHITECTURES, build_decoder, build_encoder

SHAPES = {
    "mlp": [(6,), (5, 3, 2)],
    "conv28": [(28, 28, 1), (28, 28, 3)],
    "conv64": [(64, 64, 1), (64, 64, 3)],
}
CASES = [(architecture, shape) for architecture, shapes in SHAPES.items() for shape in shapes]


def _batch(shape, n=3):
    return np.random.default_rng(0).uniform(size=(n, *shape)).astype("float32")


@pytest.mark.parametrize("architecture, shape", CASES)
def test_encoder_and_decoder_shapes(architecture, shape):
    encoder = build_encoder(architecture, shape, 5, hidden_units=(16,))
    decoder = build_decoder(architecture, shape, 5, hidden_units=(16,))
    assert encoder.input_shape == (None, *shape)
    code = encoder(_batch(shape))
    assert tuple(code.shape) == (3, 5)
    assert decoder.input_shape == (None, 5)
    assert tuple(decoder(code).shape) == (3, *shape)


@pytest.mark.parametrize("architecture, shape", [(a, s[-1]) for a, s in SHAPES.items()])
def test_the_gaussian_encoder_has_a_mean_and_a_log_variance_head(architecture, shape):
    encoder = build_encoder(architecture, shape, 4, hidden_units=(16,), gaussian=True)
    assert encoder.output_names == ["z_mean", "z_log_var"]
    mean, log_var = encoder(_batch(shape))
    assert tuple(mean.shape) == tuple(log_var.shape) == (3, 4)
    # Two heads with their own weights, not one output twice.
    assert not np.allclose(mean.numpy(), log_var.numpy())


def test_mlp_hidden_sizes_and_the_mirrored_decoder():
    encoder = build_encoder("mlp", (10,), 3, hidden_units=(16, 8))
    decoder = build_decoder("mlp", (10,), 3, hidden_units=(16, 8))
    dense = keras.layers.Dense
    assert [layer.units for layer in encoder.layers if isinstance(layer, dense)] == [16, 8, 3]
    assert [layer.units for layer in decoder.layers if isinstance(layer, dense)] == [8, 16, 10]
    # No hidden layer: the code is one Dense layer of the flattened input.
    linear = build_encoder("mlp", (2, 5), 3, hidden_units=())
    assert [layer.units for layer in linear.layers if isinstance(layer, dense)] == [3]


def test_code_activation_applies_to_the_code_and_decoders_end_without_one():
    encoder = build_encoder("mlp", (6,), 8, hidden_units=(), code_activation="sigmoid")
    code = encoder(_batch((6,), n=50)).numpy()
    assert 0.0 < code.min() and code.max() < 1.0
    decoder = build_decoder("conv28", (28, 28, 1), 8)
    logits = decoder(np.random.default_rng(1).normal(size=(20, 8)).astype("float32")).numpy()
    assert logits.min() < 0.0  # logits or means, not probabilities


def test_an_unknown_architecture_is_refused_with_the_known_ones():
    expected = re.escape(f"Unknown architecture 'resnet'; expected one of {ARCHITECTURES}")
    with pytest.raises(ValueError, match=expected):
        build_encoder("resnet", (28, 28, 1), 4)
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'"):
        build_decoder("resnet", (28, 28, 1), 4)


@pytest.mark.parametrize(
    "architecture, shape",
    [
        ("conv28", (64, 64, 1)),
        ("conv28", (28, 28)),
        ("conv28", (28, 32, 1)),
        ("conv64", (28, 28, 3)),
        ("conv64", (4096,)),
    ],
)
def test_a_shape_the_architecture_cannot_take_is_refused(architecture, shape):
    side = 28 if architecture == "conv28" else 64
    expected = re.escape(
        f"takes inputs of shape ({side}, {side}, channels), got input_shape={shape}"
    )
    with pytest.raises(ValueError, match=expected):
        build_encoder(architecture, shape, 4)
    with pytest.raises(ValueError, match=expected):
        build_decoder(architecture, shape, 4)
