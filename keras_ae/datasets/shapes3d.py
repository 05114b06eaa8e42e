"""3D Shapes (Burgess & Kim 2018) through TFDS's ``shapes3d``: 480,000 renders of a shape in a
room, ``(64, 64, 3)`` float32 in [0, 1], with six factors as labels ``(n, 6)`` int64.

TFDS's data is read when it is prepared in ``tfds_data_dir`` (default: TFDS's data directory);
otherwise it is prepared from ``3dshapes.h5`` in ``manual_dir`` (TFDS reads the file instead of
downloading it; h5py is needed for that). keras-ae never lets TFDS download. There is no test
split: "train" and "all" are the whole set.
"""

import os

from keras_ae.datasets import _tfds, tfds_images
from keras_ae.datasets._common import Delivery

TFDS_NAME = "shapes3d"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
IMAGE_SHAPE = (64, 64, 3)
MANUAL_FILE = "3dshapes.h5"
URL = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"


def load(
    split: str = "train",
    delivery: Delivery | None = None,
    *,
    tfds_data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
):
    """3D Shapes images (and factor classes) as ``keras_ae.datasets.load`` gives them."""
    if split not in ("train", "all"):
        raise ValueError(
            f"3D Shapes has one split of all 480,000 images: use 'train' or 'all', not {split!r}."
        )
    builder = _tfds.open_builder(
        TFDS_NAME,
        tfds_data_dir,
        manual_dir,
        remedy=f"3D Shapes is read only through TFDS: download {MANUAL_FILE} ({URL}) into a "
        "directory DIR and pass manual_dir=DIR, and keras-ae prepares it from there, offline "
        "(h5py needed).",
    )
    return tfds_images.load_builder(
        builder,
        "train",
        delivery or Delivery(),
        name=TFDS_NAME,
        label_keys=[f"label_{factor}" for factor in FACTOR_NAMES],
        max_value=255,
    )
