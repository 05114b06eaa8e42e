"""Golden pairs added to presets saved without one (keras_ae.zoo.golden_pairs)."""

import json

import numpy as np

import keras_ae
from keras_ae.datasets import dsprites
from keras_ae.zoo import golden_pairs, preset_directory


def test_the_dsprites_golden_inputs_are_fixed_and_spread_over_every_factor():
    factors = golden_pairs.dsprites_golden_factors()
    np.testing.assert_array_equal(factors, golden_pairs.dsprites_golden_factors())
    assert set(factors[:, 0]) == {0, 1, 2}
    for column, size in enumerate(dsprites.FACTOR_SIZES[1:], start=1):
        values = factors[:, column]
        # Every scale; orientations and positions from the first eighth of the range to the last.
        assert len(set(values)) == min(size, 8), column
        assert values.min() < size / 8 and values.max() >= size * 7 // 8, column
    # The factors are not in lockstep: no two columns rank the examples alike.
    assert len({tuple(np.argsort(factors[:, column], kind="stable")) for column in (2, 3, 4)}) == 3
    inputs = golden_pairs.dsprites_golden_inputs()
    assert inputs.shape == (8, 64, 64, 1) and inputs.dtype == np.float32
    assert set(np.unique(inputs)) == {0.0, 1.0}
    np.testing.assert_array_equal(inputs[..., 0], dsprites.render(factors))


def test_a_golden_pair_is_added_beside_untouched_weights(tmp_path):
    model = keras_ae.VAE(input_shape=(64, 64, 1), latent_dim=2, architecture="conv64")
    directory = keras_ae.save_preset(model, tmp_path / "tiny_dsprites")
    weights = (directory / preset_directory.WEIGHTS_FILE).read_bytes()

    path = golden_pairs.add_dsprites_golden_pair(directory)

    assert (directory / preset_directory.WEIGHTS_FILE).read_bytes() == weights
    record = json.loads((directory / preset_directory.METADATA_FILE).read_text())["golden"]
    assert record == {
        "file": "golden.npz",
        "sha256": preset_directory.sha256_of(path),
        "examples": 8,
    }
    assert "golden.npz" in preset_directory.validate(directory)
    assert "`golden.npz`" in (directory / preset_directory.CARD_FILE).read_text()
    loaded = keras_ae.load(directory)
    assert max(preset_directory.golden_mismatch(loaded, directory).values()) == 0
