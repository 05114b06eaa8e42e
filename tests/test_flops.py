"""keras_ae.flops: the multiply-adds of each layer, a training step's FLOPs, and TensorFlow's
own count of the same step."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae.flops import (
    forward_multiply_adds,
    layer_multiply_adds,
    tensorflow_flops,
    training_flops,
)
from keras_ae.zoo.recipes import load_recipe

ZOO_CONFIGS = Path(__file__).resolve().parent.parent / "zoo_configs"


def test_each_layer_kind_by_hand():
    conv = keras.layers.Conv2D(4, 3, strides=2, padding="same")
    deconv = keras.layers.Conv2DTranspose(5, 3, strides=2, padding="same")
    dense = keras.layers.Dense(3)
    flatten = keras.layers.Flatten()
    inputs = keras.Input((8, 8, 3))
    h = conv(inputs)  # (4, 4, 4)
    h = keras.layers.Conv2D(2, 1)(h)  # (4, 4, 2)
    h = deconv(h)  # (8, 8, 5)
    keras.Model(inputs, dense(flatten(h)))
    # A convolution: each output value is kernel_h * kernel_w * channels_in multiply-adds.
    assert layer_multiply_adds(conv) == 4 * 4 * 4 * (3 * 3 * 3)
    # A transposed convolution: each input value is spread over kernel_h * kernel_w * filters.
    assert layer_multiply_adds(deconv) == 4 * 4 * 2 * (3 * 3 * 5)
    assert layer_multiply_adds(dense) == 8 * 8 * 5 * 3
    assert layer_multiply_adds(flatten) is None


def test_nested_models_are_counted_in_order():
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    layers = keras.layers
    outer = keras.Sequential(
        [keras.Input((4,)), layers.Dense(5), inner, layers.ReLU(), layers.Dense(7)]
    )
    assert forward_multiply_adds(outer) == [4 * 5, 5 * 2, 2 * 7]


def test_training_flops_counts_forward_and_both_gradients():
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    # 12 + 12 multiply-adds forward; 2 FLOPs each for the forward pass, the weights' gradients
    # and the inputs' gradients, but no input gradient for the first layer.
    assert training_flops(encoder, decoder, batch_size=10) == 10 * (6 * 24 - 2 * 12)


def test_the_conv64_count_agrees_with_tensorflows_own():
    keras.utils.set_random_seed(0)
    model = load_recipe(ZOO_CONFIGS / "beta_vae_dsprites.yaml").build_model()
    batch = (np.random.default_rng(0).random((64, *model.data_shape)) < 0.2).astype("float32")
    ours = training_flops(model.encoder, model.decoder, 64)
    tensorflows = tensorflow_flops(model, tf.constant(batch))
    if tensorflows is None:
        pytest.skip("TensorFlow's v1 profiler is not available")
    # TensorFlow also counts the elementwise ops (activations, loss, optimizer): a few percent.
    assert ours <= tensorflows <= 1.05 * ours
