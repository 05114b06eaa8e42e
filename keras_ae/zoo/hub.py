"""Presets on the Hugging Face Hub: ``hf://org/repo[@revision]`` handles, download, publish.

Downloads go through ``huggingface_hub.snapshot_download``, so they share the Hugging Face
cache and honour ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME`` and ``HF_HUB_CACHE``.
``huggingface_hub`` reads those variables once, when it is imported; this module reads them at
each call and passes them on, so that setting them after ``import keras_ae`` takes effect.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import huggingface_hub
from huggingface_hub import constants as hf_constants
from huggingface_hub import errors as hf_errors

from keras_ae.version import __version__
from keras_ae.zoo import preset_directory
from keras_ae.zoo.errors import PresetError
from keras_ae.zoo.preset_files import FILES_TO_DOWNLOAD

SCHEME = "hf://"
LIBRARY_NAME = "keras-ae"
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


class HubError(PresetError):
    """A preset could not be fetched from, or published to, the Hugging Face Hub."""


class NotCachedError(HubError):
    """The Hub cannot be used (offline mode or no connection) and the preset is not cached."""


class UnknownRepositoryError(HubError):
    """The Hub has no such repository, or it is private or gated and not accessible."""


class UnknownRevisionError(HubError):
    """The repository exists but has no such branch, tag or commit."""


@dataclass(frozen=True)
class HubHandle:
    """A repository on the Hub and, optionally, a revision (branch, tag or commit hash)."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{SCHEME}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


def is_handle(name_or_uri: str) -> bool:
    """Whether ``name_or_uri`` is an ``hf://`` handle."""
    return isinstance(name_or_uri, str) and name_or_uri.startswith(SCHEME)


def parse_handle(uri: str, revision: str | None = None) -> HubHandle:
    """Parses ``hf://org/repo[@revision]``; ``revision``, if given, must agree with the URI's."""
    if not is_handle(uri):
        raise ValueError(f"{uri!r} is not a Hub handle; expected 'hf://org/repo[@revision]'.")
    repo_id, at_sign, uri_revision = uri[len(SCHEME) :].partition("@")
    if not _REPO_ID.fullmatch(repo_id):
        raise ValueError(
            f"{uri!r}: {repo_id!r} is not a Hub repository id; expected "
            "'hf://org/repo[@revision]', e.g. 'hf://keras-ae/beta_vae_dsprites@main'."
        )
    if at_sign and not uri_revision:
        raise ValueError(f"{uri!r} ends with '@' but names no revision; drop the '@'.")
    if revision is not None and uri_revision and revision != uri_revision:
        raise ValueError(
            f"{uri!r} names revision {uri_revision!r} but revision={revision!r} was passed; "
            "give the revision once."
        )
    return HubHandle(repo_id, revision or uri_revision or None)


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def endpoint() -> str:
    """The Hub URL: ``HF_ENDPOINT`` as set now, else huggingface_hub's default."""
    return (os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT).rstrip("/")


def is_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (or was when huggingface_hub was imported)."""
    return _is_true(os.environ.get("HF_HUB_OFFLINE")) or hf_constants.is_offline_mode()


def cache_dir() -> Path:
    """The Hugging Face cache: ``HF_HUB_CACHE``, else ``$HF_HOME/hub``, as set now."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(hf_constants.HF_HUB_CACHE)


def _api() -> "huggingface_hub.HfApi":
    # Looked up on the module at call time, so a test can replace huggingface_hub.HfApi.
    return huggingface_hub.HfApi(
        endpoint=endpoint(), library_name=LIBRARY_NAME, library_version=__version__
    )


