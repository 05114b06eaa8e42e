"""Counting a training step's FLOPs: the multiply-adds of its convolutions and matmuls.

Only ``Conv2D``, ``Conv2DTranspose`` and ``Dense`` layers are counted; biases, activations, the
loss and the optimizer update are not (``tensorflow_flops`` counts every op, as a check).
Layers must have been called in a functional or Sequential model, so that their input and
output shapes are known.
"""

import keras
import tensorflow as tf


def layer_multiply_adds(layer: keras.layers.Layer) -> int | None:
    """Multiply-adds per example of an ungrouped Conv2D, a Conv2DTranspose or a Dense layer on
    ``(batch, features)`` inputs; None for any other layer."""
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, height, width, channels_in = layer.input.shape
        kernel_h, kernel_w = layer.kernel_size
        return height * width * channels_in * kernel_h * kernel_w * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, channels_out = layer.output.shape
        kernel_h, kernel_w = layer.kernel_size
        return height * width * channels_out * kernel_h * kernel_w * layer.input.shape[-1]
    if isinstance(layer, keras.layers.Dense):
        return int(layer.input.shape[-1]) * layer.units
    return None


def forward_multiply_adds(network: keras.Model) -> list[int]:
    """``layer_multiply_adds`` of each counted layer of ``network``, in order, nested models
    included."""
    counts = []
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            counts.extend(forward_multiply_adds(layer))
        elif (count := layer_multiply_adds(layer)) is not None:
            counts.append(count)
    return counts


def training_flops(encoder: keras.Model, decoder: keras.Model, batch_size: int) -> float:
    """FLOPs of one training step's convolutions and matmuls: forward (2 per multiply-add),
    the weights' gradients (2) and the inputs' gradients (2), except the first layer's, which
    nothing needs."""
    counts = forward_multiply_adds(encoder) + forward_multiply_adds(decoder)
    per_example = 6 * sum(counts) - 2 * counts[0]
    return float(per_example * batch_size)


def tensorflow_flops(model: keras.Model, batch: tf.Tensor) -> float | None:
    """TensorFlow's op-level FLOP count of one ``train_step`` graph on ``batch`` (the model
    compiled); None if TensorFlow's v1 profiler is unavailable or fails."""
    try:
        model.optimizer.build(model.trainable_variables)
        graph = tf.function(model.train_step).get_concrete_function(batch).graph
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
    except Exception:  # the v1 profiler is optional: training_flops stands without it
        return None
