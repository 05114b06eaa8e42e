"""TensorFlow Datasets: keras-ae's own builders, prepared for real into a temporary data
directory, and the official builders' route, tested with TFDS's ``tfds.testing.mock_data``.

For an official dataset, ``_as_if_prepared`` writes the metadata that preparing it leaves
(``dataset_info.json``, ``features.json``); ``mock_data`` then serves random records for it.
"""

import inspect
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_ae import datasets
from keras_ae.datasets import _tfds, celeba, dsprites, shapes3d, tfds_builders, tfds_images

SMALL_INDICES = np.arange(0, dsprites.NUM_IMAGES, tfds_builders.SMALL_STRIDE)


def _as_if_prepared(data_dir, name: str, split_sizes: dict[str, int]) -> None:
    """The metadata that preparing ``name`` into ``data_dir`` leaves, without its records."""
    builder = tfds.builder(name, data_dir=data_dir)
    splits = [
        tfds.core.SplitInfo(name=split, shard_lengths=[size], num_bytes=0)
        for split, size in split_sizes.items()
    ]
    builder.info.set_splits(tfds.core.SplitDict(splits))
    builder.data_path.mkdir(parents=True)
    builder.info.write_to_directory(builder.data_path)


def _offline(monkeypatch, *load_data_owners):
    """Keras' downloads fail, as on a machine without network."""

    def offline():
        raise Exception("URL fetch failure: no network")

    for owner in load_data_owners:
        monkeypatch.setattr(owner, "load_data", offline)


# --- keras-ae's builders -----------------------------------------------------------------


def test_builders_list_their_features_without_preparing():
    info = tfds.builder("keras_ae_dsprites").info
    factors = {name: info.features[name] for name in dsprites.FACTOR_NAMES}
    assert [feature.num_classes for feature in factors.values()] == list(dsprites.FACTOR_SIZES)
    assert all(isinstance(feature, tfds.features.ClassLabel) for feature in factors.values())
    assert factors["shape"].names == ["square", "ellipse", "heart"]
    assert info.features["image"].shape == (64, 64, 1)
    assert info.supervised_keys == ("image", dsprites.FACTOR_NAMES)
    assert [config.name for config in tfds.builder("keras_ae_dsprites").BUILDER_CONFIGS] == [
        "full",
        "small",
    ]
    mnist_5k = tfds.builder("keras_ae_mnist_5k").info
    assert mnist_5k.features["label"].num_classes == 10
    assert mnist_5k.features["image"].shape == (28, 28, 1)


def test_keras_ae_dsprites_prepares_once_and_matches_the_generator(tmp_path, monkeypatch):
    examples = tfds.load("keras_ae_dsprites/small", split="train", data_dir=tmp_path)
    examples = tfds.as_numpy(examples.batch(2048).get_single_element())
    factors = dsprites.index_to_factors(SMALL_INDICES)
    np.testing.assert_array_equal(examples["index"], SMALL_INDICES)
    np.testing.assert_array_equal(examples["image"][..., 0], dsprites.render(factors))
    labels = np.stack([examples[name] for name in dsprites.FACTOR_NAMES], axis=1)
    np.testing.assert_array_equal(labels, factors)
    # Prepared once: reading again draws nothing.
    monkeypatch.setattr(dsprites, "render", None)
    images, classes = tfds.as_numpy(
        tfds.load(
            "keras_ae_dsprites/small",
            split="train[:10]",
            data_dir=tmp_path,
            as_supervised=True,
            batch_size=-1,
        )
    )
    np.testing.assert_array_equal(images, examples["image"][:10])
    np.testing.assert_array_equal(np.stack(classes, axis=1), factors[:10])
    # keras_ae.datasets.load reads the same through "tfds:", as float32 in {0, 1}.
    x, y = datasets.load("tfds:keras_ae_dsprites/small", tfds_data_dir=tmp_path, with_labels=True)
    assert x.shape == (len(SMALL_INDICES), 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, examples["image"].astype(np.float32))
    np.testing.assert_array_equal(y, factors)


