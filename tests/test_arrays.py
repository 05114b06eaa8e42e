"""keras_ae.arrays: inputs as float32 numpy, and a function run over an array in batches."""

import numpy as np
import pytest
import tensorflow as tf

from keras_ae.arrays import as_float32, map_batches, sample_categorical


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6, dtype=np.float64).reshape(2, 3),
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        tf.constant(np.arange(6, dtype=np.float64).reshape(2, 3)),
        tf.range(6, dtype=tf.int32)[None, :],
        [[0, 1, 2], [3, 4, 5]],
    ],
    ids=["float64 array", "uint8 array", "float64 tensor", "int32 tensor", "nested lists"],
)
def test_as_float32(value):
    array = as_float32(value)
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    np.testing.assert_array_equal(array.reshape(-1), np.arange(6))


def test_batches_are_concatenated_in_order():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    seen = []

    def double(batch):
        seen.append(int(batch.shape[0]))
        return batch * 2

    out = map_batches(double, x, batch_size=3)
    assert seen == [3, 3, 3, 1]
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, 2 * x)
    np.testing.assert_array_equal(map_batches(double, x, batch_size=100), 2 * x)
    assert seen[-1] == 10


def test_tuple_and_list_outputs_become_a_tuple_of_arrays():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    total, first = map_batches(lambda b: (tf.reduce_sum(b, axis=1), b[:, :1]), x, batch_size=4)
    np.testing.assert_array_equal(total, x.sum(axis=1))
    np.testing.assert_array_equal(first, x[:, :1])
    as_list = map_batches(lambda b: [b, -b], x, batch_size=5)
    assert isinstance(as_list, tuple) and len(as_list) == 2
    np.testing.assert_array_equal(as_list[1], -x)


def test_a_tf_function_runs_over_the_batches():
    x = np.random.default_rng(0).normal(size=(7, 3, 2)).astype(np.float32)
    square = tf.function(lambda b: tf.reshape(b, [-1, 6]) ** 2, reduce_retracing=True)
    np.testing.assert_allclose(map_batches(square, x, batch_size=2), x.reshape(7, 6) ** 2)


def test_an_empty_input_gives_empty_outputs_of_the_right_trailing_shape():
    x = np.zeros((0, 4, 2), np.float32)
    flat = map_batches(lambda b: tf.reshape(b, [-1, 8])[:, :3], x, batch_size=5)
    assert flat.shape == (0, 3) and flat.dtype == np.float32
    code, norm = map_batches(
        lambda b: (tf.reshape(b, [-1, 8]), tf.norm(tf.reshape(b, [-1, 8]), axis=1)), x, 5
    )
    assert code.shape == (0, 8) and norm.shape == (0,)


@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_an_empty_input_keeps_the_dtype_a_full_one_would_give(dtype):
    full = map_batches(lambda b: b + 1, np.ones((3, 2), dtype), batch_size=2)
    empty = map_batches(lambda b: b + 1, np.ones((0, 2), dtype), batch_size=2)
    assert full.dtype == empty.dtype == dtype and empty.shape == (0, 2)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_a_batch_size_below_one_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        map_batches(lambda b: b, np.ones((4, 2), np.float32), batch_size)


def test_sample_categorical_follows_the_probabilities():
    weights = np.array([[0.5, 0.3, 0.2], [0.0, 0.0, 2.0]])  # rows need not sum to one
    draws = sample_categorical(np.repeat(weights[None], 50_000, 0), np.random.default_rng(0))
    assert draws.shape == (50_000, 2) and draws.dtype == np.int32
    np.testing.assert_allclose(
        np.bincount(draws[:, 0], minlength=3) / 50_000, [0.5, 0.3, 0.2], atol=0.01
    )
    assert (draws[:, 1] == 2).all()
