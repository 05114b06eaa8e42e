"""``hf://`` presets over real HTTP, served by an olah Hub mirror on 127.0.0.1, and from the
Hugging Face cache. Nothing here reaches the internet: olah runs with ``offline = true`` and
serves only the git repositories under its temporary mirror directory."""

import os
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from hub_mirror import ORG, REPO_ID, free_port

import keras_ae
from keras_ae.cli import main
from keras_ae.zoo import catalogue


def test_load_over_http_then_from_the_cache_offline(hub, tmp_path, monkeypatch):
    first = keras_ae.load(f"hf://{REPO_ID}@v1")
    latest = keras_ae.load(f"hf://{REPO_ID}")
    pinned = keras_ae.load(f"hf://{REPO_ID}", revision=hub.latest_commit)

    np.testing.assert_array_equal(first.encode(hub.x), hub.first_codes)
    np.testing.assert_array_equal(latest.encode(hub.x), hub.latest_codes)
    np.testing.assert_array_equal(pinned.encode(hub.x), hub.latest_codes)
    assert first.compiled
    assert (tmp_path / "hf" / "hub" / f"models--{ORG}--tiny" / "snapshots").is_dir()

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached = keras_ae.load(f"hf://{REPO_ID}@v1")
    np.testing.assert_array_equal(cached.encode(hub.x), hub.first_codes)
    with pytest.raises(keras_ae.zoo.NotCachedError, match="offline mode.*HF_HUB_OFFLINE"):
        keras_ae.load(f"hf://{ORG}/never-downloaded")


def test_a_revision_that_does_not_exist_names_the_existing_ones(hub):
    with pytest.raises(keras_ae.zoo.UnknownRevisionError, match="'v9'.*main.*tags: v1"):
        keras_ae.load(f"hf://{REPO_ID}@v9")


def test_a_repository_that_does_not_exist_is_reported(hub):
    with pytest.raises(keras_ae.zoo.UnknownRepositoryError, match=f"'{ORG}/missing'"):
        keras_ae.load(f"hf://{ORG}/missing")


def test_an_unreachable_hub_without_a_cached_copy_is_reported(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")

    with pytest.raises(keras_ae.zoo.NotCachedError, match="cannot be reached"):
        keras_ae.load(f"hf://{REPO_ID}@v1")


def test_corrupt_cached_weights_are_refused_deleted_and_downloaded_again(hub):
    keras_ae.load(f"hf://{REPO_ID}@v1")
    weights = Path(
        huggingface_hub.try_to_load_from_cache(
            REPO_ID, "model.weights.h5", cache_dir=os.environ["HF_HUB_CACHE"], revision="v1"
        )
    )
    blob = weights.resolve()
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))

    with pytest.raises(keras_ae.zoo.ChecksumError, match="deleted; load again"):
        keras_ae.load(f"hf://{REPO_ID}@v1")
    assert not weights.exists() and not blob.exists()

    np.testing.assert_array_equal(
        keras_ae.load(f"hf://{REPO_ID}@v1").encode(hub.x), hub.first_codes
    )


def _registered(monkeypatch, tmp_path, directory: Path, revision: str) -> dict:
    """Registers ``tiny_test``: the mirror's ``keras-ae-test/tiny`` pinned at ``revision``,
    vouched for with the sha256 of ``directory``'s files; no local folder (an installed
    package)."""
    entry = {
        "summary": "A tiny VAE served by the test mirror.",
        "repo_id": REPO_ID,
        "revision": revision,
        "files": catalogue.folder_files(directory),
        "headline": "",
        "needs_data": None,
    }
    monkeypatch.setitem(catalogue.PRESETS, "tiny_test", entry)
    monkeypatch.setattr(catalogue, "PRESETS_DIRECTORY", tmp_path / "no_presets_here")
    return entry


def test_a_registered_name_loads_at_its_pinned_revision_then_offline(hub, tmp_path, monkeypatch):
    _registered(monkeypatch, tmp_path, hub.first_directory, "v1")

    assert keras_ae.list_models(include_unavailable=True)["tiny_test"] == "hub"
    model = keras_ae.load("tiny_test")
    np.testing.assert_array_equal(model.encode(hub.x), hub.first_codes)
    assert model.preset.source == f"tiny_test (hf://{REPO_ID}@v1)"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    np.testing.assert_array_equal(keras_ae.load("tiny_test").encode(hub.x), hub.first_codes)


def test_another_revision_of_a_registered_name_is_refused_but_its_handle_loads(
    hub, tmp_path, monkeypatch
):
    _registered(monkeypatch, tmp_path, hub.first_directory, "v1")

    with pytest.raises(
        keras_ae.zoo.UnvouchedRevisionError,
        match=f"vouches for hf://{REPO_ID}@v1 only.*keras_ae.load\\('hf://{REPO_ID}@main'\\)",
    ):
        keras_ae.load("tiny_test", revision="main")
    # Asked for explicitly, another revision is checked by its own metadata.json alone.
    latest = keras_ae.load(f"hf://{REPO_ID}@main")
    np.testing.assert_array_equal(latest.encode(hub.x), hub.latest_codes)


def test_a_swapped_repository_is_refused(hub, tmp_path, monkeypatch):
    # The package vouches for the first preset at "main", where the Hub now holds another
    # (a whole preset, consistent with its own metadata.json: only the catalogue can tell).
    _registered(monkeypatch, tmp_path, hub.first_directory, "main")

    with pytest.raises(keras_ae.zoo.ChecksumError, match="catalogue records"):
        keras_ae.load("tiny_test")


def test_weights_that_differ_from_the_catalogue_are_refused_and_deleted(hub, tmp_path, monkeypatch):
    entry = _registered(monkeypatch, tmp_path, hub.first_directory, "v1")
    entry["files"] = {**entry["files"], "model.weights.h5": "0" * 64}

    with pytest.raises(
        keras_ae.zoo.ChecksumError, match="refused model.weights.h5 .*catalogue records 0000"
    ):
        keras_ae.load("tiny_test")
    cached = huggingface_hub.try_to_load_from_cache(
        REPO_ID, "model.weights.h5", cache_dir=os.environ["HF_HUB_CACHE"], revision="v1"
    )
    assert not isinstance(cached, str), "the refused file stays in the cache"


def test_download_fills_the_cache_for_an_offline_load(hub, tmp_path, monkeypatch, capsys):
    _registered(monkeypatch, tmp_path, hub.first_directory, "v1")

    assert main(["download", "tiny_test"]) == 0
    assert "tiny_test: " in capsys.readouterr().out
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    np.testing.assert_array_equal(keras_ae.load("tiny_test").encode(hub.x), hub.first_codes)
    assert main(["download", "no_such_preset"]) == 2


def test_show_of_a_registered_name_then_a_plain_load_check_what_each_fetched(
    hub, tmp_path, monkeypatch, capsys
):
    _registered(monkeypatch, tmp_path, hub.first_directory, "v1")

    assert main(["show", "tiny_test", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "grid.png").is_file()
    np.testing.assert_array_equal(keras_ae.load("tiny_test").encode(hub.x), hub.first_codes)


def test_show_of_a_handle_prints_the_card_and_writes_its_pictures(hub, tmp_path, capsys):
    assert main(["show", f"hf://{REPO_ID}@v1", "--out", str(tmp_path / "out")]) == 0

    output = capsys.readouterr().out
    assert output.startswith("---\n") and "library_name: keras" in output
    picture = hub.first_directory / "grid.png"
    assert (tmp_path / "out" / "grid.png").read_bytes() == picture.read_bytes()
    assert f"wrote {tmp_path / 'out' / 'grid.png'}" in output
