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
from keras_ae.zoo import registry


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


def test_a_published_registered_name_resolves_to_its_hub_repository(hub, monkeypatch):
    entry = {
        "description": "A tiny VAE served by the test mirror.",
        "hf_handle": f"hf://{REPO_ID}",
        "published": True,
        "bundled": "bundled/tiny_test",
    }
    monkeypatch.setitem(registry.PRESETS, "tiny_test", entry)

    assert "tiny_test" in keras_ae.list_models()
    model = keras_ae.load("tiny_test", revision="v1")
    np.testing.assert_array_equal(model.encode(hub.x), hub.first_codes)