def test_keras_ae_mnist_5k_matches_load(tmp_path):
    for split in ("train", "test"):
        images, labels = tfds.as_numpy(
            tfds.load(
                "keras_ae_mnist_5k",
                split=split,
                data_dir=tmp_path,
                as_supervised=True,
                batch_size=-1,
            )
        )
        x, y = datasets.load("mnist_5k", split, with_labels=True)
        np.testing.assert_array_equal(images, np.round(x * 255).astype(np.uint8))
        np.testing.assert_array_equal(labels, y)
    splits = tfds.builder("keras_ae_mnist_5k", data_dir=tmp_path).info.splits
    assert splits["train"].num_examples == 4000 and splits["test"].num_examples == 1000


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KERAS_AE_TEST_FULL_DSPRITES") != "1",
    reason="preparing all 737,280 images takes minutes: set KERAS_AE_TEST_FULL_DSPRITES=1",
)
def test_full_keras_ae_dsprites_is_the_generated_set(tmp_path):
    generated = dsprites.DSprites(cache_dir=tmp_path / "cache", verbose=False)
    examples = tfds.load("keras_ae_dsprites", split="train", data_dir=tmp_path, batch_size=8192)
    start = 0
    for batch in tfds.as_numpy(examples):
        stop = start + len(batch["index"])
        np.testing.assert_array_equal(batch["index"], np.arange(start, stop))
        np.testing.assert_array_equal(batch["image"][..., 0], generated.images_at(batch["index"]))
        start = stop
    assert start == dsprites.NUM_IMAGES


class _Tiles(tfds.core.GeneratorBasedBuilder):
    """A builder keras-ae does not know by name: four binary 2x2 images."""

    name = "keras_ae_test_tiles"
    VERSION = tfds.core.Version("1.0.0")
    pkg_dir_path = tfds.core.Path(__file__).parent  # tests/ is no package TFDS could find
    MAX_VALUE = 1
    refuse = False

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(2, 2, 1))}),
            disable_shuffling=True,
        )

    def check_offline(self, data_dir):
        if self.refuse:
            raise datasets.DatasetNotFoundError(f"no tiles for {data_dir}")

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for number in range(4):
            image = np.zeros((2, 2, 1), np.uint8)
            image.flat[number] = 1
            yield number, {"image": image}


def test_keras_ae_builders_register_themselves_and_declare_their_pixels(tmp_path, monkeypatch):
    assert set(_tfds.OFFLINE_BUILDERS) == {
        "keras_ae_dsprites",
        "keras_ae_mnist",
        "keras_ae_mnist_5k",
    }
    # The generic "tfds:NAME" loader knows none of them by name.
    assert "tfds_builders" not in inspect.getsource(tfds_images)
    assert "keras_ae_" not in inspect.getsource(tfds_images).split('"""', 2)[2]
    max_values = {
        name: _tfds.max_value(tfds.builder(name))
        for name in ("keras_ae_dsprites", "keras_ae_mnist_5k", "dsprites", "mnist")
    }
    assert max_values == {
        "keras_ae_dsprites": 1,
        "keras_ae_mnist_5k": 255,
        "dsprites": 1,
        "mnist": 255,
    }
    # A registered builder is prepared by "tfds:NAME" (after its check) and scaled by its
    # MAX_VALUE; an unregistered one is not prepared.
    with pytest.raises(datasets.DatasetNotFoundError, match="keras_ae_test_tiles is not prepared"):
        datasets.load("tfds:keras_ae_test_tiles", tfds_data_dir=tmp_path)
    monkeypatch.setitem(_tfds.OFFLINE_BUILDERS, _Tiles.name, _Tiles)
    monkeypatch.setattr(_Tiles, "refuse", True)
    with pytest.raises(datasets.DatasetNotFoundError, match=f"no tiles for {tmp_path}"):
        datasets.load("tfds:keras_ae_test_tiles", tfds_data_dir=tmp_path)
    assert not (tmp_path / _Tiles.name).exists()
    monkeypatch.setattr(_Tiles, "refuse", False)
    tiles = datasets.load("tfds:keras_ae_test_tiles", tfds_data_dir=tmp_path)
    np.testing.assert_array_equal(tiles.reshape(4, 4), np.eye(4, dtype=np.float32))


