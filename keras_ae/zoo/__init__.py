"""The model zoo: load a preset by name, ``hf://`` handle or directory (or a model from a
``.keras`` file); save and publish one."""

import json
import os
from pathlib import Path

from keras_ae.models.base import Autoencoder
from keras_ae.zoo import hub, keras_file, preset_directory, registry
from keras_ae.zoo.errors import (
    ChecksumError,
    IncompatibleVersionError,
    MissingFileError,
    PresetError,
    UnknownPresetError,
    UnregisteredClassError,
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
from keras_ae.zoo.registry import list_models

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
    ``load`` for the order in which ``name_or_uri`` is tried.
    """
    text = os.fspath(name_or_uri)
    path = Path(text).expanduser()
    if not hub.is_handle(text):
        # A save_preset killed part-way may have set the old copy aside; it comes back.
        preset_directory.recover_interrupted_save(path.absolute())
    if path.is_dir():
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to Hub presets, but {text!r} is a local "
                "directory; drop revision."
            )
        return path, str(path), False
    if hub.is_handle(text):
        handle = hub.parse_handle(text, revision)
        return hub.download(handle), str(handle), True
    if text in registry.PRESETS:
        return _resolve_registered(text, revision)
    if isinstance(name_or_uri, os.PathLike) or "/" in text or os.sep in text or text[:1] in ".~":
        raise UnknownPresetError(
            f"No preset directory at {path.absolute()}. Check the path, or pass a registered "
            "name (keras_ae.list_models()) or 'hf://org/repo'."
        )
    suggestions = registry.close_matches(text)
    hint = (
        f"Did you mean: {', '.join(repr(name) for name in suggestions)}?"
        if suggestions
        else f"Registered names: {', '.join(registry.PRESETS)}."
    )
    raise UnknownPresetError(
        f"Unknown preset {text!r}: it is not a registered name, a directory or an 'hf://org/repo' "
        f"handle. {hint} See keras_ae.list_models(include_unavailable=True)."
    )


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
    3. a registered name (see ``list_models``): the copy bundled with keras_ae when there is
       one, else its Hub repository;
    4. a ``.keras`` file written by ``model.save("m.keras")``: checked as a preset is (there is
       no checksum to verify), and compiled with the optimizer it was saved with and that
       optimizer's state, so training resumes where it stopped.

    The weights must match the sha256 in ``metadata.json``; the config is deserialised with
    ``safe_mode=True`` into keras_ae's registered classes only; the model is compiled with the
    optimizer the preset records (``Adam()`` when it records none). ``revision`` picks a branch,
    tag or commit on the Hub.

    The model's ``preset`` attribute (a ``PresetInfo``) holds what the preset records beside
    its weights: ``model.preset.metrics``, ``.recipe``, ``.card`` (the model card's Markdown),
    ``.pictures`` and the whole ``.metadata`` (``None`` for a ``.keras`` file).
    """
    return open_preset(name_or_uri, compile, revision)[0]


def open_preset(
    name_or_uri: str | os.PathLike, compile: bool = True, revision: str | None = None
) -> tuple[Autoencoder, dict, Path]:
    """``load``, resolving the preset once: the model, its ``metadata.json`` and its local
    directory (which holds the model card and pictures); for a ``.keras`` file, the model, ``{}``
    and the file's path."""
    text = os.fspath(name_or_uri)
    if not hub.is_handle(text) and keras_file.is_keras_file(text):
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to Hub presets, but {text!r} is a .keras file; "
                "drop revision."
            )
        return keras_file.load_keras_file(text, compile), {}, Path(text).expanduser()
    directory, source, downloaded = resolve(name_or_uri, revision)
    model = preset_directory.load_directory(
        directory, compile=compile, source=source, discard_bad_weights=downloaded
    )
    metadata = json.loads((directory / preset_directory.METADATA_FILE).read_text(encoding="utf-8"))
    model.preset = PresetInfo(source, directory, metadata)
    return model, metadata, directory


def _resolve_registered(name: str, revision: str | None) -> tuple[Path, str, bool]:
    entry = registry.PRESETS[name]
    bundled = registry.bundled_directory(name)
    if bundled is not None and revision is None:
        return bundled, name, False
    if entry["published"]:
        handle = hub.parse_handle(entry["hf_handle"], revision)
        return hub.download(handle), str(handle), True
    if bundled is not None:
        raise UnknownPresetError(
            f"{name!r} is bundled with keras_ae but not published to {entry['hf_handle']}, so it "
            f"has no revision {revision!r}; drop revision to load the bundled copy."
        )
    if entry["needs_data"]:
        raise UnknownPresetError(
            f"{name!r} is recipe only: the weights need the {entry['needs_data']} data, which "
            f"keras-ae cannot download, so none are shipped. With the data in place, train them: "
            f"{registry.train_command(name)}"
        )
    available = registry.list_models()
    raise UnknownPresetError(
        f"{name!r} is a planned preset whose weights are not released yet (neither bundled nor "
        f"published to {entry['hf_handle']}). Available now: "
        f"{', '.join(available) if available else 'none yet'}."
    )
