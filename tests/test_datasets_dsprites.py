"""dSprites: geometry, index order, the ground-truth interface, the cache and its errors.

Everything here runs on sprites drawn directly or on a stand-in for the 377 MB packed set; the
full generation runs only with KERAS_AE_TEST_FULL_DSPRITES=1 (about 5 s, 1 GB of memory).
"""

import os
import time
import zipfile

import numpy as np
import pytest

from keras_ae import datasets
from keras_ae.datasets import dsprites
from keras_ae.datasets.dsprites import DSprites

SPRITES = list(np.ndindex(3, 6, 40))


def _factors(shape=0, scale=5, orientation=0, pos_x=15, pos_y=15, **overrides) -> np.ndarray:
    """A ``(n, 5)`` factor array: the given classes, one column replaced by a range."""
    columns = dict(shape=shape, scale=scale, orientation=orientation, pos_x=pos_x, pos_y=pos_y)
    columns.update(overrides)
    length = max(np.size(value) for value in columns.values())
    return np.stack([np.broadcast_to(columns[name], length) for name in dsprites.FACTOR_NAMES], 1)


def _centroid(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(image)
    return cols.mean(), rows.mean()


def test_constants_match_the_official_file_layout():
    assert DSprites.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert DSprites.factor_sizes == (3, 6, 40, 32, 32)
    assert DSprites.num_factors == 5
    assert DSprites.observation_shape == (64, 64, 1)
    sizes = np.array(dsprites.LATENTS_SIZES)
    assert dsprites.LATENTS_BASES == tuple(int(np.prod(sizes[i + 1 :])) * 1 for i in range(6))
    assert dsprites.LATENTS_BASES[0] == dsprites.NUM_IMAGES == 737280
    values = dsprites.latent_values_table()
    np.testing.assert_allclose(values[2], np.linspace(0.5, 1, 6))
    np.testing.assert_allclose(values[3], np.linspace(0, 2 * np.pi, 40))
    assert values[3][-1] == 2 * np.pi
    np.testing.assert_array_equal(values[1], [1, 2, 3])


def test_index_and_factors_round_trip():
    rng = np.random.default_rng(0)
    indices = rng.integers(0, dsprites.NUM_IMAGES, size=5000)
    factors = dsprites.index_to_factors(indices)
    assert factors.shape == (5000, 5) and factors.dtype == np.int64
    assert (factors >= 0).all() and (factors < np.array(dsprites.FACTOR_SIZES)).all()
    np.testing.assert_array_equal(dsprites.factors_to_index(factors), indices)
    drawn = np.stack([rng.integers(0, size, 300) for size in dsprites.FACTOR_SIZES], axis=1)
    np.testing.assert_array_equal(
        dsprites.index_to_factors(dsprites.factors_to_index(drawn)), drawn
    )
    # pos_y is fastest, then pos_x, orientation, scale, shape.
    np.testing.assert_array_equal(
        dsprites.index_to_factors([1, 32, 1024, 40960, 245760]), np.eye(5)[::-1]
    )
    assert dsprites.factors_to_index([[2, 5, 39, 31, 31]])[0] == dsprites.NUM_IMAGES - 1


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 4), int), "shape"),
        (np.array([[3, 0, 0, 0, 0]]), "factor classes"),
        (np.array([[0, 0, 0, 0, -1]]), "factor classes"),
        (np.zeros((1, 5)), "integer"),
    ],
)
def test_bad_factors_get_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        dsprites.factors_to_index(bad)


def test_bad_indices_get_a_clear_error():
    with pytest.raises(ValueError, match=r"\[0, 737280\)"):
        dsprites.index_to_factors([dsprites.NUM_IMAGES])


def test_moving_pos_x_or_pos_y_moves_the_centroid_monotonically():
    for shape in range(3):
        for scale, orientation in [(0, 0), (5, 7), (2, 23), (5, 39)]:
            along_x = dsprites.render(
                _factors(shape, scale, orientation, pos_x=np.arange(32), pos_y=5)
            )
            along_y = dsprites.render(
                _factors(shape, scale, orientation, pos_x=20, pos_y=np.arange(32))
            )
            x_moves = np.array([_centroid(image) for image in along_x])
            y_moves = np.array([_centroid(image) for image in along_y])
            # One pixel per position step, and the other coordinate stays put.
            np.testing.assert_allclose(np.diff(x_moves[:, 0]), 1.0)
            np.testing.assert_allclose(np.diff(x_moves[:, 1]), 0.0, atol=1e-9)
            np.testing.assert_allclose(np.diff(y_moves[:, 1]), 1.0)
            np.testing.assert_allclose(np.diff(y_moves[:, 0]), 0.0, atol=1e-9)


