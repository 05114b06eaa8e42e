"""Presets on disk: save, load, the refusals, the registry, and publish against a fake Hub."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from huggingface_hub import ModelCard

import keras_ae
from keras_ae.zoo import catalogue, preset_directory

SHAPE = (4, 4, 1)
PLANNED = (
    "ae_mnist",
    "dae_mnist",
    "sparse_ae_mnist",
    "ksparse_ae_mnist",
    "cae_mnist",
    "vae_mnist",
    "vae_dsprites",
    "beta_vae_dsprites",
    "beta_tcvae_dsprites",
    "factor_vae_dsprites",
    "capacity_vae_dsprites",
    "vqvae_mnist",
    "gumbel_vae_mnist",
    "draw_mnist",
    "vae_celeba",
    "beta_vae_celeba",
)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).random((16, *SHAPE)).astype("float32")


def tiny_vae(seed: int = 1) -> keras_ae.BetaVAE:
    return keras_ae.BetaVAE(input_shape=SHAPE, latent_dim=2, hidden_units=(8,), seed=seed)


@pytest.fixture
def preset(tmp_path) -> Path:
    return keras_ae.save_preset(tiny_vae(), tmp_path / "tiny")


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_save_then_load_gives_the_same_model_compiled_and_ready_to_fit(tmp_path, x):
    model = tiny_vae()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05))
    model.fit(x, epochs=1, batch_size=8, verbose=0)

    directory = keras_ae.save_preset(model, tmp_path / "tiny", {"recipe": {"optimizer": "adam"}})
    loaded = keras_ae.load(str(directory))

    assert type(loaded) is keras_ae.BetaVAE
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    assert int(loaded.trained_steps.numpy()) == 2
    assert loaded.compiled
    # The optimizer the model was compiled with wins over the recipe's.
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(0.05)
    history = loaded.fit(x, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_a_keras_file_loads_back_checked_and_resumes_training_where_it_stopped(tmp_path, x):
    model = tiny_vae()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9))
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")

    loaded = keras_ae.load(tmp_path / "m.keras")
    assert type(loaded) is keras_ae.BetaVAE and loaded.compiled
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    assert int(loaded.optimizer.iterations.numpy()) == 2  # with its optimizer's state
    assert keras_ae.load(str(tmp_path / "m.keras"), compile=False).compiled is False
    assert loaded.preset is None  # a .keras file records no card or metrics
    # Both continue alike: the momentum was restored with the weights.
    keras.utils.set_random_seed(1)
    model.fit(x, epochs=1, batch_size=8, shuffle=False, verbose=0)
    keras.utils.set_random_seed(1)
    loaded.fit(x, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), rtol=1e-5, atol=1e-6)


def test_a_keras_file_goes_through_the_trust_checks(tmp_path):
    inputs = keras.Input(SHAPE)
    flat = keras.layers.Flatten()(inputs)
    encoder = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(flat))
    codes = keras.Input((16,))
    decoder = keras.Model(codes, keras.layers.Reshape(SHAPE)(keras.layers.Dense(16)(codes)))
    keras_ae.Autoencoder(encoder=encoder, decoder=decoder).save(tmp_path / "lambda.keras")
    with pytest.raises(keras_ae.zoo.UnregisteredClassError, match="Lambda layer"):
        keras_ae.load(tmp_path / "lambda.keras")

    (tmp_path / "not_a_zip.keras").write_text("{}")
    with pytest.raises(keras_ae.zoo.PresetError, match="not a .keras file"):
        keras_ae.load(tmp_path / "not_a_zip.keras")
    with pytest.raises(keras_ae.zoo.UnknownPresetError, match="No .keras file at"):
        keras_ae.load(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="drop revision"):
        keras_ae.load(tmp_path / "lambda.keras", revision="v1")


@pytest.mark.parametrize(
    "recipe, optimizer_class, learning_rate",
    [
        ({"optimizer": {"name": "sgd", "learning_rate": 0.1}}, keras.optimizers.SGD, 0.1),
        ({"optimizer": "rmsprop"}, keras.optimizers.RMSprop, 0.001),
        (None, keras.optimizers.Adam, 0.001),
    ],
)
def test_an_uncompiled_model_is_recompiled_with_the_recipe_optimizer_else_adam(
    tmp_path, recipe, optimizer_class, learning_rate
):
    metadata = {"recipe": recipe} if recipe else None
    directory = keras_ae.save_preset(tiny_vae(), tmp_path / "tiny", metadata)

    loaded = keras_ae.load(directory)

    assert isinstance(loaded.optimizer, optimizer_class)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(learning_rate)
    assert not keras_ae.load(directory, compile=False).compiled


def test_metadata_and_model_card(tmp_path):
    picture = tmp_path / "grid.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    metrics = {"test": {"elbo": -12.5}, "active_units": 2}
    directory = keras_ae.save_preset(
        tiny_vae(),
        tmp_path / "tiny",
        {"dataset": {"name": "mnist_5k", "split": "train"}, "metrics": metrics},
        pictures={"reconstructions.png": picture},
    )

    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["keras_ae_version"] == keras_ae.__version__
    assert metadata["keras_version"] == keras.__version__
    assert metadata["parameter_count"] == 340
    assert metadata["weights_sha256"] == preset_directory.sha256_of(directory / "model.weights.h5")
    assert metadata["optimizer"] is None
    assert metadata["metrics"] == metrics
    assert metadata["dataset"]["name"] == "mnist_5k"
    assert (directory / "reconstructions.png").read_bytes() == picture.read_bytes()

    card = ModelCard.load(directory / "README.md")
    assert card.data.library_name == "keras"
    assert {"keras-ae", "beta-vae"} <= set(card.data.tags)
    assert card.data.datasets == ["mnist_5k"]
    assert card.data.metrics == ["test.elbo", "active_units"]
    assert "| test.elbo | -12.5 |" in card.text
    assert "![reconstructions](reconstructions.png)" in card.text


def test_a_golden_pair_checks_a_loaded_preset_without_data(tmp_path, x):
    model = tiny_vae()
    directory = keras_ae.save_preset(model, tmp_path / "tiny", golden_inputs=x[:3])
    assert "golden.npz" in preset_directory.validate(directory)
    loaded = keras_ae.load(directory)
    assert max(preset_directory.golden_mismatch(loaded, directory).values()) < 1e-6
    other = keras_ae.load(directory)
    for weight in other.decoder.trainable_weights:
        weight.assign(weight + 0.5)
    assert preset_directory.golden_mismatch(other, directory)["reconstructions"] > 1e-3


def test_the_card_sets_the_papers_figures_beside_the_presets():
    from keras_ae.zoo.model_card import model_card

    row = {"source": "Paper 2015", "measure": "-ELBO", "setting": "T = 64", "ours": "T = 16"}
    recipe = {
        "paper": [
            {**row, "figure": 80.97, "metric": "-elbo.elbo"},
            {**row, "figure": 87.4, "note": "no run of ours"},
        ]
    }
    metadata = {
        "class_name": "DRAW",
        "parameter_count": 1,
        "keras_ae_version": "0",
        "keras_version": "3",
        "weights_sha256": "0",
        "recipe": recipe,
        "metrics": {"elbo": {"elbo": -91.5}},
    }
    card = model_card(metadata, "draw")
    assert "## Paper vs this preset" in card
    assert "| -ELBO | 80.97 (Paper 2015) | 91.5 | T = 64 | T = 16 |" in card
    assert "| -ELBO | 87.4 (Paper 2015) | not measured | T = 64 | T = 16; no run of ours |" in card


@pytest.mark.parametrize(
    ("data", "evaluation", "measured_on"),
    [
        (
            {"name": "dsprites", "train_split": "all"},
            {"test_examples": 2000, "ground_truth": True},
            "Measured on 2,000 images sampled from all of dSprites, the images the model trained "
            "on (dSprites has no test split; disentanglement is conventionally measured on the "
            "training distribution).",
        ),
        (
            {"name": "mnist", "train_split": "train[:-5000]", "test_split": "test"},
            {"test_examples": 10000},
            "Measured on 10,000 held-out images of mnist's test split.",
        ),
    ],
)
def test_the_card_says_what_its_metrics_are_measured_on(data, evaluation, measured_on):
    from keras_ae.zoo.model_card import model_card

    metadata = {
        "class_name": "BetaVAE",
        "parameter_count": 1,
        "keras_ae_version": "0",
        "keras_version": "3",
        "weights_sha256": "0",
        "recipe": {"data": data, "evaluation": evaluation},
        "metrics": {"mig.discrete_mig": 0.3},
    }
    card = model_card(metadata, "preset")
    assert f"## Metrics\n\n{measured_on}\n\n| metric | value |" in card
    assert "held-out" not in card or "held-out images of mnist" in card


def test_custom_functional_networks_load(tmp_path, x):
    inputs = keras.Input(SHAPE)
    encoder = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    codes = keras.Input((2,))
    decoder = keras.Model(codes, keras.layers.Reshape(SHAPE)(keras.layers.Dense(16)(codes)))
    model = keras_ae.Autoencoder(encoder=encoder, decoder=decoder)

    loaded = keras_ae.load(keras_ae.save_preset(model, tmp_path / "custom"))

    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))


def test_an_interrupted_save_leaves_no_partial_preset(tmp_path, monkeypatch):
    previous = keras_ae.save_preset(tiny_vae(seed=1), tmp_path / "tiny")
    previous_weights = (previous / "model.weights.h5").read_bytes()
    model = tiny_vae(seed=2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(preset_directory, "_save_model_weights", interrupted)
    with pytest.raises(KeyboardInterrupt):
        keras_ae.save_preset(model, tmp_path / "new")
    with pytest.raises(KeyboardInterrupt):
        keras_ae.save_preset(model, tmp_path / "tiny", overwrite=True)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny"]
    assert (previous / "model.weights.h5").read_bytes() == previous_weights


def test_an_existing_preset_is_replaced_only_with_overwrite(preset, x):
    with pytest.raises(FileExistsError, match="overwrite=True"):
        keras_ae.save_preset(tiny_vae(seed=2), preset)

    replacement = tiny_vae(seed=2)
    keras_ae.save_preset(replacement, preset, overwrite=True)

    np.testing.assert_array_equal(keras_ae.load(preset).encode(x), replacement.encode(x))
    assert sorted(path.name for path in preset.parent.iterdir()) == ["tiny"]


def test_weights_with_one_byte_changed_are_refused_and_left_in_place(preset):
    weights = preset / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))

    with pytest.raises(keras_ae.zoo.ChecksumError, match="sha256.*left in place"):
        keras_ae.load(preset)
    assert weights.read_bytes() == bytes(data)


def test_a_config_naming_an_unregistered_class_is_refused(preset):
    def rename_class(config):
        config.update(module="evil.models", class_name="Payload", registered_name="evil>Payload")

    edit_json(preset / "config.json", rename_class)

    with pytest.raises(keras_ae.zoo.UnregisteredClassError, match="'evil>Payload'"):
        keras_ae.load(preset)


def test_a_nested_object_from_another_package_is_refused(tmp_path):
    inputs = keras.Input((8,))
    encoder = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    codes = keras.Input((2,))
    decoder = keras.Model(codes, keras.layers.Dense(8)(codes))
    directory = keras_ae.save_preset(
        keras_ae.Autoencoder(encoder=encoder, decoder=decoder), tmp_path / "custom"
    )

    def smuggle_layer(config):
        layer = config["config"]["encoder"]["config"]["layers"][1]
        layer.update(module="evil.layers", registered_name="evil>Dense")

    edit_json(directory / "config.json", smuggle_layer)

    with pytest.raises(keras_ae.zoo.UnregisteredClassError, match=r"'evil>Dense'.*config\.encoder"):
        keras_ae.load(directory)


@pytest.mark.parametrize("missing", ["config.json", "model.weights.h5", "metadata.json"])
def test_a_missing_file_is_named(preset, missing):
    (preset / missing).unlink()

    with pytest.raises(keras_ae.zoo.MissingFileError, match=f"has no {missing}"):
        keras_ae.load(preset)


def test_a_preset_from_a_newer_keras_ae_is_refused(preset):
    edit_json(preset / "metadata.json", lambda metadata: metadata.update(keras_ae_version="99.0"))

    with pytest.raises(keras_ae.zoo.IncompatibleVersionError, match="99.0.*pip install -U"):
        keras_ae.load(preset)


def test_a_newer_patch_release_still_loads(preset):
    major, minor, _ = keras_ae.__version__.split(".")
    edit_json(
        preset / "metadata.json",
        lambda metadata: metadata.update(keras_ae_version=f"{major}.{minor}.999"),
    )

    assert isinstance(keras_ae.load(preset), keras_ae.BetaVAE)


def test_an_unknown_name_lists_close_matches():
    with pytest.raises(keras_ae.zoo.UnknownPresetError, match="'beta_vae_dsprites'"):
        keras_ae.load("beta_vae_dsprite")


def test_a_missing_directory_is_reported_as_such(tmp_path):
    with pytest.raises(keras_ae.zoo.UnknownPresetError, match="No preset directory"):
        keras_ae.load(str(tmp_path / "nowhere"))


def test_a_planned_name_is_not_loadable_yet(tmp_path, monkeypatch):
    monkeypatch.setattr(catalogue, "PRESETS_DIRECTORY", tmp_path)  # an installed package
    monkeypatch.setitem(catalogue.PRESETS, "vae_mnist", {**catalogue.PRESETS["vae_mnist"]})
    catalogue.PRESETS["vae_mnist"]["revision"] = None  # never published
    with pytest.raises(keras_ae.zoo.UnknownPresetError, match="planned.*hf://keras-ae/vae_mnist"):
        keras_ae.load("vae_mnist")


def test_the_catalogue_names_every_recipe_under_the_keras_ae_org(tmp_path, monkeypatch):
    monkeypatch.setattr(catalogue, "PRESETS_DIRECTORY", tmp_path)  # an installed package
    recipes = sorted(path.stem for path in catalogue.RECIPES_DIRECTORY.glob("*.yaml"))
    assert sorted(catalogue.PRESETS) == recipes == sorted(PLANNED)
    for name, entry in catalogue.PRESETS.items():
        assert entry["repo_id"] == f"keras-ae/{name}"
        assert entry["summary"] and "\n" not in entry["summary"]
    recipe_only = "recipe only: the weights need the CelebA data"
    released = [name for name in PLANNED if not name.endswith("_celeba")]
    assert keras_ae.list_models(include_unavailable=True) == {
        name: recipe_only if name.endswith("_celeba") else "hub" for name in catalogue.PRESETS
    }
    assert sorted(keras_ae.list_models()) == sorted(released)


def test_a_local_preset_is_listed_and_loaded_by_name(tmp_path, monkeypatch, x):
    monkeypatch.setattr(catalogue, "PRESETS_DIRECTORY", tmp_path)
    model = tiny_vae()
    keras_ae.save_preset(model, tmp_path / "vae_mnist")

    statuses = keras_ae.list_models(include_unavailable=True)
    assert (statuses["vae_mnist"], statuses["beta_vae_dsprites"]) == ("local", "hub")
    np.testing.assert_array_equal(keras_ae.load("vae_mnist").encode(x), model.encode(x))


def test_a_loaded_preset_carries_its_metrics_recipe_card_and_pictures(tmp_path, x):
    picture = tmp_path / "grid.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    recipe = {"name": "tiny", "optimizer": "adam"}
    metadata = {"metrics": {"elbo.elbo": -1.5}, "recipe": recipe, "dataset": "mnist_5k"}
    directory = keras_ae.save_preset(
        tiny_vae(), tmp_path / "tiny", metadata, pictures={"samples.png": picture}
    )

    model = keras_ae.load(directory)
    assert model.preset.metrics == {"elbo.elbo": -1.5}
    assert model.preset.recipe == recipe
    assert model.preset.card == (directory / "README.md").read_text()
    assert "| elbo.elbo | -1.5 |" in model.preset.card
    assert model.preset.pictures == {"samples.png": directory / "samples.png"}
    assert model.preset.metadata["class_name"] == "BetaVAE"
    assert model.preset.source == str(directory)
    # Nothing of it is saved with the model: a second preset's weights file holds the same.
    again = keras_ae.save_preset(model, tmp_path / "again")
    assert _h5_contents(again / "model.weights.h5") == _h5_contents(directory / "model.weights.h5")
    assert keras_ae.load(again).preset.metrics == {}
    assert tiny_vae().preset is None


def _h5_contents(path: Path) -> dict:
    import h5py

    contents = {}
    with h5py.File(path, "r") as file:
        file.visititems(
            lambda name, item: (
                contents.update({name: item[()].tobytes()})
                if isinstance(item, h5py.Dataset)
                else None
            )
        )
    return contents


def test_a_bundled_preset_has_its_card_on_the_model():
    model = keras_ae.load("vae_mnist", compile=False)
    assert model.preset.source == "vae_mnist"
    assert model.preset.card.startswith("---\n") and "# vae_mnist" in model.preset.card
    assert model.preset.metrics["active_units"] >= 1
    assert model.preset.recipe["model"]["class"] == "VAE"


def test_publish_uploads_exactly_the_preset_files(tmp_path, fake_hub):
    picture = tmp_path / "grid.gif"
    picture.write_bytes(b"GIF89a")
    directory = keras_ae.save_preset(
        tiny_vae(), tmp_path / "tiny", pictures={"traversal.gif": picture}
    )
    (directory / "notes.txt").write_text("not part of the preset")

    handle = keras_ae.publish(directory, "hf://someone/tiny", commit_message="First version")

    assert handle == "hf://someone/tiny@0123abcd"
    (_, create_repo, upload_folder) = fake_hub
    assert create_repo == (
        "create_repo",
        "someone/tiny",
        {"repo_type": "model", "private": False, "exist_ok": True},
    )
    upload = upload_folder[1]
    assert sorted(upload["allow_patterns"]) == sorted(
        ["config.json", "model.weights.h5", "metadata.json", "README.md", "traversal.gif"]
    )
    assert (upload["repo_id"], upload["folder_path"]) == ("someone/tiny", str(directory))
    assert upload["commit_message"] == "First version"


def test_publish_refuses_a_corrupt_preset_before_contacting_the_hub(preset, fake_hub):
    (preset / "model.weights.h5").write_bytes(b"not the weights")

    with pytest.raises(keras_ae.zoo.ChecksumError):
        keras_ae.publish(preset, "hf://someone/tiny")
    assert fake_hub == []


def test_the_weights_file_holds_the_model_without_its_optimizer_state(tmp_path, x):
    import h5py

    model = keras_ae.VAE(input_shape=SHAPE, latent_dim=2, hidden_units=(8,))
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    directory = keras_ae.save_preset(model, tmp_path / "compiled")
    with h5py.File(directory / "model.weights.h5") as weights:
        assert "optimizer" not in weights
    loaded = keras_ae.load(directory)
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    assert int(loaded.trained_steps.numpy()) == int(model.trained_steps.numpy())
