"""TensorFlow Datasets: keras-ae's own builders, prepared for real into a temporary data
directory."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_ae import datasets
from keras_ae.datasets import dsprites, tfds_builders

SMALL_INDICES = np.arange(0, dsprites.NUM_IMAGES, tfds_builders.SMALL_STRIDE)


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
