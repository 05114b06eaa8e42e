"""Presets from strangers: damaged weights, malformed or huge JSON, classes keras_ae did not
register, memory bombs, pictures reaching outside the preset, a newer format. Each is refused
with its ``PresetError`` subclass before any weight is read, and the files stay as they were."""

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from _cases import refused
from hypothesis import given
from hypothesis import strategies as st

import keras_ae
from keras_ae.zoo import preset_directory
from keras_ae.zoo.errors import (
    ChecksumError,
    IncompatibleVersionError,
    MissingFileError,
    PresetError,
    UnregisteredClassError,
)
from keras_ae.zoo.trust import MAX_JSON_BYTES, sha256_of

WEIGHTS, CONFIG, METADATA = "model.weights.h5", "config.json", "metadata.json"


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    keras.utils.set_random_seed(0)
    model = keras_ae.VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_units=(8,))
    picture = tmp_path_factory.mktemp("pictures") / "samples.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    return keras_ae.save_preset(
        model, tmp_path_factory.mktemp("presets") / "tiny", pictures={"samples.png": picture}
    )


@pytest.fixture
def preset(original, tmp_path, monkeypatch) -> Path:
    """A fresh copy of a valid tiny preset; reading its weights fails the test."""
    copy = Path(shutil.copytree(original, tmp_path / "tiny"))

    def no_weights_read(*args, **kwargs):
        raise AssertionError("the weights were read")

    monkeypatch.setattr(keras.Model, "load_weights", no_weights_read)
    return copy


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def _refused_unchanged(case: str, preset: Path, error, match: str, action=None) -> None:
    before = _snapshot(preset)
    refused("presets", case, action or (lambda: keras_ae.load(preset)), error, match)
    assert _snapshot(preset) == before, f"{case}: the preset's files changed"


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@given(fraction=st.floats(0.0, 0.999))
def test_truncated_weights_are_refused_by_their_checksum(original, tmp_path_factory, fraction):
    preset = Path(shutil.copytree(original, tmp_path_factory.mktemp("t") / "tiny"))
    weights = preset / WEIGHTS
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * fraction)])
    _refused_unchanged(f"weights truncated to {fraction:.0%}", preset, ChecksumError, "sha256")


@given(position=st.floats(0.0, 0.999), bit=st.integers(0, 7))
def test_a_flipped_bit_in_the_weights_is_refused(original, tmp_path_factory, position, bit):
    preset = Path(shutil.copytree(original, tmp_path_factory.mktemp("f") / "tiny"))
    weights = preset / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[int(len(data) * position)] ^= 1 << bit
    weights.write_bytes(bytes(data))
    _refused_unchanged("a flipped bit in the weights", preset, ChecksumError, "sha256")


_MALFORMED = {
    "not JSON": b"{config",
    "a JSON list": b"[1, 2]",
    "not UTF-8": b"\xff\xfe\x00",
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "empty": b"",
}


@pytest.mark.parametrize("file", [CONFIG, METADATA])
@pytest.mark.parametrize("content", list(_MALFORMED))
def test_malformed_json_is_refused(preset, file, content):
    (preset / file).write_bytes(_MALFORMED[content])
    _refused_unchanged(f"{file} {content}", preset, PresetError, file.replace(".", r"\."))


@pytest.mark.parametrize("file", [CONFIG, METADATA])
def test_a_huge_json_file_is_refused_unread(preset, file, monkeypatch):
    with open(preset / file, "r+b") as handle:
        handle.truncate(MAX_JSON_BYTES + 1)  # sparse: no disk used
    _refused_unchanged(f"a huge {file}", preset, PresetError, "was not read")


def _retarget_class(config: dict) -> None:
    config["registered_name"] = "evil>Payload"
    config["module"] = "evil.module"
    config["class_name"] = "Payload"


def _nested_foreign_class(config: dict) -> None:
    config["config"]["activation"] = {
        "module": "os",
        "class_name": "system",
        "config": {},
        "registered_name": "system",
    }


def _lambda_layer(config: dict) -> None:
    config["config"]["encoder"] = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"function": {"class_name": "__lambda__", "config": {"code": "4wEAAA"}}},
        "registered_name": None,
    }


@pytest.mark.parametrize(
    ("case", "edit"),
    [
        ("a config naming an unregistered model class", _retarget_class),
        ("a config naming a foreign class inside", _nested_foreign_class),
        ("a config with a Lambda layer", _lambda_layer),
    ],
)
def test_classes_keras_ae_did_not_register_are_refused(preset, case, edit):
    _edit_json(preset / CONFIG, edit)
    _refused_unchanged(case, preset, UnregisteredClassError, "keras_ae loads only")


@pytest.mark.parametrize(
    ("case", "latent_dim", "hidden_units"),
    [
        ("latent_dim 10**9", 10**9, [8]),
        ("hidden units 10**6 x 10**6", 2, [10**6, 10**6]),
        ("a negative latent_dim", -4, [8]),
        ("a latent_dim that is a string", "many", [8]),
    ],
)
def test_absurd_shapes_are_refused_before_any_memory_is_allocated(
    preset, case, latent_dim, hidden_units
):
    def edit(config):
        config["config"].update(latent_dim=latent_dim, hidden_units=hidden_units)

    _edit_json(preset / CONFIG, edit)
    _refused_unchanged(case, preset, PresetError, "config.json")


def test_a_preset_from_a_newer_keras_ae_is_refused(preset):
    _edit_json(preset / METADATA, lambda m: m.update(keras_ae_version="99.0.0"))
    _refused_unchanged("a preset from keras_ae 99", preset, IncompatibleVersionError, "pip install")


@pytest.mark.parametrize("version", [None, 3, "", "latest"])
def test_a_preset_without_a_readable_version_is_refused(preset, version):
    _edit_json(preset / METADATA, lambda m: m.update(keras_ae_version=version))
    _refused_unchanged(f"keras_ae_version {version!r}", preset, PresetError, "keras_ae_version")


@pytest.mark.parametrize("file", [CONFIG, METADATA, WEIGHTS])
def test_a_missing_file_is_named(preset, file):
    (preset / file).unlink()
    _refused_unchanged(f"no {file}", preset, MissingFileError, file.replace(".", r"\."))


def test_weights_forged_with_a_matching_checksum_but_nan_values_are_refused(
    original, tmp_path, monkeypatch
):
    preset = Path(shutil.copytree(original, tmp_path / "tiny"))
    model = keras_ae.load(preset, compile=False)
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    model.save_weights(str(preset / WEIGHTS))
    _edit_json(preset / METADATA, lambda m: m.update(weights_sha256=sha256_of(preset / WEIGHTS)))
    _refused_unchanged("NaN weights with a forged checksum", preset, PresetError, "NaN")


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("a picture named ../", "../escape.png"),
        ("a picture with an absolute path", "/etc/passwd"),
        ("a picture in a subdirectory", "sub/samples.png"),
        ("a picture that is not a string", 7),
    ],
)
def test_pictures_outside_the_preset_are_refused_before_publishing(preset, case, name):
    _edit_json(preset / METADATA, lambda m: m.update(pictures=[name]))
    _refused_unchanged(
        case,
        preset,
        PresetError,
        "not a plain .png",
        action=lambda: preset_directory.validate(preset),
    )


def test_a_picture_linking_outside_the_preset_is_refused(preset, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"secret")
    (preset / "samples.png").unlink()
    os.symlink(outside, preset / "samples.png")
    _refused_unchanged(
        "a picture linking outside the preset",
        preset,
        PresetError,
        "outside the preset",
        action=lambda: preset_directory.validate(preset),
    )
