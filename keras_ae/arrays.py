"""Numpy in, numpy out: converting inputs and running a compiled function over them in batches.

Shared by the models' ``encode``/``decode``/``reconstruct`` and by the evaluation modules."""

import functools
from collections.abc import Callable

import numpy as np
import tensorflow as tf


def compiled(function: Callable | None = None, **options) -> Callable:
    """``tf.function(function, **options)`` (usable as a decorator) for a function made anew for
    each model or call: a closure or a lambda.

    TensorFlow keys its warning about excessive retracing ("5 out of the last 5 calls to ...
    triggered tf.function retracing") on a plain function's code, so each new model's first
    trace of the same closure counts against one tally, and a process that samples or evaluates
    several presets is warned about traces it needs. Wrapped in a ``functools.partial``, each
    compiled function is counted on its own; retracing within one still warns.
    """
    if function is None:
        return functools.partial(compiled, **options)
    return tf.function(functools.partial(function), **options)


def as_float32(x) -> np.ndarray:
    """``x`` (numpy, a tensor or nested lists) as a float32 numpy array."""
    return np.asarray(x.numpy() if tf.is_tensor(x) else x, dtype=np.float32)


def map_batches(function: Callable, x: np.ndarray | tuple, batch_size: int):
    """``function`` (tensors in, a tensor or a tuple of tensors out) over ``x`` in batches of
    ``batch_size``, concatenated: numpy, or a tuple of numpy arrays.

    ``x`` is an array, or a tuple of arrays of one length whose batches are passed as separate
    arguments. An empty ``x`` gives empty outputs of the right trailing shapes and dtypes
    (``function`` runs once on one zero example of ``x``'s dtype to learn them).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    arrays = x if isinstance(x, tuple) else (x,)
    if len({len(array) for array in arrays}) != 1:
        raise ValueError(f"The arrays differ in length: {[len(array) for array in arrays]}.")
    if len(arrays[0]) == 0:
        probe = function(*(tf.zeros((1, *array.shape[1:]), array.dtype) for array in arrays))
        return _concatenated([_numpy(probe)], first=0)
    parts = [
        _numpy(function(*(tf.constant(array[start : start + batch_size]) for array in arrays)))
        for start in range(0, len(arrays[0]), batch_size)
    ]
    return _concatenated(parts)


def _numpy(outputs):
    if isinstance(outputs, tuple | list):
        return tuple(output.numpy() for output in outputs)
    return outputs.numpy()


def _concatenated(parts: list, first: int | None = None):
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(column)[:first] for column in zip(*parts, strict=True))
    return np.concatenate(parts)[:first]


def sample_categorical(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One class per row of ``probabilities`` ``(..., classes)`` (rows need not be normalised),
    by inverse-CDF sampling with one uniform draw each: ``(...)`` int32 indices."""
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = rng.uniform(size=(*cumulative.shape[:-1], 1)) * cumulative[..., -1:]
    classes = (cumulative < draws).sum(axis=-1)
    return np.minimum(classes, cumulative.shape[-1] - 1).astype(np.int32)
