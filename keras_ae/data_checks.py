"""What keras_ae refuses before data reaches a model, and the one error it raises: ``DataError``.

Arrays are checked whole before ``fit``/``evaluate`` start and before any inference; generators
and ``PyDataset``s batch by batch as they are drawn; ``tf.data`` pipelines in the training step
itself (``Autoencoder._prepare_batch``). Each refusal names the argument and says what was
expected, so a bad batch costs an error message, never a weight.
"""

from collections.abc import Iterator, Mapping

import keras
import numpy as np
import tensorflow as tf

# Elements per chunk when scanning an array for NaN or range: the whole of dSprites at once would
# need a 3 GB temporary.
_CHUNK = 1 << 22


class DataError(ValueError):
    """The data cannot be used: not an array of numbers, wrong shape, NaN/Inf, or out of range."""


def _shape_text(shape: tuple) -> str:
    return ", ".join(map(str, shape))


def as_numeric_array(x, what: str) -> np.ndarray:
    """``x`` (numpy, a tensor or nested lists) as a numpy array of numbers (bool, int, float).

    Raises ``DataError`` naming ``what`` for ``None``, a dict, a ragged list or a non-numeric
    dtype (strings, objects)."""
    if x is None or isinstance(x, Mapping):
        got = "None" if x is None else f"a {type(x).__name__}"
        raise DataError(f"{what} is {got}; expected an array of numbers.")
    if tf.is_tensor(x):
        x = x.numpy()
    try:
        array = np.asarray(x)
    except ValueError as error:
        raise DataError(
            f"{what} is a ragged sequence (its items differ in shape: {error}); stack items of "
            "one shape into an array."
        ) from None
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{what} has dtype {array.dtype}; expected numbers (float, int, uint8 or bool)."
        )
    return array


def check_shape(shape: tuple, data_shape: tuple, what: str, batch: str = "n") -> None:
    """Raises ``DataError`` unless ``shape`` is ``(batch, *data_shape)`` (``None`` matches any)."""
    shape = tuple(shape)
    if len(shape) != len(data_shape) + 1 or any(
        got is not None and got != want for got, want in zip(shape[1:], data_shape, strict=False)
    ):
        raise DataError(
            f"Expected {what} of shape ({batch}, {_shape_text(data_shape)}), got {shape}."
        )


def check_values(array: np.ndarray, what: str, unit_range: bool) -> None:
    """Raises ``DataError`` if ``array`` holds NaN/Inf or, with ``unit_range``, values outside
    [0, 1]; scanned in chunks, so a large array needs no large temporary."""
    flat = array.reshape(-1)
    low, high = np.inf, -np.inf
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start : start + _CHUNK]
        if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
            index = start + int(np.flatnonzero(~np.isfinite(chunk))[0])
            where = np.unravel_index(index, array.shape)
            raise DataError(f"{what} holds NaN or Inf (first at index {tuple(map(int, where))}).")
        if unit_range:
            low, high = min(low, chunk.min()), max(high, chunk.max())
    if unit_range and flat.size and (low < 0 or high > 1):
        raise DataError(
            f"A Bernoulli likelihood needs {what} in [0, 1]; got values in [{low}, {high}]. "
            "Scale the data (e.g. divide uint8 images by 255)."
        )


def validated_array(
    x,
    what: str,
    data_shape: tuple,
    unit_range: bool = False,
    allow_empty: bool = True,
    batch: str = "n",
) -> np.ndarray:
    """``x`` as a numpy array of numbers, checked: shape ``(batch, *data_shape)``, finite, in
    [0, 1] with ``unit_range``, not empty unless ``allow_empty``; its dtype is kept."""
    array = as_numeric_array(x, what)
    check_shape(array.shape, data_shape, what, batch)
    if not allow_empty and len(array) == 0:
        raise DataError(f"{what} is empty (shape {array.shape}); there is nothing to train on.")
    check_values(array, what, unit_range)
    return array


