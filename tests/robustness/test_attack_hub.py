"""The Hub misbehaving: a mirror that stops mid-download, answers 404 or 500, a revision that
does not exist, offline with a partial cache, two processes filling one empty cache at once.
Each ends in a ``HubError`` saying what to do, and the cache is never left in a state that a
later load trusts wrongly: the next healthy load gives the right weights. ``publish`` meets the
same faults (a Hub that cannot be reached, answers 500, refuses the credentials or cuts the
connection off) and ends in a ``HubError`` too, with the preset directory unchanged."""

import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from _cases import refused, survives
from hub_mirror import REPO_ID, free_port

import keras_ae
from keras_ae.zoo import HubError, NotCachedError, preset_directory

WEIGHTS = "model.weights.h5"
REFUSED_CREDENTIALS = b'{"error": "Invalid credentials in Authorization header"}'


class FaultyProxy:
    """An HTTP proxy in front of the mirror that injects one fault at a time (``mode``)."""

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlparse(upstream)
        self.mode = "healthy"
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                proxy.forward(self, with_body=False)

            def do_GET(self):
                proxy.forward(self, with_body=True)

            def do_POST(self):
                proxy.receive(self)

            do_PUT = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, request) -> None:
        """An upload (olah receives none): answered by the fault alone."""
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if self.mode == "cut off" and request.path == "/api/repos/create":
            # The repository is created; the upload that follows is cut off.
            repo = json.loads(body)
            url = f"{self.url}/{repo['organization']}/{repo['name']}"
            self.answer(request, 200, json.dumps({"url": url}).encode())
        elif self.mode == "cut off":
            request.close_connection = True
            request.connection.shutdown(2)
        elif self.mode == "refuses credentials":
            self.answer(request, 401, REFUSED_CREDENTIALS)
        else:
            self.answer(request, 500, b"{}")

    @staticmethod
    def answer(request, status: int, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def forward(self, request, with_body: bool) -> None:
        is_weights = request.path.endswith("/" + WEIGHTS)
        if self.mode == "refuses credentials":
            self.answer(request, 401, REFUSED_CREDENTIALS)
            return
        if self.mode == "cut off":
            request.close_connection = True
            request.connection.shutdown(2)
            return
        if self.mode == "error 500" or (self.mode == "weights 404" and is_weights):
            status = 500 if self.mode == "error 500" else 404
            request.send_response(status)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        connection.request(request.command, request.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        request.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                request.send_header(key, value)
        length = int(response.getheader("Content-Length") or len(body))
        request.send_header("Content-Length", str(length))
        request.end_headers()
        if not with_body:
            return
        if self.mode == "stops mid-download" and is_weights and response.status == 200:
            # Half the promised bytes, then the connection drops.
            request.wfile.write(body[: len(body) // 2])
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(2)
            return
        request.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(hub, monkeypatch):
    faulty = FaultyProxy(hub.url)
    monkeypatch.setenv("HF_ENDPOINT", faulty.url)
    # No retries with back-off: a fault is reported at once.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DOWNLOAD_TIMEOUT", 5)
    yield faulty
    faulty.close()


def _next_healthy_load_is_right(proxy, hub) -> None:
    proxy.mode = "healthy"
    model = keras_ae.load(f"hf://{REPO_ID}@v1")
    np.testing.assert_array_equal(model.encode(hub.x), hub.first_codes)


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ("error 500", "500|answered|cannot be reached"),
        ("weights 404", "404|model.weights.h5|no repository|answered"),
        ("stops mid-download", "interrupted|incomplete|download"),
    ],
)
def test_a_faulty_mirror_gives_a_hub_error_and_the_next_load_is_right(proxy, hub, fault, match):
    proxy.mode = fault
    refused(
        "hub", f"the mirror {fault}", lambda: keras_ae.load(f"hf://{REPO_ID}@v1"), HubError, match
    )
    survives(
        "hub",
        f"a healthy load after the mirror {fault}",
        lambda: _next_healthy_load_is_right(proxy, hub),
    )


def test_offline_after_an_interrupted_download_says_the_cache_is_incomplete(
    proxy, hub, monkeypatch
):
    proxy.mode = "stops mid-download"
    with pytest.raises(HubError):
        keras_ae.load(f"hf://{REPO_ID}@v1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    refused(
        "hub",
        "offline with a partial cache",
        lambda: keras_ae.load(f"hf://{REPO_ID}@v1"),
        NotCachedError,
        "HF_HUB_OFFLINE",
    )


def test_a_revision_that_does_not_exist_is_named(proxy):
    refused(
        "hub",
        "a revision that does not exist",
        lambda: keras_ae.load(f"hf://{REPO_ID}@v7"),
        keras_ae.zoo.UnknownRevisionError,
        "'v7'",
    )


@pytest.fixture
def preset(tmp_path):
    """A tiny preset directory to publish, and the sha256 of each of its files."""
    model = keras_ae.VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_units=(8,), seed=0)
    directory = keras_ae.save_preset(model, tmp_path / "tiny")
    return directory, _digests(directory)


def _digests(directory: Path) -> dict:
    return {path.name: preset_directory.sha256_of(path) for path in directory.iterdir()}


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ("unreachable", "cannot be reached.*HF_ENDPOINT"),
        ("error 500", "answered HTTP 500.*server's fault"),
        ("refuses credentials", "refused the credentials.*HTTP 401.*hf auth login.*HF_TOKEN"),
        ("cut off", "cut off.*Publish again"),
    ],
)
def test_publish_to_a_faulty_hub_gives_a_hub_error_and_leaves_the_preset(
    proxy, preset, monkeypatch, fault, match
):
    directory, digests = preset
    proxy.mode = fault
    if fault == "unreachable":
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    error = refused(
        "hub",
        f"publish to a Hub that {fault.replace('error 500', 'answers 500')}",
        lambda: keras_ae.publish(directory, "hf://someone/tiny"),
        HubError,
        match,
    )
    assert "whole or not at all" in str(error)
    assert _digests(directory) == digests


_LOAD_AND_PRINT = """
import hashlib, sys
import numpy as np
import keras_ae
model = keras_ae.load(sys.argv[1])
x = np.random.default_rng(0).random((8, 4, 4, 1)).astype("float32")
print(hashlib.sha256(model.encode(x).tobytes()).hexdigest())
"""


def test_two_processes_filling_one_empty_cache_at_once_both_load_it(hub, tmp_path):
    environment = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "shared-cache")}
    environment.update(TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1")
    command = [sys.executable, "-c", _LOAD_AND_PRINT, f"hf://{REPO_ID}@v1"]
    processes = [
        subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=240) for process in processes]

    def both_loaded_the_same_weights():
        for process, (_out, err) in zip(processes, results, strict=True):
            assert process.returncode == 0, err[-2000:]
        digests = [out.strip().splitlines()[-1] for out, _ in results]
        assert digests[0] == digests[1]
        assert len(list(Path(tmp_path / "shared-cache").rglob(WEIGHTS))) == 1

    survives("hub", "two processes filling one empty cache at once", both_loaded_the_same_weights)
