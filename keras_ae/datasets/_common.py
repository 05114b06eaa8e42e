"""Helpers shared by the dataset modules: cache directory, errors, atomic writes, binarisation,
and the numpy / ``tf.data`` delivery of in-memory datasets."""

import contextlib
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import tensorflow as tf

SPLITS = ("train", "test", "all")
BINARIZATIONS = (None, "static", "dynamic")

# Above this size the numpy route needs an explicit ``num_examples``: building a float32 copy of
# dSprites (12 GB) or CelebA (10 GB) by accident would exhaust memory before any error appears.
NUMPY_BYTES_LIMIT = 2_000_000_000

# urllib waits forever by default; an offline machine should fail within seconds, not hang.
DOWNLOAD_SOCKET_TIMEOUT_SECONDS = 20.0


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are not where they were looked for."""


class CorruptFileError(ValueError):
    """A dataset or cache file exists but cannot be read as what it should be."""


def cache_dir() -> Path:
    """keras-ae's cache directory: ``$KERAS_AE_CACHE``, else ``~/.cache/keras_ae``."""
    configured = os.environ.get("KERAS_AE_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "keras_ae"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for binary writing; move it to ``path`` only when
    the block finishes, so an interruption never leaves a half-written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    # os.open with 0o666 lets the umask decide the permissions (mkstemp would force 0o600).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def check_split(split: str, allowed: tuple[str, ...] = SPLITS) -> str:
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}.")
    return split


_SLICED_SPLIT = re.compile(r"^(?P<split>[a-z_]+)\[(?P<start>-?\d*):(?P<stop>-?\d*)\]$")


def split_indices(split: str, ranges: dict[str, tuple[int, int]]) -> np.ndarray:
    """The rows of ``split``: a name in ``ranges`` (name -> ``(start, stop)`` rows), or a slice
    of one in TFDS's notation, e.g. ``"train[:-5000]"`` or ``"train[-5000:]"`` (whole numbers,
    Python's slice rules)."""
    match = _SLICED_SPLIT.match(split) if isinstance(split, str) else None
    name = match["split"] if match else split
    if name not in ranges:
        raise ValueError(
            f"split must be one of {tuple(ranges)}, or a slice of one such as "
            f"'train[:-5000]', got {split!r}."
        )
    rows = np.arange(*ranges[name], dtype=np.int64)
    if match:
        start, stop = (int(match[key]) if match[key] else None for key in ("start", "stop"))
        rows = rows[start:stop]
        if len(rows) == 0:
            raise ValueError(f"split {split!r} selects no rows of {name!r} ({len(rows)} rows).")
    return rows


def fetch_with_keras(load_data: Callable, dataset: str, alternatives: str):
    """Call a ``keras.datasets.*.load_data`` (cached file or download), turning any failure into a
    ``DatasetNotFoundError`` that names the offline alternatives."""
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_SECONDS)
    try:
        return load_data()
    except Exception as error:
        raise DatasetNotFoundError(
            f"{dataset} is neither in Keras' cache (~/.keras/datasets, or $KERAS_HOME/datasets) "
            f"nor downloadable here ({type(error).__name__}: {error}). {alternatives}"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)


