"""TensorFlow Datasets behind ``keras_ae.datasets.load``: find TFDS data that is ready to read,
prepare it only when that needs no network, and say which command fixes it when it is missing.

keras-ae never lets TFDS download. An official builder (``mnist``, ``dsprites``, ``celeb_a``...)
is used when its data is prepared in the TFDS data directory (``tfds_data_dir``, else
``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``), or when the files of its manual download are
in ``manual_dir`` (TFDS then reads them instead of their URLs).
"""

import os
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from keras_ae.datasets._common import DatasetNotFoundError


def data_dir_shown(data_dir: str | os.PathLike | None) -> str:
    """The TFDS data directory that ``data_dir`` stands for, for messages."""
    return os.fspath(data_dir) if data_dir is not None else tfds.core.constants.DATA_DIR


def prepare_command(
    name: str, data_dir: str | os.PathLike | None, manual_dir: str | None = None
) -> str:
    """A shell command that prepares TFDS's ``name`` into ``data_dir`` (from the files of its
    manual download in ``manual_dir``, when given)."""
    # A Python call, not `tfds build`: tensorflow-datasets 4.9.10's command line does not start
    # without apache-beam, which keras-ae does not install.
    config = (
        f"download_config=tfds.download.DownloadConfig(manual_dir='{manual_dir}')"
        if manual_dir
        else ""
    )
    return (
        'python -c "import tensorflow_datasets as tfds; '
        f"tfds.builder('{name}', data_dir='{data_dir_shown(data_dir)}')"
        f'.download_and_prepare({config})"'
    )


def is_prepared(builder) -> bool:
    """Whether ``builder``'s data is prepared in its data directory."""
    # Checked first because is_prepared() logs a warning for every directory without it.
    return (builder.data_path / "dataset_info.json").exists() and builder.is_prepared()


def prepared_builder(name: str, data_dir: str | os.PathLike | None):
    """TFDS's builder of ``name`` when its data is prepared in ``data_dir``, else None."""
    builder = tfds.builder(name, data_dir=data_dir)
    return builder if is_prepared(builder) else None


def manual_files(builder) -> list[str]:
    """The names of the files TFDS would download for ``builder`` (its manual download)."""
    return sorted(info.filename for info in (builder.url_infos or {}).values() if info.filename)


def missing_manual_files(builder, manual_dir: str | os.PathLike) -> list[str]:
    """The files of ``builder``'s manual download that ``manual_dir`` lacks."""
    return [name for name in manual_files(builder) if not (Path(manual_dir) / name).is_file()]


def ready_builder(
    name: str,
    data_dir: str | os.PathLike | None,
    manual_dir: str | os.PathLike | None = None,
):
    """TFDS's builder of ``name`` with its data ready to read: prepared in ``data_dir``, or
    prepared now from a complete manual download in ``manual_dir``. None when neither is there;
    raises ``DatasetNotFoundError`` naming the missing files when ``manual_dir`` is incomplete."""
    builder = prepared_builder(name, data_dir)
    if builder is not None or manual_dir is None:
        return builder
    builder = tfds.builder(name, data_dir=data_dir)
    missing = missing_manual_files(builder, manual_dir)
    if missing or not manual_files(builder):
        raise DatasetNotFoundError(
            f"TFDS's {name} is not prepared in {data_dir_shown(data_dir)}, and manual_dir "
            f"{manual_dir} lacks {missing or 'the files of its download'}; keras-ae never lets "
            "TFDS download. Put those files there, or run "
            f"`{prepare_command(name, data_dir)}` on a machine with network."
        )
    config = tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir))
    builder.download_and_prepare(download_config=config)
    return builder


def resolve_split(builder, split: str) -> str:
    """``split`` as TFDS reads it: "all" joins every split of the dataset."""
    if split == "all":
        return "+".join(builder.info.splits.keys()) or "train"
    return split


def read_arrays(builder, split: str, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """A whole split of a small TFDS image dataset in its file order: images
    ``(n, height, width, channels)`` uint8 and int64 labels ``(n,)``."""
    examples = builder.as_dataset(split=split, shuffle_files=False, batch_size=-1)
    examples = tfds.as_numpy(examples)
    return examples["image"].astype(np.uint8), examples[label_key].astype(np.int64)


def split_bytes(builder, split: str) -> int:
    """The approximate size on disk of a split (any split expression) of ``builder``."""
    splits = builder.info.splits
    size = sum(info.num_bytes for info in splits.values())
    count = sum(info.num_examples for info in splits.values())
    if size <= 0 or count <= 0:
        return 0
    return size * splits[split].num_examples // count