def download(handle: HubHandle, allow_patterns: list[str] | None = None) -> Path:
    """Downloads (or finds in the cache) the preset files of ``handle``: those ``load`` reads,
    or those matching ``allow_patterns``; returns the snapshot directory."""
    offline = is_offline()
    try:
        snapshot = huggingface_hub.snapshot_download(
            handle.repo_id,
            revision=handle.revision,
            cache_dir=cache_dir(),
            endpoint=endpoint(),
            library_name=LIBRARY_NAME,
            library_version=__version__,
            local_files_only=offline,
            allow_patterns=allow_patterns or list(FILES_TO_DOWNLOAD),
        )
    except (hf_errors.RevisionNotFoundError, hf_errors.RepositoryNotFoundError) as error:
        raise _not_found(handle) from error
    except hf_errors.LocalEntryNotFoundError as error:
        cause = error.__cause__
        if offline or isinstance(cause, hf_errors.OfflineModeIsEnabled):
            raise _not_cached(
                handle,
                error,
                "offline mode is on (HF_HUB_OFFLINE=1)",
                "Unset HF_HUB_OFFLINE and load it once with a connection to cache it",
            ) from error
        if isinstance(cause, hf_errors.HfHubHTTPError):
            raise _answered_with_error(handle, cause) from error
        raise _not_cached(
            handle,
            error,
            f"{endpoint()} cannot be reached ({cause})",
            "Check your connection (and HF_ENDPOINT, if you use a mirror), then retry",
        ) from error
    except hf_errors.HfHubHTTPError as error:
        raise _answered_with_error(handle, error) from error
    except (OSError, hf_errors.HTTPError) as error:
        # huggingface_hub downloads into a ``.incomplete`` file and moves it into place only
        # once whole, so an interrupted download leaves nothing that a later load trusts.
        raise HubError(
            f"Cannot load {handle}: the download from {endpoint()} was interrupted "
            f"({type(error).__name__}: {error}). Nothing incomplete was kept as a finished "
            "file; load again to resume it."
        ) from error
    return Path(snapshot)


def _not_cached(handle: HubHandle, error: Exception, reason: str, advice: str) -> NotCachedError:
    if isinstance(error, hf_errors.IncompleteSnapshotError):
        state = f"the cached copy in {cache_dir()} is incomplete"
    else:
        state = f"it is not in the Hugging Face cache ({cache_dir()})"
    return NotCachedError(
        f"Cannot load {handle}: {reason}, and {state}. {advice}; or load a preset directory by "
        "its path."
    )


def _answered_with_error(handle: HubHandle, error: hf_errors.HfHubHTTPError) -> HubError:
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status == 404 or isinstance(
        error, hf_errors.RevisionNotFoundError | hf_errors.RepositoryNotFoundError
    ):
        if isinstance(error, hf_errors.EntryNotFoundError) or "resolve" in str(error):
            return HubError(
                f"Cannot load {handle}: {endpoint()} lists the preset's files but answered 404 "
                f"for one of them ({error}). The repository is incomplete or being changed; "
                "retry later, or tell the preset's publisher."
            )
        return _not_found(handle)
    return HubError(
        f"Cannot load {handle}: {endpoint()} answered HTTP {status} ({error}). This is the "
        "server's fault, not the preset's; retry later. Nothing was cached from this attempt."
    )


def _not_found(handle: HubHandle) -> HubError:
    refs = None
    if handle.revision:
        try:
            refs = _api().list_repo_refs(handle.repo_id)
        except (hf_errors.HfHubHTTPError, OSError):
            refs = None
    if refs is not None:
        branches = ", ".join(ref.name for ref in refs.branches) or "none"
        tags = ", ".join(ref.name for ref in refs.tags) or "none"
        return UnknownRevisionError(
            f"Cannot load {handle}: {handle.repo_id} at {endpoint()} has no revision "
            f"{handle.revision!r}. Branches: {branches}; tags: {tags}. Use one of them, a "
            f"commit hash, or hf://{handle.repo_id} for the latest version."
        )
    return UnknownRepositoryError(
        f"Cannot load {handle}: {endpoint()} has no repository {handle.repo_id!r}"
        + (f" at revision {handle.revision!r}" if handle.revision else "")
        + ". Check the spelling; if it is private or gated, log in with `hf auth login` or set "
        "HF_TOKEN."
    )


