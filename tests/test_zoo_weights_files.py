"""A preset's two weights files: model.weights.h5 for inference, the optional
training.weights.h5 for what only training uses (FactorVAE's discriminator)."""

import json
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import keras_ae
from keras_ae.zoo import ChecksumError, PresetError, preset_directory, registry
from keras_ae.zoo.golden_pairs import dsprites_golden_inputs
from keras_ae.zoo.preset_files import TRAINING_WEIGHTS_FILE, WEIGHTS_FILE
from keras_ae.zoo.trust import check_variables_fit_weights
from keras_ae.zoo.weights_files import join_weights

SHAPE = (4, 4, 1)
TRAINING_ONLY = ["discriminator", "discriminator_optimizer"]


@pytest.fixture(scope="module")
def x():
    return (np.random.default_rng(0).random((32, *SHAPE)) > 0.5).astype("float32")


def tiny_factor_vae(seed: int = 1) -> keras_ae.FactorVAE:
    return keras_ae.FactorVAE(
        input_shape=SHAPE,
        latent_dim=2,
        hidden_units=(8,),
        discriminator_layers=2,
        discriminator_units=16,
        seed=seed,
    )


@pytest.fixture(scope="module")
def trained(x) -> keras_ae.FactorVAE:
    keras.utils.set_random_seed(0)
    model = tiny_factor_vae()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=2, batch_size=8, verbose=0)
    return model


@pytest.fixture
def preset(trained, tmp_path) -> Path:
    return keras_ae.save_preset(trained, tmp_path / "tiny_factor_vae")


def _groups(path: Path) -> list[str]:
    with h5py.File(path, "r") as weights:
        return sorted(weights.keys())


def _metadata(directory: Path) -> dict:
    return json.loads((directory / preset_directory.METADATA_FILE).read_text())


def _without_training_file(directory: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "without_training_file"
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns(TRAINING_WEIGHTS_FILE))
    return copy


def test_save_preset_puts_training_only_weights_in_a_second_file(preset):
    assert _groups(preset / TRAINING_WEIGHTS_FILE) == TRAINING_ONLY
    inference = _groups(preset / WEIGHTS_FILE)
    assert not set(inference) & set(TRAINING_ONLY)
    assert {"encoder", "decoder", "vars"} <= set(inference)
    record = _metadata(preset)["training_weights"]
    assert record["file"] == TRAINING_WEIGHTS_FILE
    assert record["attributes"] == TRAINING_ONLY
    assert record["sha256"] == preset_directory.sha256_of(preset / TRAINING_WEIGHTS_FILE)
    assert TRAINING_WEIGHTS_FILE in preset_directory.validate(preset)
    card = (preset / preset_directory.CARD_FILE).read_text()
    assert f"`{TRAINING_WEIGHTS_FILE}` (optional)" in card and "freshly" in card


def test_a_model_with_no_training_only_weights_writes_one_file(tmp_path):
    model = keras_ae.VAE(input_shape=SHAPE, latent_dim=2, hidden_units=(8,))
    directory = keras_ae.save_preset(model, tmp_path / "tiny_vae")
    assert not (directory / TRAINING_WEIGHTS_FILE).exists()
    assert "training_weights" not in _metadata(directory)
    assert TRAINING_WEIGHTS_FILE not in (directory / preset_directory.CARD_FILE).read_text()


def test_without_the_training_file_a_preset_infers_the_same_and_fits(preset, trained, x, tmp_path):
    loaded = keras_ae.load(_without_training_file(preset, tmp_path))

    np.testing.assert_array_equal(loaded.encode(x), trained.encode(x))
    np.testing.assert_array_equal(loaded.reconstruct(x), trained.reconstruct(x))
    fresh = loaded.discriminator.get_weights()
    assert not all(
        np.array_equal(new, old)
        for new, old in zip(fresh, trained.discriminator.get_weights(), strict=True)
    )
    history = loaded.fit(x, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["discriminator_loss"][-1])
    assert not np.array_equal(loaded.discriminator.get_weights()[0], fresh[0])


