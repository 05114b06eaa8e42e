"""CelebA (Liu et al. 2015): aligned faces, centre-cropped to 148x148 and resized to 64x64x3
float32 in [0, 1] (the preprocessing of many VAE papers).

Two sources:

* a folder: ``img_align_celeba/`` with the JPEGs (the official ``img_align_celeba.zip``
  unpacked; Kaggle's doubly nested ``img_align_celeba/img_align_celeba/`` works too), looked for
  in ``data_dir``, else ``$KERAS_AE_CELEBA_DIR``, else ``<cache_dir()>/celeba``. Splits come from
  ``list_eval_partition.txt`` (or Kaggle's ``.csv``) beside it, else from the official file
  numbering (000001-162770 train, -182637 validation, -202599 test);
* TFDS's ``celeb_a``: read when it is prepared in ``tfds_data_dir`` (default: TFDS's data
  directory), or prepared first from its manual download, the five files TFDS would fetch
  (``img_align_celeba.zip``, ``list_eval_partition.txt``, ``list_attr_celeba.txt``,
  ``list_landmarks_align_celeba.txt``, ``identity_CelebA.txt``) in ``manual_dir``. keras-ae never
  lets TFDS download them.

``source="auto"`` takes an explicit folder (``data_dir`` or the environment variable), else
prepared TFDS data, else the default folder, else a manual download in ``manual_dir``.
"""

import csv
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_ae.datasets import _tfds, tfds_images
from keras_ae.datasets._common import DatasetNotFoundError, Delivery, cache_dir
from keras_ae.datasets._streaming import deliver_stream

CROP_SIZE = 148
IMAGE_SIZE = 64
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
ENVIRONMENT_VARIABLE = "KERAS_AE_CELEBA_DIR"
SPLITS = ("train", "validation", "test", "all")
PARTITION_CODES = {"train": 0, "validation": 1, "test": 2}
# Last file number of the official train and validation partitions.
OFFICIAL_TRAIN_END, OFFICIAL_VALIDATION_END = 162_770, 182_637
TFDS_NAME = "celeb_a"
TFDS_SPLITS = {
    "train": "train",
    "validation": "validation",
    "test": "test",
    "all": "train+validation+test",
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def crop_and_resize(image: tf.Tensor) -> tf.Tensor:
    """A ``(height, width, 3)`` uint8 face, at least 148 pixels each way, to ``(64, 64, 3)``
    float32 in [0, 1]: its central 148x148 square, resized with antialiasing."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    tf.debugging.assert_greater_equal(
        tf.minimum(height, width),
        CROP_SIZE,
        message=f"CelebA images must be at least {CROP_SIZE}x{CROP_SIZE} pixels (aligned "
        "CelebA images are 178 wide, 218 high)",
    )
    top, left = (height - CROP_SIZE) // 2, (width - CROP_SIZE) // 2
    square = image[top : top + CROP_SIZE, left : left + CROP_SIZE]
    resized = tf.image.resize(
        tf.cast(square, tf.float32) / 255.0, [IMAGE_SIZE, IMAGE_SIZE], antialias=True
    )
    return tf.ensure_shape(tf.clip_by_value(resized, 0.0, 1.0), IMAGE_SHAPE)


def decode(encoded: tf.Tensor) -> tf.Tensor:
    """An encoded JPEG or PNG to a ``(64, 64, 3)`` float32 face in [0, 1]."""
    return crop_and_resize(tf.io.decode_image(encoded, channels=3, expand_animations=False))


def find_image_folder(data_dir: str | os.PathLike) -> Path:
    """The folder holding the aligned images: ``data_dir/img_align_celeba`` (or Kaggle's nested
    one inside it), or ``data_dir`` itself when the images are directly in it."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetNotFoundError(f"CelebA directory {data_dir} does not exist.")
    for candidate in (
        data_dir / "img_align_celeba" / "img_align_celeba",
        data_dir / "img_align_celeba",
        data_dir,
    ):
        if candidate.is_dir() and any(_image_names(candidate)):
            return candidate
    raise DatasetNotFoundError(
        f"No CelebA images in {data_dir}: expected JPEG files in {data_dir / 'img_align_celeba'}"
        " (the official img_align_celeba.zip unpacked there)."
    )


def _image_names(folder: Path) -> list[str]:
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)
    )