def test_area_grows_with_scale_for_every_shape():
    for shape in range(3):
        for orientation in (0, 10, 25):
            images = dsprites.render(_factors(shape, np.arange(6), orientation))
            areas = images.sum(axis=(1, 2))
            assert (np.diff(areas) > 0).all(), (shape, orientation, areas)
            # Area goes with scale squared: scale 1 covers about four times scale 0.5.
            assert 3.3 < areas[-1] / areas[0] < 4.7


def test_area_barely_changes_with_orientation():
    for shape in range(3):
        for scale in range(6):
            images = dsprites.render(_factors(shape, scale, np.arange(40)))
            areas = images.sum(axis=(1, 2)).astype(float)
            assert (areas.max() - areas.min()) / areas.mean() < 0.15, (shape, scale, areas)
            assert areas.std() / areas.mean() < 0.04


def test_orientation_actually_rotates_non_round_shapes():
    for shape in range(3):
        images = dsprites.render(_factors(shape, 5, [0, 5]))
        assert (images[0] != images[1]).sum() > 20


def test_the_three_shapes_differ():
    for scale in (0, 5):
        for orientation in (0, 10, 30):
            images = dsprites.render(_factors(np.arange(3), scale, orientation)).astype(bool)
            for first, second in [(0, 1), (0, 2), (1, 2)]:
                union = (images[first] | images[second]).sum()
                overlap = (images[first] & images[second]).sum() / union
                assert overlap < 0.9, (scale, orientation, first, second, overlap)


def test_orientation_zero_and_two_pi_give_identical_images():
    shape, scale = np.meshgrid(np.arange(3), np.arange(6), indexing="ij")
    assert dsprites.ORIENTATIONS[39] == 2 * np.pi
    first = dsprites.render(_factors(shape.ravel(), scale.ravel(), 0, pos_x=3, pos_y=28))
    last = dsprites.render(_factors(shape.ravel(), scale.ravel(), 39, pos_x=3, pos_y=28))
    np.testing.assert_array_equal(first, last)
    masks = dsprites.sprite_masks()
    np.testing.assert_array_equal(masks[:, :, 0], masks[:, :, 39])


def test_every_image_is_binary_non_empty_and_off_the_border():
    """All 737,280 images, checked in packed form, block by block, as generation makes them."""
    masks = dsprites.sprite_masks()
    for shape, scale, orientation in SPRITES:
        block = dsprites.packed_position_block(masks[shape, scale, orientation])
        assert block.shape == (1024, 512) and block.dtype == np.uint8
        rows = block.reshape(1024, 64, 8)
        assert rows.any(axis=(1, 2)).all()
        assert not rows[:, 0].any() and not rows[:, 63].any()
        assert not (rows[:, :, 0] & 0x80).any() and not (rows[:, :, 7] & 0x01).any()
    images = dsprites.render(_factors(np.arange(3), 5, 13, pos_x=[0, 31, 31], pos_y=[0, 0, 31]))
    assert images.dtype == np.uint8 and set(np.unique(images)) == {0, 1}
    # A scale-1 sprite covers a clearly visible share of the frame.
    assert (images.sum(axis=(1, 2)) > 0.08 * 64 * 64).all()


def test_render_matches_the_generation_blocks_in_official_order():
    rng = np.random.default_rng(3)
    indices = rng.integers(0, dsprites.NUM_IMAGES, size=200)
    rendered = dsprites.render(dsprites.index_to_factors(indices))
    masks = dsprites.sprite_masks()
    for index, image in zip(indices, rendered, strict=True):
        sprite, position = divmod(int(index), 1024)
        shape, scale, orientation = np.unravel_index(sprite, (3, 6, 40))
        block = dsprites.packed_position_block(masks[shape, scale, orientation])
        np.testing.assert_array_equal(dsprites.unpack(block[position : position + 1])[0], image)


def _stand_in_packed() -> np.ndarray:
    """A packed set that is real for shape 0, scale 0, orientation 0 and empty elsewhere
    (np.zeros costs nothing until written)."""
    packed = np.zeros((dsprites.NUM_IMAGES, dsprites.PACKED_BYTES), dtype=np.uint8)
    packed[:1024] = dsprites.packed_position_block(dsprites.sprite_masks()[0, 0, 0])
    packed[-1] = 255
    return packed


@pytest.fixture
def stand_in_generation(monkeypatch):
    """Replaces the full generation with ``_stand_in_packed``; lists the calls."""
    calls = []

    def fake_generate(verbose=True):
        calls.append(verbose)
        return _stand_in_packed()

    monkeypatch.setattr(dsprites, "generate_packed", fake_generate)
    return calls


@pytest.fixture(scope="module")
def stand_in_cache(tmp_path_factory):
    """A directory holding the stand-in set's cache file (written once for the module)."""
    directory = tmp_path_factory.mktemp("dsprites_cache")
    dsprites._write_cache(directory / dsprites.CACHE_FILENAME, _stand_in_packed())
    return directory


