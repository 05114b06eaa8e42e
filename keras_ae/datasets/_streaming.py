"""Delivery of image datasets read example by example, for sets too large to hold as arrays
(CelebA, TFDS image datasets): a seeded subset, shuffling, decoding, binarisation and batching,
as one numpy array or a ``tf.data`` pipeline (see ``keras_ae.datasets.load``)."""

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_ae.datasets._common import (
    binarize_dynamic,
    check_batch_size,
    check_binarize,
    check_numpy_size,
    choose_examples,
)


def deliver_stream(
    examples: tf.data.Dataset,
    *,
    name: str,
    count: int,
    image_shape: tuple[int, ...],
    to_image: Callable[[tf.Tensor], tf.Tensor],
    shuffle_buffer: int,
    as_dataset: bool,
    batch_size: int,
    shuffle: bool,
    seed: int,
    binarize: str | None,
    with_labels: bool,
    num_examples: int | None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray] | tf.data.Dataset:
    """``examples`` as float32 images ``(n, *image_shape)`` in [0, 1] (and labels).

    ``examples`` yields ``(key, item)`` or, with labels, ``(key, item, label)`` in a fixed order:
    ``to_image`` maps an item (encoded bytes, a path, raw pixels) to one image, and ``key``
    (int64) seeds that image's static binarisation, so an image is binarised alike in every
    split and subset it appears in. ``count`` is the number of examples, ``shuffle_buffer`` how
    many items shuffling may hold (all of them when they are small).
    """
    check_binarize(binarize)
    batch_size = check_batch_size(batch_size)
    if binarize == "dynamic" and not as_dataset:
        raise ValueError(
            "binarize='dynamic' draws new binary images every epoch, so it needs "
            "as_dataset=True; use binarize='static' for one fixed draw as numpy arrays."
        )
    if num_examples is not None:
        keep = np.zeros(count, dtype=bool)
        keep[choose_examples(np.arange(count), num_examples, seed)] = True
        examples = (
            examples.enumerate()
            .filter(lambda position, element: tf.gather(keep, position))
            .map(lambda position, element: element)
        )
        count = num_examples
    if as_dataset and shuffle:
        # Items are shuffled before decoding: encoded images or paths are far smaller than
        # pixels, so the buffer can hold a whole ordered set such as dSprites.
        examples = examples.shuffle(
            max(1, min(count, shuffle_buffer)), seed=seed, reshuffle_each_iteration=True
        )
    if not as_dataset:
        check_numpy_size(name, count, image_shape, num_examples is not None)

    def prepare(key, item, *label):
        image = tf.ensure_shape(to_image(item), image_shape)
        if binarize == "static":
            noise = tf.random.stateless_uniform(
                image_shape, seed=tf.stack([key, tf.constant(seed, tf.int64)])
            )
            image = tf.cast(noise < image, tf.float32)
        return (image, *label) if with_labels else image

    batches = examples.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
    if binarize == "dynamic":
        batches = binarize_dynamic(batches, seed)
    batches = batches.prefetch(tf.data.AUTOTUNE)
    if as_dataset:
        return batches
    return collect(batches, name, count, image_shape, batch_size, with_labels)


def collect(
    batches: tf.data.Dataset,
    name: str,
    count: int,
    image_shape: tuple[int, ...],
    batch_size: int,
    with_labels: bool,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ``count`` images of ``batches`` (and their labels) as numpy arrays."""
    images = np.empty((count, *image_shape), dtype=np.float32)
    labels = []
    progbar = keras.utils.Progbar(count, unit_name="image") if count > 20 * batch_size else None
    filled = 0
    for batch in batches.as_numpy_iterator():
        batch_images = batch[0] if with_labels else batch
        if filled + len(batch_images) > count:
            raise ValueError(f"{name} delivered more images than the {count} expected.")
        images[filled : filled + len(batch_images)] = batch_images
        if with_labels:
            labels.append(batch[1])
        filled += len(batch_images)
        if progbar is not None:
            progbar.update(filled)
    if filled != count:
        raise ValueError(f"{name} delivered {filled} images where {count} were expected.")
    if with_labels:
        return images, np.concatenate(labels)
    return images
