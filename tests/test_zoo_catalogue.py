"""The catalogue (what the package vouches for, generated from the recipes and the preset
folders), and the read path: a load reads metadata.json once and writes nothing."""

import builtins
import hashlib
import io
import json
import pathlib
from pathlib import Path

import numpy as np
import pytest
import yaml

import keras_ae
from keras_ae.cli import main
from keras_ae.zoo import catalogue, preset_directory

SHAPE = (4, 4, 1)


def _tiny() -> keras_ae.VAE:
    return keras_ae.VAE(input_shape=SHAPE, latent_dim=2, hidden_units=(8,), seed=1)


def test_catalogue_json_is_current():
    assert catalogue.rendered(catalogue.build()) == catalogue.CATALOGUE_FILE.read_text(), (
        "keras_ae/zoo/catalogue.json is out of date: run python -m keras_ae.zoo.catalogue"
    )


def test_a_summary_is_derived_from_the_recipe_arguments():
    recipe = yaml.safe_load((catalogue.RECIPES_DIRECTORY / "beta_vae_dsprites.yaml").read_text())
    entry = catalogue.PRESETS["beta_vae_dsprites"]
    assert entry["summary"] == catalogue.summary(recipe)
    assert f"beta={recipe['model']['beta']}" in entry["summary"]
    assert entry["summary"].startswith("BetaVAE on dsprites: latent_dim=10")


def test_the_revision_names_the_folders_content(tmp_path):
    keras_ae.save_preset(_tiny(), tmp_path / "preset")
    files = catalogue.folder_files(tmp_path / "preset")
    assert set(files) == {"config.json", "model.weights.h5", "metadata.json", "README.md"}
    revision = catalogue.revision_of(files)
    assert revision.startswith("sha256-") and len(revision) == len("sha256-") + 16
    card = tmp_path / "preset" / "README.md"
    card.write_text(card.read_text() + "\n")
    assert catalogue.revision_of(catalogue.folder_files(tmp_path / "preset")) != revision


def _snapshot(directory: Path) -> tuple[list[str], dict[str, str]]:
    """The names beside ``directory`` (nothing renamed or added there), and every file under
    it with its sha256."""
    return sorted(path.name for path in directory.parent.iterdir()), {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def metadata_reads(monkeypatch) -> list[str]:
    """Each opening of a file named metadata.json (``Path.read_text`` and ``json.load`` open
    files through ``io.open``, which is ``builtins.open``)."""
    reads = []
    real_open = io.open
    assert builtins.open is real_open and pathlib.Path.read_text is not None

    def counted(function):
        def spy(path, *args, **kwargs):
            if Path(str(path)).name == preset_directory.METADATA_FILE:
                reads.append(str(path))
            return function(path, *args, **kwargs)

        return spy

    spy = counted(real_open)
    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    return reads


@pytest.mark.parametrize("name", ["vae_dsprites", "vqvae_mnist"])
def test_loading_a_preset_by_name_reads_metadata_once_and_changes_nothing(name, metadata_reads):
    directory = catalogue.local_directory(name)
    before = _snapshot(directory)
    metadata_reads.clear()

    model = keras_ae.load(name)

    assert len(metadata_reads) == 1, metadata_reads
    assert model.preset.metadata["class_name"] == type(model).__name__
    assert _snapshot(directory) == before


def test_show_reads_metadata_once(tmp_path, metadata_reads):
    preset = keras_ae.save_preset(_tiny(), tmp_path / "tiny", {"recipe": None})
    metadata_reads.clear()

    assert main(["show", str(preset), "--out", str(tmp_path / "out")]) == 0
    assert len(metadata_reads) == 1, metadata_reads


def test_a_preset_set_aside_by_a_killed_save_is_read_where_it_lies(tmp_path):
    # What save_preset leaves when it is killed after setting the old copy aside.
    model = _tiny()
    keras_ae.save_preset(model, tmp_path / "preset")
    aside = tmp_path / ".preset.0123abcd.old"
    (tmp_path / "preset").rename(aside)
    before = _snapshot(aside)

    loaded = keras_ae.load(tmp_path / "preset")

    x = np.random.default_rng(0).random((4, *SHAPE)).astype("float32")
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    assert _snapshot(aside) == before and not (tmp_path / "preset").exists()
    # The next save puts nothing back but its own preset, and leaves nothing beside it.
    keras_ae.save_preset(model, tmp_path / "preset", overwrite=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["preset"]


def test_publish_all_tags_every_preset_with_its_revision(tmp_path, monkeypatch, fake_hub, capsys):
    monkeypatch.setattr(catalogue, "PRESETS_DIRECTORY", tmp_path)
    keras_ae.save_preset(_tiny(), tmp_path / "vae_mnist")
    revision = catalogue.revision_of(catalogue.folder_files(tmp_path / "vae_mnist"))
    monkeypatch.setitem(
        catalogue.PRESETS, "vae_mnist", {**catalogue.PRESETS["vae_mnist"], "revision": revision}
    )

    assert main(["publish", "--all", "my-org"]) == 0

    output = capsys.readouterr().out
    assert f"published hf://my-org/vae_mnist@{revision}" in output
    assert "1 presets published to my-org" in output
    tags = [call for call in fake_hub if call[0] == "create_tag"]
    assert tags == [
        (
            "create_tag",
            "my-org/vae_mnist",
            {"tag": revision, "revision": "0123abcd", "exist_ok": True},
        )
    ]
    # A folder that differs from its catalogue record is not published under a stale tag.
    (tmp_path / "vae_mnist" / "README.md").write_text("---\nchanged\n")
    assert main(["publish", "--all", "my-org"]) == 2
    assert "python -m keras_ae.zoo.catalogue" in capsys.readouterr().err


def test_list_reads_no_preset(metadata_reads, capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    assert "beta_vae_dsprites" in output and "MIG 0.278" in output
    assert metadata_reads == []


def test_the_catalogue_is_plain_json_for_an_installed_package():
    data = json.loads(catalogue.CATALOGUE_FILE.read_text())
    for name, entry in data["presets"].items():
        if entry["revision"]:
            assert "model.weights.h5" in entry["files"], name
            assert entry["revision"] == catalogue.revision_of(entry["files"])