def publish(
    directory: str | os.PathLike,
    uri: str,
    private: bool = False,
    commit_message: str | None = None,
    tag: str | None = None,
) -> str:
    """Uploads the preset in ``directory`` to ``hf://org/repo`` and returns the handle of the
    new commit, ``hf://org/repo@<commit>`` (``@<tag>`` when ``tag`` names the commit).

    The preset is validated first; the repository is created if needed (``private`` applies
    then); only the preset's own files are uploaded. Log in first (``hf auth login``) or set
    ``HF_TOKEN``. A Hub that cannot be reached, refuses the credentials, answers with an error
    or cuts the connection off ends in a ``HubError`` saying so.
    """
    files = preset_directory.validate(directory)
    handle = parse_handle(uri)
    if handle.revision:
        raise ValueError(
            f"publish uploads to the main branch; drop '@{handle.revision}' from {uri!r}. To "
            "pin this version, tag the returned commit with huggingface_hub.HfApi().create_tag."
        )
    if is_offline():
        raise HubError(
            f"Cannot publish to {handle}: offline mode is on (HF_HUB_OFFLINE=1). Unset it and "
            "retry."
        )
    api = _api()
    try:
        api.create_repo(handle.repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=handle.repo_id,
            repo_type="model",
            folder_path=str(directory),
            allow_patterns=files,
            commit_message=commit_message or f"Upload keras-ae preset {Path(directory).name}",
        )
        if tag:
            api.create_tag(handle.repo_id, tag=tag, revision=commit.oid, exist_ok=True)
    except hf_errors.HfHubHTTPError as error:
        raise _publish_answered_with_error(handle, error) from error
    except (OSError, hf_errors.HTTPError) as error:
        raise _publish_interrupted(handle, error) from error
    return f"{SCHEME}{handle.repo_id}@{tag or commit.oid}"


#: What a failed publish leaves: the Hub makes a commit whole or not at all.
_NO_COMMIT = (
    "The repository holds its previous files or the whole preset, never part of it (the Hub "
    "makes a commit whole or not at all)."
)


def _publish_answered_with_error(handle: HubHandle, error: hf_errors.HfHubHTTPError) -> HubError:
    status = getattr(getattr(error, "response", None), "status_code", None)
    detail = getattr(error, "server_message", None) or str(error).splitlines()[0]
    if status in (401, 403):
        return HubError(
            f"Cannot publish to {handle}: {endpoint()} refused the credentials (HTTP {status}: "
            f"{detail}). Log in with `hf auth login`, or set HF_TOKEN, with a token that may "
            f"write to {handle.repo_id.split('/')[0]!r}, then publish again. {_NO_COMMIT}"
        )
    if status is not None and status >= 500:
        return HubError(
            f"Cannot publish to {handle}: {endpoint()} answered HTTP {status} ({detail}). This "
            f"is the server's fault, not the preset's; publish again later. {_NO_COMMIT}"
        )
    return HubError(
        f"Cannot publish to {handle}: {endpoint()} answered HTTP {status} ({detail}). {_NO_COMMIT}"
    )


def _publish_interrupted(handle: HubHandle, error: Exception) -> HubError:
    reason = f"{type(error).__name__}: {error}"
    if isinstance(error, ConnectionRefusedError) or "connect" in type(error).__name__.lower():
        return HubError(
            f"Cannot publish to {handle}: {endpoint()} cannot be reached ({reason}). Check your "
            f"connection (and HF_ENDPOINT, if you use a mirror), then publish again. {_NO_COMMIT}"
        )
    return HubError(
        f"Cannot publish to {handle}: the connection to {endpoint()} was cut off ({reason}). "
        f"Publish again to retry. {_NO_COMMIT}"
    )
