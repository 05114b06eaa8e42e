"""Delivery of image datasets decoded example by example, for sets too large to hold as pixel
arrays (CelebA, TFDS image datasets): a seeded subset, shuffling, decoding, binarisation and
batching, as one numpy array or a ``tf.data`` pipeline (see ``keras_ae.datasets.load``)."""

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_ae.datasets._common import Delivery, binarize_dynamic, without_autotune


def deliver_stream(
    source: tf.data.Dataset | Callable[[tf.Tensor], tuple],
    *,
    name: str,
    count: int,
    image_shape: tuple[int, ...],
    to_image: Callable[[tf.Tensor], tf.Tensor],
    shuffle_buffer: int = 10_000,
    delivery: Delivery,
) -> np.ndarray | tuple[np.ndarray, np.ndarray] | tf.data.Dataset:
    """``count`` examples as float32 images ``(n, *image_shape)`` in [0, 1] (and labels).

    ``source`` is either a dataset yielding the examples in a fixed order, shuffled through a
    buffer of ``shuffle_buffer`` of them, or, for examples held in memory, a function from an
    example's position (int64) to the example, and then all positions are shuffled. An example
    is ``(key, item)`` or, with labels, ``(key, item, label)``: ``to_image`` maps an item
    (encoded bytes, a path) to one image, and ``key`` (int64) seeds that image's static
    binarisation, so an image is binarised alike in every subset (``num_examples``) of the
    split, and in every split when ``key`` is its index among all images.
    """
    addressable = not isinstance(source, tf.data.Dataset)
    examples = tf.data.Dataset.range(count) if addressable else source.enumerate()
    if delivery.num_examples is not None:
        keep = np.zeros(count, dtype=bool)
        keep[delivery.choose(np.arange(count))] = True
        if addressable:
            examples = examples.filter(lambda position: tf.gather(keep, position))
        else:
            examples = examples.filter(lambda position, element: tf.gather(keep, position))
        count = int(keep.sum())
    if not addressable:
        examples = examples.map(lambda position, element: element)
    delivery.check_numpy_size(name, count, image_shape)
    if delivery.as_dataset and delivery.shuffle:
        # Positions shuffle cheaply, all of them; streamed examples through a bounded buffer.
        buffer = count if addressable else max(1, min(count, shuffle_buffer))
        examples = examples.shuffle(buffer, seed=delivery.seed, reshuffle_each_iteration=True)
    if addressable:
        examples = examples.map(source, num_parallel_calls=tf.data.AUTOTUNE)
    binarize, seed, with_labels = delivery.binarize, delivery.seed, delivery.with_labels

    def prepare(key, item, *label):
        image = tf.ensure_shape(to_image(item), image_shape)
        if binarize == "static":
            noise = tf.random.stateless_uniform(
                image_shape, seed=tf.stack([key, tf.constant(seed, tf.int64)])
            )
            image = tf.cast(noise < image, tf.float32)
        return (image, *label) if with_labels else image

    batches = examples.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    batches = batches.batch(delivery.batch_size)
    if binarize == "dynamic":
        batches = binarize_dynamic(batches, seed)
    batches = without_autotune(batches.prefetch(tf.data.AUTOTUNE))
    if delivery.as_dataset:
        return batches
    return collect(batches, name, count, image_shape, delivery.batch_size, with_labels)


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
