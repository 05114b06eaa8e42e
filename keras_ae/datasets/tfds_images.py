"""Any TFDS image dataset as keras-ae images: ``keras_ae.datasets.load("tfds:NAME")``.

``NAME`` is what ``tfds.builder`` takes, a config and version included
(``"tfds:keras_ae_dsprites/small"``, ``"tfds:mnist:3.0.1"``). Images come out float32 in [0, 1]:
uint8 pixels divided by 255, or by 1 for the datasets whose pixels are 0 and 1 (``dsprites``,
``binarized_mnist`` and keras-ae's builders that declare it, ``keras_ae_dsprites``;
``max_value`` says so for others). Labels are the
dataset's supervised target (``info.supervised_keys``), several classes stacked into ``(n, k)``.

Builders are opened by ``_tfds.open_builder``: keras-ae's own ones are prepared when they are not
(no network needed); any other dataset must already be prepared in the TFDS data directory:
keras-ae never lets TFDS download.
"""

import os
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_ae.datasets import _tfds
from keras_ae.datasets._common import Delivery, without_autotune
from keras_ae.datasets._streaming import deliver_stream

PREFIX = "tfds:"
# Splits up to this size on disk are read into memory once, encoded, and shuffled whole: a
# shuffle buffer filled from the records costs minutes for dSprites' 737,280 examples, reading
# them costs under a minute. Larger splits are streamed through a buffer of this many examples.
IN_MEMORY_BYTES = 1024**3
STREAM_SHUFFLE_BUFFER = 10_000
# How many splits stay in memory (a training run's and its evaluation's).
IN_MEMORY_SPLITS = 2
_IN_MEMORY: dict[tuple, tuple] = {}


def is_tfds_name(name) -> bool:
    """Whether ``name`` names a TFDS dataset (``"tfds:NAME"``)."""
    return isinstance(name, str) and name.startswith(PREFIX) and len(name) > len(PREFIX)


def _image_key(info, name: str) -> str:
    input_key = info.supervised_keys[0] if info.supervised_keys else None
    image_feature = tfds.features.Image
    images = [key for key, feature in info.features.items() if isinstance(feature, image_feature)]
    for key in (input_key, "image"):
        if key in images:
            return key
    if len(images) == 1:
        return images[0]
    raise ValueError(
        f"{name}: expected one image feature (tfds.features.Image), found {images or 'none'} "
        f"among {list(info.features)}."
    )


def label_keys_of(info, name: str) -> list[str]:
    """The feature keys of the dataset's supervised target, in order."""
    if not info.supervised_keys or len(info.supervised_keys) < 2:
        raise ValueError(
            f"{name} has no supervised target (info.supervised_keys), so no labels; "
            "call it with with_labels=False (in a recipe: evaluation.probes: false)."
        )
    return tf.nest.flatten(info.supervised_keys[1])


def load(
    name: str,
    split: str = "train",
    delivery: Delivery | None = None,
    *,
    tfds_data_dir: str | os.PathLike | None = None,
    max_value: int | None = None,
):
    """``"tfds:NAME"`` as keras-ae images, delivered as ``delivery`` says (see
    ``keras_ae.datasets.load``); ``split`` is any TFDS split ("train", "test[:10%]"...) or
    "all"."""
    tfds_name = name[len(PREFIX) :] if is_tfds_name(name) else name
    builder = _tfds.open_builder(tfds_name, tfds_data_dir)
    return load_builder(builder, split, delivery or Delivery(), name=name, max_value=max_value)