def test_one_opener_gives_one_family_of_messages(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_AE_CELEBA_DIR", raising=False)
    monkeypatch.setenv("KERAS_AE_CACHE", str(tmp_path / "empty_cache"))
    for name, load in [
        ("cifar10", lambda: datasets.load("tfds:cifar10", tfds_data_dir=tmp_path)),
        ("shapes3d", lambda: datasets.load("shapes3d", tfds_data_dir=tmp_path)),
        ("celeb_a", lambda: datasets.load("celeba", tfds_data_dir=tmp_path)),
    ]:
        with pytest.raises(datasets.DatasetNotFoundError) as error:
            load()
        assert str(error.value).startswith(
            f"TFDS's {name} is not prepared in {tmp_path}; keras-ae never lets TFDS download. "
            f"Prepare it on a machine with network: `{_tfds.prepare_command(name, tmp_path)}`; "
            "or offline, with the files of its manual download ("
        )
        assert _tfds.prepare_command(name, tmp_path, "DIR") in str(error.value)
        assert _tfds.open_builder(name, tmp_path, required=False) is None
    with pytest.raises(
        ValueError, match=r"TFDS has no dataset 'nope' \(keras-ae's own: .*keras_ae_mnist"
    ):
        _tfds.open_builder("nope")


# --- the official builders, through tfds.testing.mock_data --------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_prepared_official_data_is_read_through_tfds(tmp_path, monkeypatch, name):
    _as_if_prepared(tmp_path, name, {"train": 6, "test": 4})
    _offline(monkeypatch, getattr(keras.datasets, name))
    monkeypatch.delenv("KERAS_AE_FASHION_MNIST_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=5, data_dir=tmp_path):
        x, y = datasets.load(name, "test", with_labels=True, tfds_data_dir=tmp_path)
        images, labels = tfds.as_numpy(
            tfds.load(name, split="test", as_supervised=True, batch_size=-1, data_dir=tmp_path)
        )
        everything = datasets.load(name, "all", tfds_data_dir=tmp_path)
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    # mock_data serves the same 5 examples for every split.
    assert everything.shape == (10, 28, 28, 1)


def test_without_any_mnist_the_error_names_every_place_and_the_one_fix(tmp_path, monkeypatch):
    _offline(monkeypatch, keras.datasets.mnist)
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("mnist", tfds_data_dir=tmp_path)
    message = str(error.value)
    assert "mnist.npz" in message and "keras_ae_mnist" in message
    assert f"keras-ae prepare mnist --tfds-data-dir {tmp_path}" in message
    assert 'name="mnist_5k"' in message


def test_celeba_through_tfds_celeb_a(tmp_path):
    _as_if_prepared(tmp_path, "celeb_a", {"train": 3, "validation": 1, "test": 1})
    with tfds.testing.mock_data(num_examples=3, data_dir=tmp_path):
        faces = datasets.load("celeba", "all", source="tfds", tfds_data_dir=tmp_path)
        encoded = tfds.load(
            "celeb_a",
            split="test",
            data_dir=tmp_path,
            decoders={"image": tfds.decode.SkipDecoding()},
        )
        expected = np.stack([celeba.decode(example["image"]).numpy() for example in encoded])
        test = datasets.load("celeba", "test", tfds_data_dir=tmp_path)
        subset = datasets.load("celeba", "all", tfds_data_dir=tmp_path, num_examples=2)
        batches = datasets.load("celeba", tfds_data_dir=tmp_path, as_dataset=True, batch_size=2)
        sizes = [len(batch) for batch in batches]
    # mock_data serves the same 3 examples for any split, "train+validation+test" included.
    assert faces.shape == (3, 64, 64, 3) and faces.dtype == np.float32
    np.testing.assert_allclose(test, expected, atol=1e-6)
    np.testing.assert_array_equal(faces, test)
    assert subset.shape == (2, 64, 64, 3) and sizes == [2, 1]


def test_celeba_manual_download_is_prepared_offline_and_checked_first(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "img_align_celeba.zip").write_bytes(b"")
    with pytest.raises(datasets.DatasetNotFoundError, match="lacks .*list_attr_celeba.txt"):
        datasets.load("celeba", source="tfds", tfds_data_dir=tmp_path, manual_dir=manual)
    for name in _tfds.manual_files(tfds.builder("celeb_a")):
        (manual / name).write_bytes(b"")
    with tfds.testing.mock_data(num_examples=2):
        faces = datasets.load("celeba", "test", tfds_data_dir=tmp_path, manual_dir=manual)
    assert faces.shape == (2, 64, 64, 3)


def test_celeba_without_folder_or_tfds_names_both(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_AE_CELEBA_DIR", raising=False)
    monkeypatch.setenv("KERAS_AE_CACHE", str(tmp_path / "empty_cache"))
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("celeba", tfds_data_dir=tmp_path)
    message = str(error.value)
    assert "data_dir=" in message and "identity_CelebA.txt" in message
    assert f"tfds.builder('celeb_a', data_dir='{tmp_path}')" in message
    assert "DownloadConfig(manual_dir='DIR')" in message


def _official_dsprites_examples(count: int):
    """``mock_data``'s ``as_dataset_fn``: the first ``count`` images of dSprites in TFDS's
    layout, in a shuffled order (as TFDS writes them)."""
    order = np.random.default_rng(0).permutation(count)
    factors = dsprites.index_to_factors(order)

    def as_dataset(self, *args, **kwargs):
        columns = {key: factors[:, i] for i, key in enumerate(dsprites.TFDS_LABELS)}
        images = dsprites.render(factors)[..., None]
        return tf.data.Dataset.from_tensor_slices({"image": images, **columns})

    return as_dataset


def test_official_dsprites_from_tfds_is_put_back_in_index_order(tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_official_dsprites_examples(2048)):
        builder = tfds.builder("dsprites", data_dir=tmp_path)
        packed = dsprites.read_tfds(builder, expected_count=2048, verbose=False)
    expected = dsprites.render(dsprites.index_to_factors(np.arange(2048)))
    np.testing.assert_array_equal(dsprites.unpack(packed), expected)


def test_prepared_official_dsprites_is_preferred_and_checked(tmp_path):
    _as_if_prepared(tmp_path, "dsprites", {"train": 5})
    with tfds.testing.mock_data(num_examples=5, data_dir=tmp_path):
        with pytest.raises(datasets.CorruptFileError, match=r"dsprites in .* (holds|same factor)"):
            dsprites.DSprites(cache_dir=tmp_path / "cache", tfds_data_dir=tmp_path, verbose=False)
    # Nothing was generated in its place.
    assert not (tmp_path / "cache").exists()


def test_shapes3d_through_tfds(tmp_path):
    _as_if_prepared(tmp_path, "shapes3d", {"train": 4})
    with tfds.testing.mock_data(num_examples=4, data_dir=tmp_path):
        x, y = datasets.load("shapes3d", with_labels=True, tfds_data_dir=tmp_path)
        examples = tfds.as_numpy(tfds.load("shapes3d", split="train", batch_size=-1))
    assert x.shape == (4, 64, 64, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, examples["image"] / 255.0, rtol=1e-6)
    keys = [f"label_{factor}" for factor in shapes3d.FACTOR_NAMES]
    np.testing.assert_array_equal(y, np.stack([examples[key] for key in keys], axis=1))


def test_shapes3d_missing_names_the_file_and_command(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.load("shapes3d", tfds_data_dir=tmp_path)
    assert "3dshapes.h5" in str(error.value)
    assert f"tfds.builder('shapes3d', data_dir='{tmp_path}')" in str(error.value)
    with pytest.raises(ValueError, match="one split"):
        datasets.load("shapes3d", "test")


# --- any TFDS image dataset -----------------------------------------------------------------


def test_tfds_names_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="TFDS has no dataset 'no_such_set'"):
        datasets.load("tfds:no_such_set")
    command = f"tfds.builder('cifar10', data_dir='{tmp_path}').download_and_prepare()"
    with pytest.raises(datasets.DatasetNotFoundError, match=re.escape(command)):
        datasets.load("tfds:cifar10", tfds_data_dir=tmp_path)
    with pytest.raises(TypeError, match="unexpected options"):
        datasets.load("tfds:mnist", data_dir=tmp_path)
    _as_if_prepared(tmp_path, "tf_flowers", {"train": 2})
    with tfds.testing.mock_data(num_examples=2, data_dir=tmp_path):
        with pytest.raises(ValueError, match="vary in size"):
            datasets.load("tfds:tf_flowers", tfds_data_dir=tmp_path)
    _as_if_prepared(tmp_path, "celeb_a", {"train": 2})
    with tfds.testing.mock_data(num_examples=2, data_dir=tmp_path):
        with pytest.raises(ValueError, match="no supervised target"):
            datasets.load("tfds:celeb_a", tfds_data_dir=tmp_path, with_labels=True)


def test_tfds_pipeline_shuffles_binarises_and_batches(tmp_path):
    _as_if_prepared(tmp_path, "mnist", {"train": 20, "test": 20})
    with tfds.testing.mock_data(num_examples=20, data_dir=tmp_path):
        grey = datasets.load("tfds:mnist", "test", tfds_data_dir=tmp_path)
        batches = datasets.load(
            "tfds:mnist", "test", tfds_data_dir=tmp_path, as_dataset=True, batch_size=8
        )
        epochs = [np.concatenate([batch.numpy() for batch in batches]) for _ in range(2)]
        static = datasets.load("tfds:mnist", "test", tfds_data_dir=tmp_path, binarize="static")
    assert [len(epoch) for epoch in epochs] == [20, 20]
    assert not np.array_equal(epochs[0], epochs[1])
    assert sorted(image.tobytes() for image in epochs[0]) == sorted(
        image.tobytes() for image in grey
    )
    assert set(np.unique(static)) == {0.0, 1.0} and abs(static.mean() - grey.mean()) < 0.05


def test_large_splits_stream_and_small_ones_are_read_once(tmp_path, monkeypatch):
    _as_if_prepared(tmp_path, "mnist", {"train": 12, "test": 12})
    with tfds.testing.mock_data(num_examples=12, data_dir=tmp_path):
        held = datasets.load("tfds:mnist", "test", tfds_data_dir=tmp_path, binarize="static")
        # Read once: a second load (a training run's next chunk) reads no records.
        monkeypatch.setattr(tfds_images, "_examples", None)
        again = datasets.load("tfds:mnist", "test", tfds_data_dir=tmp_path, binarize="static")
        monkeypatch.undo()
        monkeypatch.setattr(tfds_images, "IN_MEMORY_BYTES", -1)
        streamed = datasets.load("tfds:mnist", "test", tfds_data_dir=tmp_path, binarize="static")
        batches = datasets.load(
            "tfds:mnist", "test", tfds_data_dir=tmp_path, as_dataset=True, batch_size=5
        )
        sizes = [len(batch) for batch in batches]
    np.testing.assert_array_equal(again, held)
    # Streamed, the same images come in the same order, binarised alike.
    np.testing.assert_array_equal(streamed, held)
    assert sizes == [5, 5, 2]
