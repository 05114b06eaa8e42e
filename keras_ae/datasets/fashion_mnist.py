"""Fashion-MNIST (Xiao et al. 2017) from its idx files, TFDS's ``fashion_mnist`` or
``keras.datasets``.

In this order: the idx files in ``data_dir``, else ``$KERAS_AE_FASHION_MNIST_DIR``; TFDS's
fashion_mnist when it is prepared in ``tfds_data_dir`` (default: TFDS's data directory); the idx
files in ``/usr/share/datasets/fashion-mnist`` (where Debian's ``dataset-fashion-mnist`` package
puts them); Keras' cache or download. Images are ``(28, 28, 1)`` grey levels; labels are int64
classes 0-9.
"""

import gzip
import os
from pathlib import Path

import keras
import numpy as np

from keras_ae.datasets import _tfds
from keras_ae.datasets._common import (
    ArraySource,
    CorruptFileError,
    DatasetNotFoundError,
    check_split,
    fetch_with_keras,
)
from keras_ae.datasets.mnist import _split_source, tfds_arrays

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENVIRONMENT_VARIABLE = "KERAS_AE_FASHION_MNIST_DIR"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An idx file of unsigned bytes (gzipped or not) as a uint8 array of the shape its header
    gives, e.g. ``(60000, 28, 28)`` for images and ``(60000,)`` for labels."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise CorruptFileError(f"{path} is a damaged gzip file ({error}).") from error
    expected = "an idx file: 2 zero bytes, type byte 0x08 (unsigned byte), a rank byte, sizes"
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != _IDX_UBYTE or raw[3] == 0:
        raise CorruptFileError(f"{path} does not start like {expected} (got {raw[:4]!r}).")
    rank = raw[3]
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise CorruptFileError(f"{path} ends inside its header; expected {expected}.")
    shape = tuple(int(size) for size in np.frombuffer(raw[4:header_size], dtype=">u4"))
    if len(raw) - header_size != int(np.prod(shape)):
        raise CorruptFileError(
            f"{path} holds {len(raw) - header_size} data bytes but its header announces shape "
            f"{shape} ({int(np.prod(shape))} bytes)."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def read_directory(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, int]:
    """Train then test images ``(70000, 28, 28, 1)`` uint8, labels ``(70000,)`` int64, and the
    number of train images, from the four idx files in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFoundError(f"Fashion-MNIST directory {directory} does not exist.")
    paths = {key: _find(directory, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise DatasetNotFoundError(
            f"{directory} lacks the Fashion-MNIST idx files {missing} (each may end in .gz)."
        )
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise CorruptFileError(
                f"{directory}: {part} images have shape {images.shape} and labels "
                f"{labels.shape}; expected (n, 28, 28) and (n,)."
            )
    images = np.concatenate([arrays["train_images"], arrays["test_images"]])[..., None]
    labels = np.concatenate([arrays["train_labels"], arrays["test_labels"]]).astype(np.int64)
    return images, labels, len(arrays["train_images"])


def _keras_fashion_mnist(tfds_data_dir) -> tuple[np.ndarray, np.ndarray, int]:
    (x_train, y_train), (x_test, y_test) = fetch_with_keras(
        keras.datasets.fashion_mnist.load_data,
        "Fashion-MNIST",
        f"Put its four idx files in a directory and pass data_dir= or set ${ENVIRONMENT_VARIABLE}"
        f"; or install Debian's dataset-fashion-mnist package (files in {DEBIAN_DIR}); or "
        "prepare TFDS's fashion_mnist on a machine with network: "
        f"`{_tfds.prepare_command('fashion_mnist', tfds_data_dir)}`.",
    )
    images = np.concatenate([x_train, x_test])[..., None].astype(np.uint8)
    labels = np.concatenate([y_train, y_test]).astype(np.int64)
    return images, labels, len(x_train)


def source(
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    tfds_data_dir: str | os.PathLike | None = None,
) -> ArraySource:
    """Fashion-MNIST (60,000 train, 10,000 test). An explicit directory (argument or
    environment variable) must hold the idx files; otherwise TFDS's fashion_mnist is read when
    it is prepared, else Debian's directory when it exists, else Keras' cache or download."""
    check_split(split)
    if data_dir is None:
        data_dir = os.environ.get(ENVIRONMENT_VARIABLE) or None
    builder = (
        None if data_dir else _tfds.open_builder("fashion_mnist", tfds_data_dir, required=False)
    )
    if data_dir is not None:
        images, labels, num_train = read_directory(data_dir)
    elif builder is not None:
        images, labels, num_train = tfds_arrays(builder)
    elif DEBIAN_DIR.is_dir():
        images, labels, num_train = read_directory(DEBIAN_DIR)
    else:
        images, labels, num_train = _keras_fashion_mnist(tfds_data_dir)
    return _split_source("fashion_mnist", images, labels, num_train, split)