def read_partition(folder: Path) -> dict[str, int] | None:
    """``{file name: 0 train | 1 validation | 2 test}`` from the partition list next to (or in)
    the image folder, or None when there is none."""
    for directory in (folder.parent, folder.parent.parent, folder):
        text_path = directory / "list_eval_partition.txt"
        csv_path = directory / "list_eval_partition.csv"
        if text_path.is_file():
            rows = [line.split() for line in text_path.read_text().splitlines() if line.strip()]
            return {name: int(code) for name, code in rows}
        if csv_path.is_file():
            with csv_path.open(newline="") as file:
                return {row["image_id"]: int(row["partition"]) for row in csv.DictReader(file)}
    return None


def _official_partition(name: str) -> int | None:
    stem = Path(name).stem
    if not stem.isdigit():
        return None
    number = int(stem)
    return 0 if number <= OFFICIAL_TRAIN_END else 1 if number <= OFFICIAL_VALIDATION_END else 2


def folder_files(data_dir: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Paths of the split's images (sorted) and their indices in the sorted list of all."""
    folder = find_image_folder(data_dir)
    names = _image_names(folder)
    paths = np.array([str(folder / name) for name in names])
    if split == "all":
        return paths, np.arange(len(names), dtype=np.int64)
    partition = read_partition(folder)
    codes = [partition.get(name) if partition else _official_partition(name) for name in names]
    if any(code is None for code in codes):
        raise DatasetNotFoundError(
            f"Cannot tell CelebA's {split} split in {folder}: no list_eval_partition.txt or "
            "list_eval_partition.csv lists every image, and the file names are not the "
            "official numbers. Use split='all', or add the partition list."
        )
    chosen = np.nonzero(np.array(codes) == PARTITION_CODES[split])[0]
    if len(chosen) == 0:
        raise DatasetNotFoundError(f"CelebA's {split} split in {folder} has no images.")
    return paths[chosen], chosen.astype(np.int64)


def _resolve_source(source: str, data_dir, manual_dir, tfds_data_dir):
    """("folder", its path) or ("tfds", a builder ready to read)."""
    if source not in ("auto", "folder", "tfds"):
        raise ValueError(f"source must be 'auto', 'folder' or 'tfds', got {source!r}.")
    explicit = data_dir is not None or bool(os.environ.get(ENVIRONMENT_VARIABLE))
    folder = Path(data_dir or os.environ.get(ENVIRONMENT_VARIABLE) or cache_dir() / "celeba")
    if source == "folder" or (source == "auto" and explicit):
        return "folder", folder
    builder = _tfds.open_builder(TFDS_NAME, tfds_data_dir, required=False)
    if builder is None and source == "auto" and folder.is_dir():
        return "folder", folder
    if builder is None:
        remedy = (
            f"Nor is CelebA in a folder at {folder}: unpack img_align_celeba.zip (and "
            "list_eval_partition.txt) into a directory and pass data_dir= or set "
            f"${ENVIRONMENT_VARIABLE}."
        )
        if manual_dir is None:
            remedy += f" Or pass manual_dir=DIR: keras-ae prepares {TFDS_NAME} from its files."
        builder = _tfds.open_builder(TFDS_NAME, tfds_data_dir, manual_dir, remedy=remedy)
    return "tfds", builder


def load(
    split: str = "train",
    delivery: Delivery | None = None,
    *,
    source: str = "auto",
    data_dir: str | os.PathLike | None = None,
    tfds_data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
):
    """CelebA faces ``(n, 64, 64, 3)`` float32 in [0, 1], delivered as ``delivery`` says (see
    ``keras_ae.datasets.load``).

    ``split`` may also be "validation". Static binarisation draws each image's bits from
    ``(seed, its index)``: among all images from a folder, so an image is binarised the same in
    every split; within the split read from TFDS.
    """
    delivery = delivery or Delivery()
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} for celeba, got {split!r}.")
    delivery.check_labels("celeba", has_labels=False)
    kind, found = _resolve_source(source, data_dir, manual_dir, tfds_data_dir)
    if kind == "tfds":
        return tfds_images.load_builder(
            found,
            TFDS_SPLITS[split],
            delivery,
            name="celeba",
            decode=decode,
            image_shape=IMAGE_SHAPE,
        )
    paths, indices = folder_files(found, split)
    paths, indices = tf.constant(paths), tf.constant(indices)

    def example_at(position):
        return tf.gather(indices, position), tf.gather(paths, position)

    return deliver_stream(
        example_at,
        name="celeba",
        count=int(paths.shape[0]),
        image_shape=IMAGE_SHAPE,
        to_image=lambda path: decode(tf.io.read_file(path)),
        delivery=delivery,
    )
