"""The wheel as a user installs it (large tier): built from ``git archive HEAD``, it holds no
weights; installed into a fresh virtual environment, it loads a registered preset from the Hub
(the tests' olah mirror) at the revision its catalogue pins, then offline from the Hugging Face
cache, and refuses another revision, altered weights and a swapped repository."""

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hub_mirror import commit_preset, git

import keras_ae
from keras_ae.checksums import sha256_of
from keras_ae.zoo import catalogue

ROOT = Path(__file__).resolve().parent.parent
NAME = "vae_dsprites"
MAX_WHEEL_BYTES = 2 << 20

pytestmark = pytest.mark.large


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of the committed tree (``git archive HEAD``: no untracked or ignored file)."""
    if shutil.which("git") is None:
        pytest.skip("building the wheel from git archive HEAD needs git")
    tree = tmp_path_factory.mktemp("tree")
    archive = tree / "head.tar"
    subprocess.run(["git", "archive", "--output", str(archive), "HEAD"], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tree / "src", filter="data")
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), "."]
    subprocess.run(command, cwd=tree / "src", check=True)
    (built,) = out.glob("keras_ae-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed (``--no-deps``); its dependencies
    are this environment's, reached by a ``.pth`` line (which runs none of this environment's
    own ``.pth`` files, so an editable keras_ae here is not seen there)."""
    directory = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    python = directory / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "keras_ae_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)]
    subprocess.run(install, check=True)
    return python


def test_the_wheel_holds_no_weights_but_the_catalogue(wheel):
    assert wheel.stat().st_size < MAX_WHEEL_BYTES, f"{wheel.stat().st_size:,} bytes"
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_ae/zoo/catalogue.json" in names
    assert "keras_ae/evaluation/assets/mnist_digit_classifier.weights.h5" in names
    assert not [name for name in names if "zoo/bundled" in name]


def _publish(mirrors: Path, preset: Path, tag: str) -> None:
    """What ``keras-ae publish --all`` does, into the mirror (olah cannot receive an upload):
    the preset folder committed to ``keras-ae/<name>`` and the commit tagged ``tag``."""
    repository = mirrors / "models" / catalogue.PRESETS[NAME]["repo_id"]
    if not repository.exists():
        repository.mkdir(parents=True)
        git(repository, "init", "--quiet", "--initial-branch=main")
    for path in repository.iterdir():
        if path.name != ".git":
            path.unlink()
    commit_preset(repository, preset, f"{preset.name} as {tag}")
    git(repository, "tag", "--force", tag)


def _run(python: Path, hub, cache: Path, code: str, offline: bool = False):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "PYTHON", "KERAS_AE"))
    }
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(cache),
        HF_HUB_CACHE=str(cache / "hub"),
        HF_HUB_DISABLE_TELEMETRY="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        KERAS_AE_CACHE=str(cache / "keras_ae"),
    )
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import keras_ae
        assert "site-packages" in keras_ae.__file__, keras_ae.__file__
        x = np.load(sys.argv[1])
        """
    ) + textwrap.dedent(code)
    path = cache / "script.py"
    path.write_text(script)
    return subprocess.run(
        [str(python), str(path), str(cache / "x.npy")],
        cwd=cache,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_installed_package_loads_a_preset_at_its_pinned_revision_and_refuses_others(
    venv, hub, tmp_path
):
    entry = catalogue.PRESETS[NAME]
    preset = catalogue.local_directory(NAME)
    x = np.random.default_rng(0).random((4, 64, 64, 1)).astype("float32")
    cache = tmp_path / "user"
    cache.mkdir()
    np.save(cache / "x.npy", x)
    expected = keras_ae.load(NAME).encode(x)
    np.save(cache / "codes.npy", expected)
    _publish(hub.mirrors, preset, entry["revision"])

    load = """
        model = keras_ae.load("vae_dsprites")
        np.testing.assert_allclose(model.encode(x), np.load("codes.npy"), atol=1e-6)
        print("loaded", model.preset.source)
        """
    online = _run(venv, hub, cache, load)
    assert online.returncode == 0, online.stderr
    assert f"loaded vae_dsprites (hf://{entry['repo_id']}@{entry['revision']})" in online.stdout
    offline = _run(venv, hub, cache, load, offline=True)
    assert offline.returncode == 0, offline.stderr

    refuse = """
        try:
            keras_ae.load("vae_dsprites"{revision})
        except keras_ae.zoo.{error} as error:
            print("refused:", error)
        else:
            raise SystemExit("loaded")
        """
    other = _run(
        venv,
        hub,
        cache,
        refuse.format(revision=', revision="main"', error="UnvouchedRevisionError"),
    )
    assert other.returncode == 0, other.stderr
    assert f"vouches for hf://{entry['repo_id']}@{entry['revision']} only" in other.stdout

    # Altered weights, published with a metadata.json that vouches for them, then another
    # preset altogether (a swapped repository, whole and self-consistent): only the package's
    # catalogue can tell. Each is loaded into a fresh cache, as a new user's.
    altered = tmp_path / "altered" / NAME
    shutil.copytree(preset, altered)
    weights = altered / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x01
    weights.write_bytes(bytes(data))
    metadata = (altered / "metadata.json").read_text()
    metadata = metadata.replace(entry["files"]["model.weights.h5"], sha256_of(weights))
    (altered / "metadata.json").write_text(metadata)
    swapped = catalogue.local_directory("beta_vae_dsprites")
    for case, published in (("altered", altered), ("swapped", swapped)):
        _publish(hub.mirrors, published, entry["revision"])
        fresh = tmp_path / case / "user"
        fresh.mkdir(parents=True)
        np.save(fresh / "x.npy", x)
        refused = _run(venv, hub, fresh, refuse.format(revision="", error="ChecksumError"))
        assert refused.returncode == 0, (case, refused.stdout, refused.stderr)
        assert "catalogue records" in refused.stdout, (case, refused.stdout)