def checked_array(x, what: str, data_shape: tuple, unit_range: bool = False) -> np.ndarray:
    """``validated_array(x, ...)`` converted to float32, for a model to run on."""
    return validated_array(x, what, data_shape, unit_range).astype(np.float32, copy=False)


def check_count(n, what: str = "n") -> int:
    """``n`` as an int, if it is a non-negative integer; else ``DataError`` naming ``what``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise DataError(f"{what} must be a non-negative integer, got {n!r}.")
    return int(n)


def check_seed(seed) -> int | None:
    """``seed`` if it is ``None`` or a non-negative integer; else ``DataError``."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be None or a non-negative integer, got {seed!r}.")
    return int(seed)


class BatchChecker:
    """Checks each batch a generator or ``PyDataset`` yields, and remembers the first refusal.

    Keras runs generators inside ``tf.data``, which turns any exception into a TensorFlow error
    that no longer says which batch failed or why; ``failure`` keeps the original, so that
    ``fit`` can raise it instead.
    """

    def __init__(self, data_shape: tuple, unit_range: bool):
        self.data_shape = data_shape
        self.unit_range = unit_range
        self.failure: BaseException | None = None
        self.batches = 0

    def check(self, batch, number: int | None = None):
        """``batch`` as Keras wants it, ``(x, ...)``, if its ``x`` passes; ``number`` (from 1)
        names it in the error, by default the count of batches checked."""
        self.batches += 1
        what = f"batch {number or self.batches} of the data"
        try:
            if not isinstance(batch, tuple):
                # Keras wants (x,), (x, y) or (x, y, sample_weight); a bare array means (x,).
                batch = (batch,)
            array = as_numeric_array(batch[0], what)
            check_shape(array.shape, self.data_shape, what, batch="batch")
            check_values(array, what, self.unit_range)
        except DataError as error:
            self.failure = DataError(
                f"Bad batch: {error} Training stopped at that batch; the weights were not "
                "updated with it."
            )
            raise self.failure from None
        return batch

    def generator(self, source: Iterator) -> Iterator:
        """``source``'s batches, checked; an exception from ``source`` itself is kept too."""
        iterator = iter(source)
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception as error:
                self.failure = error
                raise
            yield self.check(batch)

    def py_dataset(self, source: keras.utils.PyDataset) -> keras.utils.PyDataset:
        """``source`` with each batch checked as it is read."""
        return _CheckedPyDataset(source, self)


class _CheckedPyDataset(keras.utils.PyDataset):
    def __init__(self, source: keras.utils.PyDataset, checker: BatchChecker):
        super().__init__(
            workers=source.workers,
            use_multiprocessing=source.use_multiprocessing,
            max_queue_size=source.max_queue_size,
        )
        self.source = source
        self.checker = checker

    @property
    def num_batches(self):
        return self.source.num_batches

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index):
        try:
            batch = self.source[index]
        except Exception as error:
            self.checker.failure = error
            raise
        # Keras reads the first batches twice (once to learn their shapes), so the index, not
        # a count, names the batch.
        return self.checker.check(batch, number=index + 1)

    def on_epoch_end(self) -> None:
        self.source.on_epoch_end()


def is_generator(data) -> bool:
    """Whether Keras would read ``data`` as a Python generator (an iterator that is not an
    array, a tensor or a ``tf.data.Dataset``)."""
    return (
        isinstance(data, Iterator)
        and not isinstance(data, tf.data.Dataset | np.ndarray)
        and not tf.is_tensor(data)
    )


def wrap_for_checks(data, checker: BatchChecker):
    """``data`` with its batches checked by ``checker`` if it is a generator or ``PyDataset``;
    other data as it is (checked whole, or in the training step)."""
    if isinstance(data, keras.utils.PyDataset):
        return checker.py_dataset(data)
    if is_generator(data):
        return checker.generator(data)
    return data
