"""The model zoo: load a preset by name, ``hf://`` handle or directory (or a model from a
``.keras`` file); save and publish one."""

import os
from pathlib import Path

from keras_ae.models.base import Autoencoder
from keras_ae.zoo import hub, keras_file, preset_directory, resolver
from keras_ae.zoo.catalogue import list_models
from keras_ae.zoo.errors import (
    ChecksumError,
    IncompatibleVersionError,
    MissingFileError,
    PresetError,
    UnknownPresetError,
    UnregisteredClassError,
    UnvouchedRevisionError,
)
from keras_ae.zoo.hub import (
    HubError,
    NotCachedError,
    UnknownRepositoryError,
    UnknownRevisionError,
    publish,
)
from keras_ae.zoo.preset_directory import save_preset
from keras_ae.zoo.preset_info import PresetInfo

__all__ = [
    "ChecksumError",
    "HubError",
    "IncompatibleVersionError",
    "MissingFileError",
    "NotCachedError",
    "PresetError",
    "PresetInfo",
    "UnknownPresetError",
    "UnknownRepositoryError",
    "UnknownRevisionError",
    "UnregisteredClassError",
    "UnvouchedRevisionError",
    "list_models",
    "load",
    "open_preset",
    "resolve",
    "publish",
    "save_preset",
]


def resolve(name_or_uri: str | os.PathLike, revision: str | None = None) -> tuple[Path, str, bool]:
    """Finds a preset's files: ``(local directory, its name for messages, downloaded?)``.

    A downloaded copy lives in the Hugging Face cache (a bad file there may be discarded); see
    ``load`` for the order in which ``name_or_uri`` is tried, and ``resolver.py``.
    """
    found = resolver.resolve(name_or_uri, revision)
    return found.directory, found.source, found.downloaded


def load(
    name_or_uri: str | os.PathLike,
    compile: bool = True,
    revision: str | None = None,
) -> Autoencoder:
    """Loads a preset, checked, and compiled ready for ``fit`` unless ``compile=False``.

    ``name_or_uri`` is tried as, in order:

    1. a preset directory;
    2. ``"hf://org/repo[@revision]"``, fetched with ``huggingface_hub.snapshot_download``
       (cached; honours ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME``, ``HF_HUB_CACHE``);
    3. a registered name (see ``list_models``): its folder in a keras-ae checkout, else its
       Hub repository at the revision this keras_ae pins, every file checked against the
       sha256 the package records (``ChecksumError``); another ``revision`` is refused
       (``UnvouchedRevisionError``): load ``"hf://org/repo@revision"`` to take it on its own
       checksums;
    4. a ``.keras`` file written by ``model.save("m.keras")``: checked as a preset is (there is
       no checksum to verify), and compiled with the optimizer it was saved with and that
       optimizer's state, so training resumes where it stopped.

    ``metadata.json`` is read once; nothing is written (but the Hugging Face cache). The weights
    must match the sha256 in ``metadata.json``; the config is deserialised with
    ``safe_mode=True`` into keras_ae's registered classes only; the model is compiled with the
    optimizer the preset records (``Adam()`` when it records none). ``revision`` picks a branch,
    tag or commit on the Hub.

    The model's ``preset`` attribute (a ``PresetInfo``) holds what the preset records beside
    its weights: ``model.preset.metrics``, ``.recipe``, ``.card`` (the model card's Markdown),
    ``.pictures`` and the whole ``.metadata`` (``None`` for a ``.keras`` file).
    """
    return open_preset(name_or_uri, compile, revision)[0]


def open_preset(
    name_or_uri: str | os.PathLike,
    compile: bool = True,
    revision: str | None = None,
    allow_patterns: tuple[str, ...] = resolver.FILES_TO_DOWNLOAD,
) -> tuple[Autoencoder, dict, Path]:
    """``load``, resolving the preset once and reading its ``metadata.json`` once: the model,
    its metadata and its local directory (which holds the model card and pictures; a download
    fetches them with ``allow_patterns=resolver.CARD_AND_PICTURES``); for a ``.keras`` file, the
    model, ``{}`` and the file's path."""
    text = os.fspath(name_or_uri)
    if not hub.is_handle(text) and keras_file.is_keras_file(text):
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to Hub presets, but {text!r} is a .keras file; "
                "drop revision."
            )
        return keras_file.load_keras_file(text, compile), {}, Path(text).expanduser()
    found = resolver.resolve(name_or_uri, revision, allow_patterns=allow_patterns)
    model = preset_directory.load_directory(
        found.directory, compile=compile, source=found.source, discard_bad_weights=found.downloaded
    )
    return model, dict(model.preset.metadata), found.directory