def load_builder(
    builder,
    split: str,
    delivery: Delivery,
    *,
    name: str,
    label_keys: list[str] | None = None,
    max_value: int | None = None,
    decode: Callable[[tf.Tensor], tf.Tensor] | None = None,
    image_shape: tuple[int, ...] | None = None,
):
    """The images (and labels) of a ready TFDS builder's split (see ``load``). ``label_keys``
    replaces the supervised target; ``decode`` (encoded image to float32 image of
    ``image_shape``) replaces decoding and scaling by ``max_value``."""
    info = builder.info
    image_key = _image_key(info, name)
    feature = info.features[image_key]
    if decode is None:
        image_shape = tuple(feature.shape)
        if None in image_shape:
            raise ValueError(
                f"{name}'s images vary in size (shape {image_shape}); keras-ae batches images of "
                "one size, so resize them into a TFDS dataset of fixed shape first."
            )
        if feature.np_dtype != np.uint8:
            raise ValueError(f"{name}: expected uint8 images, got {feature.np_dtype}.")
        scale = max_value or _tfds.max_value(builder)

        def decode(encoded):
            return tf.cast(feature.decode_example(encoded), tf.float32) / scale

    if delivery.with_labels and label_keys is None:
        label_keys = label_keys_of(info, name)
    label_keys = tuple(label_keys) if delivery.with_labels else ()
    for key in label_keys:
        if not np.issubdtype(info.features[key].np_dtype, np.integer):
            raise ValueError(f"{name}: expected integer classes as labels; {key!r} is not.")
    split = _tfds.resolve_split(builder, split)
    if _tfds.split_bytes(builder, split) <= IN_MEMORY_BYTES:
        arrays = _in_memory(builder, split, image_key, label_keys)
        source, count = _example_at(*arrays), int(arrays[0].shape[0])
    else:
        # Too large to hold: streamed in file order, shuffled through a bounded buffer.
        source = _examples(builder, split, image_key, label_keys)
        count = int(source.cardinality())
        if count < 0:
            raise ValueError(f"{name}: the size of split {split!r} is unknown.")
    return deliver_stream(
        source,
        name=name,
        count=count,
        image_shape=image_shape,
        to_image=decode,
        shuffle_buffer=STREAM_SHUFFLE_BUFFER,
        delivery=delivery,
    )


def _examples(builder, split: str, image_key: str, label_keys: tuple[str, ...]) -> tf.data.Dataset:
    """``(key, encoded image[, label])`` of a split in file order; ``key`` is the example's
    position in the split, which seeds its static binarisation."""
    # Positions, not TFDS ids (read_config add_tfds_id): the ids double the cost of reading.
    examples = builder.as_dataset(
        split=split, shuffle_files=False, decoders={image_key: tfds.decode.SkipDecoding()}
    )

    def select(key, example):
        if not label_keys:
            return key, example[image_key]
        labels = [tf.cast(example[label], tf.int64) for label in label_keys]
        return key, example[image_key], labels[0] if len(labels) == 1 else tf.stack(labels)

    return examples.enumerate().map(select, num_parallel_calls=tf.data.AUTOTUNE)


def _in_memory(builder, split: str, image_key: str, label_keys: tuple[str, ...]) -> tuple:
    """The split's keys, encoded images (and labels) as tensors, read once per process for the
    last few splits asked for (a training run asks again for every chunk)."""
    info_file = builder.data_path / "dataset_info.json"
    # The file's time tells a re-prepared dataset from the one read before.
    stamp = os.stat(os.fspath(info_file)).st_mtime_ns if info_file.exists() else None
    cache_key = (os.fspath(builder.data_path), stamp, split, image_key, label_keys)
    if stamp is not None and cache_key in _IN_MEMORY:
        return _IN_MEMORY[cache_key]
    batches = without_autotune(_examples(builder, split, image_key, label_keys).batch(4096))
    parts = list(batches.as_numpy_iterator())
    arrays = tuple(
        tf.constant(np.concatenate([part[column] for part in parts]))
        for column in range(2 + bool(label_keys))
    )
    if stamp is not None:
        while len(_IN_MEMORY) >= IN_MEMORY_SPLITS:
            _IN_MEMORY.pop(next(iter(_IN_MEMORY)))
        _IN_MEMORY[cache_key] = arrays
    return arrays


def _example_at(*arrays: tf.Tensor) -> Callable[[tf.Tensor], tuple]:
    """A function from a position to the entries of ``arrays`` there."""

    def example_at(position):
        return tuple(tf.gather(array, position) for array in arrays)

    return example_at