@pytest.fixture(scope="module")
def stand_in_dsprites(stand_in_cache):
    return DSprites(cache_dir=stand_in_cache, verbose=False)


def test_generated_once_then_read_from_the_cache(tmp_path, monkeypatch, stand_in_generation):
    monkeypatch.setenv("KERAS_AE_CACHE", str(tmp_path / "moved"))
    assert datasets.cache_dir() == tmp_path / "moved"
    first = DSprites(verbose=False)
    assert first.source == "generated" and len(stand_in_generation) == 1
    assert first.path == tmp_path / "moved" / dsprites.CACHE_FILENAME
    assert [path.name for path in (tmp_path / "moved").iterdir()] == [dsprites.CACHE_FILENAME]
    # Bit-packed and deflated, the cache stays small.
    assert first.path.stat().st_size < 20 * 1024**2
    second = DSprites(verbose=False)
    assert len(stand_in_generation) == 1
    assert np.array_equal(second.packed_images, first.packed_images)


def test_one_copy_of_the_images_is_shared_within_a_process(stand_in_cache, monkeypatch):
    first = DSprites(cache_dir=stand_in_cache, verbose=False)
    reads = []
    monkeypatch.setattr(dsprites, "_read_cache", reads.append)
    # A second construction (held-out evaluation's beside the training pipeline's) and the
    # pipeline itself read nothing: they share the first one's array.
    second = DSprites(cache_dir=stand_in_cache, verbose=False)
    assert second.packed_images is first.packed_images
    assert np.shares_memory(second.packed_images, first.packed_images)
    images = datasets.load("dsprites", cache_dir=stand_in_cache, num_examples=8)
    assert reads == [] and images.shape == (8, 64, 64, 1)
    # Shared, so read-only.
    with pytest.raises(ValueError, match="read-only"):
        first.packed_images[0, 0] = 1
    # Other files are other copies; a file rewritten since is read again.
    monkeypatch.undo()
    path = stand_in_cache / dsprites.CACHE_FILENAME
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    again = DSprites(cache_dir=stand_in_cache, verbose=False)
    assert again.packed_images is not first.packed_images
    np.testing.assert_array_equal(again.packed_images, first.packed_images)


def test_ground_truth_interface(stand_in_dsprites):
    data = stand_in_dsprites
    assert len(data) == 737280
    for random_state in (np.random.RandomState(0), np.random.default_rng(0)):
        factors = data.sample_factors(50, random_state)
        assert factors.shape == (50, 5) and factors.dtype == np.int64
        assert (factors < np.array(data.factor_sizes)).all() and (factors >= 0).all()
        factors, observations = data.sample(7, random_state)
        assert factors.shape == (7, 5) and observations.shape == (7, 64, 64, 1)
        assert observations.dtype == np.float32
        assert data.sample_observations(3, random_state).shape == (3, 64, 64, 1)
    real = _factors(0, 0, 0, pos_x=np.arange(32), pos_y=np.arange(32)[::-1])
    observations = data.sample_observations_from_factors(real, np.random.RandomState(0))
    np.testing.assert_array_equal(observations[..., 0], dsprites.render(real).astype(np.float32))
    np.testing.assert_array_equal(data.index_to_factors(data.factors_to_index(real)), real)
    classes, values = data.latents_classes, data.latents_values
    assert classes.shape == values.shape == (737280, 6)
    np.testing.assert_array_equal(classes @ np.array(data.latents_bases), np.arange(737280))
    assert (classes[:, 0] == 0).all() and (values[:, 0] == 1).all()
    np.testing.assert_array_equal(np.unique(values[:, 1]), [1, 2, 3])
    np.testing.assert_allclose(values[-1], [1, 3, 1, 2 * np.pi, 1, 1])


