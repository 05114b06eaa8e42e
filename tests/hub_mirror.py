"""The Hub for the tests. ``mirror``: an olah Hub mirror on 127.0.0.1 serving
``keras-ae-test/tiny``, two commits of a tiny preset (the first tagged ``v1``), and the README's
``org/repo`` (the first, tagged ``v1``); ``hub`` points huggingface_hub at it with an empty
cache (a test using it is skipped where olah or git is missing). ``fake_hub``:
``huggingface_hub.HfApi`` replaced by a recorder, for ``publish``, which olah cannot receive.
``tests/conftest.py`` loads this module as a plugin, so every test can use the fixtures."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import numpy as np
import pytest

import keras_ae

SHAPE = (4, 4, 1)
ORG = "keras-ae-test"
REPO_ID = f"{ORG}/tiny"
#: The repository the README's examples name.
README_REPO_ID = "org/repo"
SERVER_START_TIMEOUT = 60.0


@dataclass
class Mirror:
    url: str
    first_commit: str
    latest_commit: str
    x: np.ndarray
    first_codes: np.ndarray
    latest_codes: np.ndarray
    #: The preset folders of the two commits (the first has a picture, ``grid.png``).
    first_directory: Path
    latest_directory: Path
    #: The mirror's repositories: ``<mirrors>/models/<org>/<repo>`` (git), served as they change.
    mirrors: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def git(repository: Path, *args: str) -> str:
    identity = ["-c", "user.name=keras-ae tests", "-c", "user.email=tests@keras-ae.invalid"]
    command = ["git", *identity, "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args]
    result = subprocess.run(command, cwd=repository, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def commit_preset(repository: Path, preset: Path, message: str) -> str:
    for path in preset.iterdir():
        shutil.copyfile(path, repository / path.name)
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", message)
    return git(repository, "rev-parse", "HEAD")


def olah_config(root: Path, port: int) -> str:
    # The upstream Hub is pointed at a closed local port as well, so that even a bug in olah's
    # offline mode could not reach huggingface.co.
    return f"""\
[basic]
host = "127.0.0.1"
port = {port}
repos-path = "{root / "olah-cache"}"
mirrors-path = ["{root / "mirrors"}"]
mirror-scheme = "http"
mirror-netloc = "127.0.0.1:{port}"
mirror-lfs-netloc = "127.0.0.1:{port}"
hf-scheme = "http"
hf-netloc = "127.0.0.1:9"
hf-lfs-netloc = "127.0.0.1:9"

[accessibility]
offline = true
"""


def wait_until_serving(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"olah exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"olah did not answer {url} in {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.kill(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """An olah mirror serving ``keras-ae-test/tiny``: two commits of a tiny preset, the first
    tagged ``v1``."""
    pytest.importorskip("olah", reason="the Hub mirror tests need olah (pip install olah)")
    if shutil.which("git") is None:
        pytest.skip("the Hub mirror tests need git")
    root = tmp_path_factory.mktemp("hub")
    x = np.random.default_rng(0).random((8, *SHAPE)).astype("float32")
    models = [
        keras_ae.VAE(input_shape=SHAPE, latent_dim=2, hidden_units=(8,), seed=seed)
        for seed in (1, 2)
    ]
    repository = root / "mirrors" / "models" / ORG / "tiny"
    repository.mkdir(parents=True)
    git(repository, "init", "--quiet", "--initial-branch=main")
    picture = root / "grid.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    first_preset = keras_ae.save_preset(models[0], root / "v1", pictures={"grid.png": picture})
    first = commit_preset(repository, first_preset, "v1")
    git(repository, "tag", "v1")
    latest = commit_preset(repository, keras_ae.save_preset(models[1], root / "v2"), "v2")
    # The README's example handle, hf://org/repo@v1 (tests/test_readme.py): the first preset.
    example = root / "mirrors" / "models" / README_REPO_ID
    example.mkdir(parents=True)
    git(example, "init", "--quiet", "--initial-branch=main")
    commit_preset(example, root / "v1", "v1")
    git(example, "tag", "v1")

    port = free_port()
    config = root / "olah.toml"
    config.write_text(olah_config(root, port))
    log = root / "olah.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-c", "from olah.server import cli; cli()", "--config", str(config)]
            + ["--log-path", str(root / "logs")],
            cwd=root,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(server, f"{url}/api/models/{REPO_ID}/revision/main", log)
        yield Mirror(
            url,
            first,
            latest,
            x,
            models[0].encode(x),
            models[1].encode(x),
            root / "v1",
            root / "v2",
            root / "mirrors",
        )
    finally:
        stop(server)


@pytest.fixture
def hub(mirror, tmp_path, monkeypatch):
    """Points huggingface_hub at the mirror, online, with an empty cache under tmp_path."""
    monkeypatch.setenv("HF_ENDPOINT", mirror.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub read these when it was imported; keep the user's token and settings out.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.setattr(
        huggingface_hub.constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "stored_tokens")
    )
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return mirror


class RecordingHfApi:
    """Stands in for huggingface_hub.HfApi and records the calls publish makes."""

    calls: list = []

    def __init__(self, **kwargs):
        self.calls.append(("HfApi", kwargs))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return SimpleNamespace(oid="0123abcd")

    def create_tag(self, repo_id, **kwargs):
        self.calls.append(("create_tag", repo_id, kwargs))


@pytest.fixture
def fake_hub(monkeypatch):
    """``huggingface_hub.HfApi`` replaced by ``RecordingHfApi``, online; its list of calls."""
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    monkeypatch.setattr(RecordingHfApi, "calls", [])
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return RecordingHfApi.calls