def test_with_the_training_file_training_resumes_as_from_the_whole_model(preset, trained, x):
    loaded = keras_ae.load(preset)
    for new, old in zip(
        loaded.discriminator.get_weights(), trained.discriminator.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(new, old)

    # What a preset held before the split: every weight in one file, a fresh optimizer.
    whole = tiny_factor_vae()
    whole.set_weights(trained.get_weights())
    whole.compile(optimizer=keras.optimizers.Adam(1e-2))
    for model in (loaded, whole):
        keras.utils.set_random_seed(3)
        model.fit(x, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for new, old in zip(loaded.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-6, atol=1e-7)


def test_a_damaged_training_file_is_refused(preset):
    path = preset / TRAINING_WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=f"{TRAINING_WEIGHTS_FILE}.*delete it"):
        keras_ae.load(preset)


def test_a_training_file_metadata_does_not_vouch_for_is_refused(preset):
    metadata = _metadata(preset)
    del metadata["training_weights"]
    (preset / preset_directory.METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(PresetError, match="records no sha256"):
        keras_ae.load(preset)


def test_the_size_check_counts_only_the_files_loaded(tmp_path):
    # A discriminator far larger than the rest, so the file sizes tell the two parts apart.
    model = keras_ae.FactorVAE(
        input_shape=SHAPE, latent_dim=2, hidden_units=(8,), discriminator_units=256
    )
    preset = keras_ae.save_preset(model, tmp_path / "big_discriminator")
    config = json.loads((preset / preset_directory.CONFIG_FILE).read_text())
    # Loaded without the training file, the discriminator is not counted against the file...
    check_variables_fit_weights(config, preset / WEIGHTS_FILE, "big", without_training_state=True)
    # ... but counted, it does not fit model.weights.h5 alone, only the two files together.
    with pytest.raises(PresetError, match="do not belong together"):
        check_variables_fit_weights(config, preset / WEIGHTS_FILE, "big")
    check_variables_fit_weights(
        config, preset / WEIGHTS_FILE, "big", preset / TRAINING_WEIGHTS_FILE
    )


def test_the_factor_vae_preset_encodes_the_same_without_its_training_file(tmp_path):
    bundled = registry.bundled_directory("factor_vae_dsprites")
    assert (bundled / TRAINING_WEIGHTS_FILE).is_file()
    assert (bundled / WEIGHTS_FILE).stat().st_size < 4_000_000
    x = dsprites_golden_inputs()

    with_it = keras_ae.load(bundled, compile=False)
    without_it = keras_ae.load(_without_training_file(bundled, tmp_path), compile=False)

    np.testing.assert_array_equal(without_it.encode(x), with_it.encode(x))
    np.testing.assert_array_equal(without_it.reconstruct(x), with_it.reconstruct(x))


def test_a_preset_written_whole_loads_and_resaves_split(preset, trained, x):
    # The layout before the split: every weight in model.weights.h5, no training file.
    whole = preset / "whole.weights.h5"
    join_weights(preset / WEIGHTS_FILE, preset / TRAINING_WEIGHTS_FILE, whole)
    whole.replace(preset / WEIGHTS_FILE)
    (preset / TRAINING_WEIGHTS_FILE).unlink()
    metadata = _metadata(preset)
    del metadata["training_weights"]
    metadata["weights_sha256"] = preset_directory.sha256_of(preset / WEIGHTS_FILE)
    (preset / preset_directory.METADATA_FILE).write_text(json.dumps(metadata))
    loaded = keras_ae.load(preset)
    np.testing.assert_array_equal(
        loaded.discriminator.get_weights()[0], trained.discriminator.get_weights()[0]
    )

    preset_directory.resave_preset(preset, golden_inputs=x[:4])

    assert _groups(preset / TRAINING_WEIGHTS_FILE) == TRAINING_ONLY
    resaved = keras_ae.load(preset)
    np.testing.assert_array_equal(resaved.encode(x), trained.encode(x))
    np.testing.assert_array_equal(resaved.reconstruct(x), trained.reconstruct(x))
    np.testing.assert_array_equal(
        resaved.discriminator.get_weights()[0], trained.discriminator.get_weights()[0]
    )
    assert max(preset_directory.golden_mismatch(resaved, preset).values()) == 0
    kept = {key: value for key, value in metadata.items() if key not in ("weights_sha256",)}
    assert {key: _metadata(preset)[key] for key in kept} == kept