def test_interrupted_generation_leaves_nothing_in_the_cache(tmp_path, monkeypatch):
    real_block = dsprites.packed_position_block
    calls = []

    def interrupted_block(mask):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_block(mask)

    monkeypatch.setattr(dsprites, "packed_position_block", interrupted_block)
    with pytest.raises(KeyboardInterrupt):
        DSprites(cache_dir=tmp_path, verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_nothing_half_written(tmp_path, monkeypatch, stand_in_generation):
    real_write_array = np.lib.format.write_array

    def write_then_interrupt(file, array, *args, **kwargs):
        if array.ndim == 2:
            file.write(array[:1000].tobytes())
            raise KeyboardInterrupt
        return real_write_array(file, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        DSprites(cache_dir=tmp_path, verbose=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "wrong_shape"])
def test_corrupt_cache_gets_a_clear_error(tmp_path, damage, stand_in_cache):
    path = tmp_path / dsprites.CACHE_FILENAME
    content = bytearray((stand_in_cache / dsprites.CACHE_FILENAME).read_bytes())
    if damage == "garbage":
        content = bytearray(b"not a cache at all" * 100)
    elif damage == "truncated":
        content = content[: len(content) // 2]
    elif damage == "flipped":
        middle = len(content) // 2
        content[middle : middle + 64] = bytes(255 - byte for byte in content[middle : middle + 64])
    if damage == "wrong_shape":
        np.savez(path, packed_images=np.zeros((10, 512), np.uint8), geometry_version=np.array(1))
    else:
        path.write_bytes(bytes(content))
    with pytest.raises(datasets.CorruptFileError, match="dSprites cache .* Delete it"):
        DSprites(cache_dir=tmp_path, verbose=False)


def _official_npz(path, count: int) -> np.ndarray:
    indices = np.arange(count)
    classes = np.concatenate(
        [np.zeros((count, 1), np.int64), dsprites.index_to_factors(indices)], 1
    )
    values = np.stack(
        [table[classes[:, i]] for i, table in enumerate(dsprites.latent_values_table())], 1
    )
    images = dsprites.render(classes[:, 1:])
    np.savez_compressed(path, imgs=images, latents_classes=classes, latents_values=values)
    return images


def test_reads_the_official_file_format(tmp_path):
    path = tmp_path / dsprites.OFFICIAL_FILENAME
    images = _official_npz(path, 2048)
    packed, classes, values = dsprites.read_official(path, expected_count=2048, verbose=False)
    np.testing.assert_array_equal(dsprites.unpack(packed), images)
    assert classes.shape == values.shape == (2048, 6)
    with pytest.raises(datasets.CorruptFileError, match="imgs"):
        dsprites.read_official(path, verbose=False)


def test_official_file_errors(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match="No dSprites file"):
        DSprites(npz_path=tmp_path / "missing.npz", verbose=False)
    broken = tmp_path / dsprites.OFFICIAL_FILENAME
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(datasets.CorruptFileError, match="not a readable official dSprites file"):
        DSprites(npz_path=broken, verbose=False)
    # An official file in the cache directory is picked up by itself.
    with pytest.raises(datasets.CorruptFileError):
        DSprites(cache_dir=tmp_path, verbose=False)
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("latents_classes.npy", b"nonsense")
    with pytest.raises(datasets.CorruptFileError):
        DSprites(npz_path=broken, verbose=False)


def test_load_dsprites_numpy_and_tf_data(stand_in_cache):
    tmp_path = stand_in_cache
    with pytest.raises(ValueError, match=r"12\.1 GB.*num_examples"):
        datasets.load("dsprites", cache_dir=tmp_path)
    images, labels = datasets.load(
        "dsprites", "all", cache_dir=tmp_path, num_examples=64, with_labels=True
    )
    assert images.shape == (64, 64, 64, 1) and images.dtype == np.float32
    assert labels.shape == (64, 5) and labels.dtype == np.int64
    assert set(np.unique(images)) <= {0.0, 1.0}
    stand_in = _stand_in_packed()
    index = dsprites.factors_to_index(labels)
    np.testing.assert_array_equal(images[..., 0], dsprites.unpack(stand_in[index]))
    batches = datasets.load(
        "dsprites", cache_dir=tmp_path, as_dataset=True, batch_size=64, with_labels=True
    )
    for x, y in batches.take(3):
        assert x.shape == (64, 64, 64, 1) and x.dtype.name == "float32" and y.shape == (64, 5)
        # Each batch's images are the ones its labels name.
        index = dsprites.factors_to_index(y.numpy())
        np.testing.assert_array_equal(x.numpy()[..., 0], dsprites.unpack(stand_in[index]))
    real = datasets.load("dsprites", cache_dir=tmp_path, as_dataset=True, shuffle=False)
    np.testing.assert_array_equal(next(iter(real)).numpy()[..., 0], dsprites.unpack(stand_in[:64]))
    with pytest.raises(ValueError, match="no test split"):
        datasets.load("dsprites", "test", cache_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KERAS_AE_TEST_FULL_DSPRITES") != "1",
    reason="full dSprites generation is opt-in: set KERAS_AE_TEST_FULL_DSPRITES=1",
)
def test_full_generation_matches_direct_rendering(tmp_path):
    start = time.perf_counter()
    data = DSprites(cache_dir=tmp_path, verbose=False)
    assert time.perf_counter() - start < 60
    indices = np.random.default_rng(0).integers(0, 737280, size=2000)
    np.testing.assert_array_equal(
        data.images_at(indices), dsprites.render(data.index_to_factors(indices))
    )
    reloaded = DSprites(cache_dir=tmp_path, verbose=False)
    assert np.array_equal(reloaded.packed_images, data.packed_images)
    assert data.images.shape == (737280, 64, 64) and data.images.dtype == np.uint8
