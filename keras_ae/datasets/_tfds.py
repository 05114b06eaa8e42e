"""TensorFlow Datasets behind ``keras_ae.datasets.load``: ``open_builder`` finds TFDS data that is
ready to read, prepares it only when that needs no network, and says which command fixes it when
it is missing.

keras-ae never lets TFDS download. An official builder (``mnist``, ``dsprites``, ``celeb_a``...)
is used when its data is prepared in the TFDS data directory (``tfds_data_dir``, else
``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``), or when the files of its manual download are
in ``manual_dir`` (TFDS then reads them instead of their URLs). keras-ae's own builders
(``keras_ae.datasets.tfds_builders``) register here with ``offline_builder``: they prepare without
network, so opening one prepares it.
"""

import os
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from keras_ae.datasets._common import DatasetNotFoundError

#: keras-ae's own builders by name, registered by ``offline_builder``.
OFFLINE_BUILDERS: dict[str, type] = {}
#: Official TFDS datasets whose uint8 images hold 0 and 1 rather than 0 to 255 (keras-ae's own
#: builders declare their ``MAX_VALUE``).
OFFICIAL_MAX_VALUES = {"dsprites": 1, "binarized_mnist": 1}


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


def offline_builder(builder_class: type) -> type:
    """Class decorator registering one of keras-ae's TFDS builders: one that prepares without
    network, so ``open_builder`` prepares it when it is not. The class may declare ``MAX_VALUE``
    (the pixel value that means 1.0; 255 when absent) and ``check_offline(data_dir)``, which
    raises before anything is written when what it prepares from is missing or wrong."""
    OFFLINE_BUILDERS[builder_class.name] = builder_class
    return builder_class


def max_value(builder) -> int:
    """The uint8 pixel value that means 1.0 in ``builder``'s images: 1 for binary datasets,
    else 255."""
    own = OFFLINE_BUILDERS.get(builder.name)
    if own is not None:
        return getattr(own, "MAX_VALUE", 255)
    return OFFICIAL_MAX_VALUES.get(builder.name, 255)


def manual_files(builder) -> list[str]:
    """The names of the files TFDS would download for ``builder`` (its manual download)."""
    return sorted(info.filename for info in (builder.url_infos or {}).values() if info.filename)


def missing_manual_files(builder, manual_dir: str | os.PathLike) -> list[str]:
    """The files of ``builder``'s manual download that ``manual_dir`` lacks."""
    return [name for name in manual_files(builder) if not (Path(manual_dir) / name).is_file()]


def open_builder(
    name: str,
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
    *,
    required: bool = True,
    remedy: str = "",
):
    """TFDS's builder of ``name`` (a config and version may follow: ``"keras_ae_dsprites/small"``)
    with its data ready to read, in the TFDS data directory ``data_dir``:

    1. prepared there: returned as it is;
    2. one of keras-ae's own builders (``OFFLINE_BUILDERS``): prepared now, offline, once its
       ``check_offline`` passes;
    3. every file of its manual download in ``manual_dir``: prepared now from them;
    4. else ``DatasetNotFoundError`` with the command that prepares it, then ``remedy`` (the
       caller's other ways to the data); or None when not ``required`` and no ``manual_dir`` was
       given.

    An unknown ``name`` raises ``ValueError``.
    """
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(
            f"TFDS has no dataset {name!r} (keras-ae's own: {', '.join(OFFLINE_BUILDERS)}). "
            f"{str(error).splitlines()[0]}"
        ) from None
    if is_prepared(builder):
        return builder
    own = OFFLINE_BUILDERS.get(builder.name)
    if own is not None and isinstance(builder, own):
        check_offline = getattr(builder, "check_offline", None)
        if check_offline is not None:
            check_offline(data_dir)
        builder.download_and_prepare()
        return builder
    if manual_dir is None and not required:
        return None
    files = manual_files(builder)
    missing = missing_manual_files(builder, manual_dir) if manual_dir is not None else files
    if manual_dir is not None and files and not missing:
        config = tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir))
        builder.download_and_prepare(download_config=config)
        return builder
    where = f"TFDS's {name} is not prepared in {data_dir_shown(data_dir)}"
    if manual_dir is not None:
        where += f", and manual_dir {manual_dir} lacks {missing or 'the files of its download'}"
    offline = (
        f"; or offline, with the files of its manual download ({', '.join(files)}) in a "
        f"directory DIR: `{prepare_command(name, data_dir, 'DIR')}`"
        if files
        else ""
    )
    raise DatasetNotFoundError(
        f"{where}; keras-ae never lets TFDS download. Prepare it on a machine with network: "
        f"`{prepare_command(name, data_dir)}`{offline}; or pass tfds_data_dir= where it is "
        f"prepared.{' ' + remedy if remedy else ''}"
    )


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
