"""Where a preset's files are: a directory, an ``hf://org/repo[@revision]`` handle, or a
registered name (its folder in a checkout, else its Hub repository at the revision the catalogue
pins, checked against the catalogue's sha256 of every file).

Resolving reads no preset file but the ones it checks against the catalogue, and writes nothing
outside the Hugging Face cache: a preset set aside by a killed ``save_preset`` is read where it
lies (``save_preset`` puts it back), not renamed.
"""

import dataclasses
import fnmatch
import os
from pathlib import Path

from keras_ae.checksums import sha256_of
from keras_ae.version import __version__
from keras_ae.zoo import catalogue, hub
from keras_ae.zoo.errors import ChecksumError, UnknownPresetError, UnvouchedRevisionError
from keras_ae.zoo.preset_directory import set_aside_copy
from keras_ae.zoo.preset_files import CARD_FILE, FILES_TO_DOWNLOAD
from keras_ae.zoo.trust import remove_cached_file

#: What ``keras-ae show`` downloads beside the files ``load`` reads: the card and its pictures.
CARD_AND_PICTURES = (*FILES_TO_DOWNLOAD, CARD_FILE, "*.png", "*.gif")


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A preset's local ``directory`` (for a Hub preset, a snapshot in the Hugging Face cache),
    its ``source`` (how errors name it) and whether it was ``downloaded`` (a bad file there may
    be discarded, so that the next load fetches it again)."""

    directory: Path
    source: str
    downloaded: bool


def resolve(
    name_or_uri: str | os.PathLike,
    revision: str | None = None,
    *,
    allow_patterns: tuple[str, ...] = FILES_TO_DOWNLOAD,
) -> Resolved:
    """Finds a preset's files; see ``keras_ae.load`` for the order in which ``name_or_uri`` is
    tried. ``allow_patterns``: the files a download fetches (``CARD_AND_PICTURES`` adds the
    card and pictures)."""
    text = os.fspath(name_or_uri)
    if hub.is_handle(text):
        handle = hub.parse_handle(text, revision)
        directory = hub.download(handle, list(allow_patterns))
        name = _registered_at(handle)
        if name is not None:
            verify_download(name, directory, allow_patterns)
        return Resolved(directory, str(handle), True)
    path = Path(text).expanduser()
    directory = path if path.is_dir() else set_aside_copy(path.absolute())
    if directory is not None:
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to Hub presets, but {text!r} is a local "
                "directory; drop revision."
            )
        return Resolved(directory, str(path), False)
    if text in catalogue.PRESETS:
        return _resolve_registered(text, revision, allow_patterns)
    if isinstance(name_or_uri, os.PathLike) or "/" in text or os.sep in text or text[:1] in ".~":
        raise UnknownPresetError(
            f"No preset directory at {path.absolute()}. Check the path, or pass a registered "
            "name (keras_ae.list_models()) or 'hf://org/repo'."
        )
    suggestions = catalogue.close_matches(text)
    hint = (
        f"Did you mean: {', '.join(repr(name) for name in suggestions)}?"
        if suggestions
        else f"Registered names: {', '.join(catalogue.PRESETS)}."
    )
    raise UnknownPresetError(
        f"Unknown preset {text!r}: it is not a registered name, a directory or an 'hf://org/repo' "
        f"handle. {hint} See keras_ae.list_models(include_unavailable=True)."
    )


def pinned_handle(name: str, revision: str | None = None) -> hub.HubHandle:
    """The Hub handle of registered preset ``name`` at the revision the catalogue pins;
    ``revision`` may only repeat it (``UnvouchedRevisionError`` otherwise)."""
    entry = catalogue.PRESETS[name]
    pinned = entry.get("revision")
    if not pinned:
        raise _not_released(name)
    if revision is not None and revision != pinned:
        raise UnvouchedRevisionError(
            f"{name!r}: keras_ae {__version__} vouches for hf://{entry['repo_id']}@{pinned} "
            f"only, not revision {revision!r}. Drop revision to load the pinned one; to load "
            f"{revision!r} anyway, checked only by the checksums in its own metadata.json, "
            f"pass its handle: keras_ae.load('hf://{entry['repo_id']}@{revision}')."
        )
    return hub.HubHandle(entry["repo_id"], pinned)


def download_registered(
    name: str, revision: str | None = None, allow_patterns: tuple[str, ...] = FILES_TO_DOWNLOAD
) -> Path:
    """Downloads registered preset ``name`` at its pinned revision into the Hugging Face cache
    (or finds it there), checked against the catalogue; returns the snapshot directory."""
    directory = hub.download(pinned_handle(name, revision), list(allow_patterns))
    verify_download(name, directory, allow_patterns)
    return directory


def verify_download(name: str, directory: Path, allow_patterns: tuple[str, ...]) -> None:
    """Raises ``ChecksumError`` unless ``directory`` holds exactly the files the catalogue lists
    for ``name`` (those matching ``allow_patterns``), each with its recorded sha256. A refused
    file is deleted from the cache, so that the next load downloads it again."""
    entry = catalogue.PRESETS[name]

    def wanted(file: str) -> bool:
        return any(fnmatch.fnmatch(file, pattern) for pattern in allow_patterns)

    expected = {file: digest for file, digest in entry["files"].items() if wanted(file)}
    # The snapshot may also hold what an earlier download with more patterns fetched (the card,
    # the pictures): those are checked when they are asked for.
    present = {path.name for path in directory.iterdir() if path.is_file() and wanted(path.name)}
    where = f"hf://{entry['repo_id']}@{entry['revision']}"
    unlisted = sorted(present - set(expected))
    if unlisted:
        raise ChecksumError(
            f"{name}: refused {where}: it holds {', '.join(unlisted)}, which keras_ae "
            f"{__version__}'s catalogue does not list for this preset. The repository was "
            "changed after this keras_ae was released; tell the preset's publisher."
        )
    for file, digest in expected.items():
        path = directory / file
        if not path.is_file():
            raise ChecksumError(
                f"{name}: refused {where}: it has no {file}, which keras_ae {__version__}'s "
                "catalogue lists. The repository was changed after this keras_ae was released."
            )
        actual = sha256_of(path)
        if actual != digest:
            remove_cached_file(path)
            raise ChecksumError(
                f"{name}: refused {file} from {where}: its sha256 is {actual}, but keras_ae "
                f"{__version__}'s catalogue records {digest}. The download was corrupted or the "
                "repository was changed; the cached copy was deleted. Load again to download it "
                "afresh; if this happens again, the repository is not the one this keras_ae "
                "vouches for: tell the preset's publisher."
            )


def _registered_at(handle: hub.HubHandle) -> str | None:
    """The registered name whose pinned revision ``handle`` names, if any."""
    for name, entry in catalogue.PRESETS.items():
        if entry["repo_id"] == handle.repo_id and entry.get("revision") == handle.revision:
            return name
    return None


def _resolve_registered(
    name: str, revision: str | None, allow_patterns: tuple[str, ...]
) -> Resolved:
    local = catalogue.local_directory(name)
    if local is not None and revision is None:
        return Resolved(local, name, False)
    handle = pinned_handle(name, revision)
    return Resolved(download_registered(name, revision, allow_patterns), f"{name} ({handle})", True)


def _not_released(name: str) -> UnknownPresetError:
    entry = catalogue.PRESETS[name]
    if entry.get("needs_data"):
        return UnknownPresetError(
            f"{name!r} is recipe only: the weights need the {entry['needs_data']} data, which "
            f"keras-ae cannot download, so none are shipped. With the data in place, train them: "
            f"{catalogue.train_command(name)}"
        )
    available = catalogue.list_models()
    return UnknownPresetError(
        f"{name!r} is a planned preset whose weights are not released yet (no pinned revision "
        f"of hf://{entry['repo_id']}). Available now: "
        f"{', '.join(available) if available else 'none yet'}."
    )