def binarize_static(images: np.ndarray, max_value: int, seed: int) -> np.ndarray:
    """One fixed Bernoulli draw per pixel: ``(n, ...)`` uint8 in ``[0, max_value]`` to uint8 in
    {0, 1}, the same for the same ``seed`` and images (each pixel is 1 with probability
    ``value / max_value``)."""
    rng = np.random.default_rng(seed)
    binary = np.empty(images.shape, dtype=np.uint8)
    # Chunked so the float32 noise never exceeds ~64 MB; the stream of draws is the same.
    rows_per_chunk = max(1, (16 * 1024**2) // max(1, int(np.prod(images.shape[1:]))))
    for start in range(0, len(images), rows_per_chunk):
        chunk = images[start : start + rows_per_chunk]
        noise = rng.random(chunk.shape, dtype=np.float32) * max_value
        binary[start : start + rows_per_chunk] = noise < chunk
    return binary


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with tf.data's autotuning off; ``AUTOTUNE`` parallelism then means one call
    per core.

    An autotuned pipeline's iterator runs a tuning thread that sleeps in a timed wait, and
    destroying the iterator (which every ``fit`` call, and every epoch over numpy arrays, does)
    waits for that sleep to end: measured here, a stall of up to 4 seconds, one in two
    processes (README, "Speed from one process to the next"). In-memory batches need no tuning.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def binarize_dynamic(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Resample a Bernoulli draw of every batch's images (the first component, float32 in
    [0, 1]) on each pass over ``dataset``; reproducible for a given ``seed``."""
    # One seed per batch from Dataset.random, re-drawn each epoch, feeds a stateless sampler:
    # deterministic under parallel maps, yet different between epochs.
    batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def draw(element, batch_seed):
        images = element[0] if isinstance(element, tuple) else element
        noise = tf.random.stateless_uniform(
            tf.shape(images), seed=tf.stack([batch_seed, tf.constant(seed, tf.int64)])
        )
        binary = tf.cast(noise < images, tf.float32)
        return (binary, *element[1:]) if isinstance(element, tuple) else binary

    return tf.data.Dataset.zip((dataset, batch_seeds)).map(
        draw, num_parallel_calls=tf.data.AUTOTUNE
    )


@dataclass(frozen=True)
class ArraySource:
    """A dataset whose images are in memory and fetched in batches by index.

    ``fetch`` maps ``(n,)`` int64 indices into the whole dataset to ``(n, *image_shape)`` uint8
    in ``[0, max_value]``; ``fetch_labels`` maps the same indices to labels (or is None);
    ``split_indices`` are the requested split's rows.
    """

    name: str
    size: int
    image_shape: tuple[int, ...]
    max_value: int
    fetch: Callable[[np.ndarray], np.ndarray]
    split_indices: np.ndarray
    fetch_labels: Callable[[np.ndarray], np.ndarray] | None = None


def static_binarized(source: ArraySource, seed: int) -> ArraySource:
    """``source`` with every image of the whole dataset binarised once (so an image gets the same
    draw whatever split or subset it is read through)."""
    if source.max_value == 1:
        return source
    binary = binarize_static(source.fetch(np.arange(source.size)), source.max_value, seed)
    return ArraySource(
        name=source.name,
        size=source.size,
        image_shape=source.image_shape,
        max_value=1,
        fetch=binary.__getitem__,
        split_indices=source.split_indices,
        fetch_labels=source.fetch_labels,
    )


@dataclass(frozen=True)
class Delivery:
    """How a split is delivered (the arguments of ``keras_ae.datasets.load`` that every dataset
    shares), checked when it is made: every route, in-memory arrays or streamed examples, takes
    its checks, its error messages and its ``num_examples`` subset from here."""

    as_dataset: bool = False
    batch_size: int = 64
    shuffle: bool = True
    seed: int = 0
    binarize: str | None = None
    with_labels: bool = False
    num_examples: int | None = None

    def __post_init__(self):
        if self.binarize not in BINARIZATIONS:
            raise ValueError(f"binarize must be one of {BINARIZATIONS}, got {self.binarize!r}.")
        if not isinstance(self.batch_size, int | np.integer) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}.")
        object.__setattr__(self, "batch_size", int(self.batch_size))
        if self.binarize == "dynamic" and not self.as_dataset:
            raise ValueError(
                "binarize='dynamic' draws new binary images every epoch, so it needs "
                "as_dataset=True; use binarize='static' for one fixed draw as numpy arrays."
            )

    def check_labels(self, name: str, has_labels: bool) -> None:
        """Refuses ``with_labels`` for a dataset without labels."""
        if self.with_labels and not has_labels:
            raise ValueError(f"{name} has no labels; call it with with_labels=False.")

    def choose(self, indices: np.ndarray) -> np.ndarray:
        """The ``num_examples`` subset of ``indices``: seeded, random, kept in ascending
        order; all of them when ``num_examples`` is None."""
        count = self.num_examples
        if count is None:
            return indices
        if not isinstance(count, int | np.integer) or not 0 < count <= len(indices):
            raise ValueError(
                f"num_examples must be an int in [1, {len(indices)}] (the split's size), "
                f"got {count!r}."
            )
        chosen = np.random.default_rng(self.seed).choice(len(indices), size=count, replace=False)
        return indices[np.sort(chosen)]

    def check_numpy_size(self, name: str, count: int, image_shape: tuple[int, ...]) -> None:
        """Refuses ``count`` images as one float32 numpy array above ``NUMPY_BYTES_LIMIT``,
        unless ``num_examples`` asked for them (``as_dataset=True`` is never refused)."""
        size = count * int(np.prod(image_shape)) * 4
        if not self.as_dataset and self.num_examples is None and size > NUMPY_BYTES_LIMIT:
            raise ValueError(
                f"{name} as one float32 numpy array would take {size / 1e9:.1f} GB. Pass "
                f"as_dataset=True for a tf.data.Dataset that converts batch by batch, or "
                f"num_examples=N for a random subset of N images."
            )


def deliver(source: ArraySource, delivery: Delivery):
    """The requested split of ``source`` as float32 numpy arrays or a batched ``tf.data``
    pipeline (see ``keras_ae.datasets.load``)."""
    delivery.check_labels(source.name, source.fetch_labels is not None)
    if delivery.binarize == "static":
        source = static_binarized(source, delivery.seed)
    indices = delivery.choose(source.split_indices)
    if delivery.as_dataset:
        return array_dataset(source, indices, delivery)
    delivery.check_numpy_size(source.name, len(indices), source.image_shape)
    images = to_float(source.fetch(indices), source.max_value)
    if delivery.with_labels:
        return images, source.fetch_labels(indices)
    return images


def to_float(images: np.ndarray, max_value: int) -> np.ndarray:
    """uint8 in ``[0, max_value]`` to float32 in [0, 1], in chunks to bound the temporaries."""
    result = np.empty(images.shape, dtype=np.float32)
    for start in range(0, len(images), 65536):
        chunk = images[start : start + 65536].astype(np.float32)
        if max_value != 1:
            chunk /= max_value
        result[start : start + 65536] = chunk
    return result


def array_dataset(source: ArraySource, indices: np.ndarray, delivery: Delivery) -> tf.data.Dataset:
    """Batches of ``source`` at ``indices``: shuffled indices are batched, then each batch is
    gathered from the uint8 array in one numpy call and converted to float32, so no float32
    copy of the whole dataset and no per-example Python step is ever made."""
    batches = tf.data.Dataset.from_tensor_slices(indices.astype(np.int64))
    if delivery.shuffle:
        batches = batches.shuffle(len(indices), seed=delivery.seed, reshuffle_each_iteration=True)
    batches = batches.batch(delivery.batch_size)
    image_shape = list(source.image_shape)

    if delivery.with_labels:
        label_example = source.fetch_labels(indices[:1])
        label_dtype = tf.as_dtype(label_example.dtype)
        label_shape = list(label_example.shape[1:])

        def gather(batch_indices):
            return source.fetch(batch_indices), source.fetch_labels(batch_indices)

        def convert(batch_indices):
            images, labels = tf.numpy_function(
                gather, [batch_indices], (tf.uint8, label_dtype), stateful=False
            )
            images = tf.ensure_shape(images, [None, *image_shape])
            labels = tf.ensure_shape(labels, [None, *label_shape])
            return tf.cast(images, tf.float32) / source.max_value, labels

    else:

        def convert(batch_indices):
            images = tf.numpy_function(source.fetch, [batch_indices], tf.uint8, stateful=False)
            images = tf.ensure_shape(images, [None, *image_shape])
            return tf.cast(images, tf.float32) / source.max_value

    dataset = batches.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    if delivery.binarize == "dynamic":
        dataset = binarize_dynamic(dataset, delivery.seed)
    return without_autotune(dataset.prefetch(tf.data.AUTOTUNE))
