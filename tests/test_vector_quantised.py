"""VQ-VAE: the codebook's updates and restarts, the gated PixelCNN prior's causality, and the two
training stages (its loss terms are tested in test_losses.py)."""

import keras
import numpy as np
import pytest

import keras_ae
from keras_ae.pixelcnn import build_gated_pixelcnn, sample_codes

rng = np.random.default_rng(0)
# A small VQ-VAE: an MLP encoder whose 8 outputs are 4 vectors of 2 numbers, 8 codes.
TINY = dict(
    input_shape=(28, 28, 1),
    latent_dim=8,
    architecture="mlp",
    hidden_units=(32,),
    code_dim=2,
    num_codes=8,
    prior_channels=8,
    prior_layers=2,
)


def _batch_vectors(model, x):
    return model.encoder(x).numpy().reshape(-1, model.code_dim)


def test_the_first_step_starts_every_code_at_an_encoder_vector(mnist_images):
    x = mnist_images[0][:64]
    model = keras_ae.VQVAE(**TINY, seed=1)
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # no gradient step: only the restart
    vectors = _batch_vectors(model, x)
    model.fit(x, batch_size=64, epochs=1, verbose=0, shuffle=False)
    codebook = model.codebook.numpy()
    distances = ((codebook[:, None, :] - vectors[None]) ** 2).sum(-1)
    np.testing.assert_allclose(distances.min(axis=1), 0.0, atol=1e-10)


def test_a_dead_code_is_restarted_and_a_used_one_kept(mnist_images):
    x = mnist_images[0][:64]
    model = keras_ae.VQVAE(**TINY, seed=1)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    model.trained_steps.assign(100)  # past the first step's restart
    codebook = model.codebook.numpy()
    codebook[5] = 1e3  # far from every encoder vector, so the batch does not pick it
    model.codebook.assign(codebook)
    before = codebook.copy()
    usage = np.full(8, 1 / 8, np.float32)
    usage[5] = 0.0  # code 5 has not been used for a long time
    model.usage_average.assign(usage)
    model.fit(x, batch_size=64, epochs=1, verbose=0, shuffle=False)
    after = model.codebook.numpy()
    vectors = _batch_vectors(model, x)
    assert ((vectors - after[5]) ** 2).sum(-1).min() < 1e-10
    others = [i for i in range(8) if i != 5]
    np.testing.assert_array_equal(after[others], before[others])
    assert model.usage_average.numpy()[5] == pytest.approx(1 / 8)


def test_the_ema_codebook_follows_the_moving_averages(mnist_images):
    x = mnist_images[0][:64]
    model = keras_ae.VQVAE(**TINY, codebook_update="ema", ema_decay=0.9, dead_code_threshold=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    model.trained_steps.assign(100)
    assert not model.codebook.trainable
    counts, sums = rng.uniform(1, 5, size=8), rng.normal(size=(8, 2))
    model.ema_counts.assign(counts.astype("float32"))
    model.ema_sums.assign(sums.astype("float32"))
    codebook = model.codebook.numpy().astype("float64")
    vectors = _batch_vectors(model, x).astype("float64")
    nearest = ((vectors[:, None] - codebook[None]) ** 2).sum(-1).argmin(1)
    one_hot = np.eye(8)[nearest]
    counts = 0.9 * counts + 0.1 * one_hot.sum(0)
    sums = 0.9 * sums + 0.1 * one_hot.T @ vectors
    smoothed = (counts + 1e-5) / (counts.sum() + 8e-5) * counts.sum()
    model.fit(x, batch_size=64, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(model.codebook.numpy(), sums / smoothed[:, None], rtol=1e-4)


def test_vq_vae_on_the_grid_architecture_uses_its_codebook(shuffled_mnist):
    x = shuffled_mnist[0][:1024]
    model = keras_ae.VQVAE(input_shape=(28, 28, 1), code_dim=4, num_codes=16, seed=0)
    assert model.latent_dim == 7 * 7 * 4 and model.grid_shape == (7, 7)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=64, epochs=6, verbose=0).history
    assert history["reconstruction"][-1] < 0.6 * history["reconstruction"][0]
    # Without the first-step start and the restarts, 2-4 codes took every vector.
    assert history["perplexity"][-1] > 0.3 * 16
    assert history["codebook_usage"][-1] > 0.8
    indices = model.encode_indices(x[:10])
    assert indices.shape == (10, 7, 7) and indices.dtype == np.int32
    np.testing.assert_allclose(model.decode_indices(indices), model.reconstruct(x[:10]), atol=1e-6)


def test_encode_is_the_quantised_grid_and_bad_codes_are_refused(mnist_images):
    model = keras_ae.VQVAE(**TINY)
    x = mnist_images[0][:5]
    codes = model.encode(x).reshape(5, 4, 2)
    codebook = model.codebook.numpy()
    np.testing.assert_allclose(codes, codebook[model.encode_indices(x).reshape(5, 4)], rtol=1e-6)
    np.testing.assert_allclose(model.decode(model.encode(x)), model.reconstruct(x), atol=1e-6)
    with pytest.raises(ValueError, match=r"integer code grids of shape \(n, 1, 4\)"):
        model.decode_indices(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"in \[0, 8\)"):
        model.decode_indices(np.full((2, 1, 4), 8))
    with pytest.raises(ValueError, match="multiple of code_dim"):
        keras_ae.VQVAE(**{**TINY, "code_dim": 3})
    with pytest.raises(ValueError, match="multiple of 49"):
        keras_ae.VQVAE(input_shape=(28, 28, 1), latent_dim=50, code_dim=2)
    with pytest.raises(ValueError, match="codebook_update"):
        keras_ae.VQVAE(**TINY, codebook_update="kmeans")


@pytest.mark.parametrize("position", [(0, 0), (1, 2), (2, 1), (3, 3)])
def test_the_prior_is_causal_in_raster_order(position):
    prior = build_gated_pixelcnn((4, 4), 5, channels=8, num_layers=3)
    grid = rng.integers(0, 5, size=(1, 4, 4))
    changed = grid.copy()
    changed[0][position] = (grid[0][position] + 1) % 5
    before, after = prior(grid).numpy()[0], prior(changed).numpy()[0]
    order = np.arange(16).reshape(4, 4)
    at = order[position]
    # Logits at and before the changed position ignore it; later ones may not.
    np.testing.assert_array_equal(before[order <= at], after[order <= at])
    if at < 15:
        assert not np.allclose(before[order > at], after[order > at])


def test_the_prior_sees_the_whole_past_with_no_blind_spot():
    prior = build_gated_pixelcnn((5, 5), 3, channels=8, num_layers=4)
    grid = rng.integers(0, 3, size=(1, 5, 5))
    target = (4, 0)  # the vertical stack must carry the top-right corner down to here
    for source in [(0, 4), (3, 4), (4, 0)]:
        changed = grid.copy()
        changed[0][source] = (grid[0][source] + 1) % 3
        moved = not np.allclose(prior(grid).numpy()[0][target], prior(changed).numpy()[0][target])
        assert moved == (source != target)


def test_sampled_codes_follow_a_prior_that_prefers_one_code():
    prior = build_gated_pixelcnn((2, 3), 4, channels=4, num_layers=1)
    logits = prior.get_layer("logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([np.zeros_like(kernel), np.log([0.7, 0.1, 0.1, 0.1])])
    codes = sample_codes(prior, 2000, seed=0)
    assert codes.shape == (2000, 2, 3) and codes.dtype == np.int32
    frequencies = np.bincount(codes.ravel(), minlength=4) / codes.size
    np.testing.assert_allclose(frequencies, [0.7, 0.1, 0.1, 0.1], atol=0.02)
    np.testing.assert_array_equal(codes, sample_codes(prior, 2000, seed=0))


def test_the_two_stages_train_their_own_networks(mnist_images, tmp_path):
    x = mnist_images[0][:256]
    model = keras_ae.VQVAE(**TINY, seed=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    prior_before = [w.copy() for w in model.prior.get_weights()]
    model.fit(x, batch_size=64, epochs=2, verbose=0)
    for old, new in zip(prior_before, model.prior.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    autoencoder = [w.copy() for w in model.encoder.get_weights() + [model.codebook.numpy()]]
    history = model.fit_prior(x, batch_size=64, epochs=2, verbose=0).history
    assert set(history) == {"prior_nll"}
    assert history["prior_nll"][-1] < history["prior_nll"][0]
    for old, new in zip(
        autoencoder, model.encoder.get_weights() + [model.codebook.numpy()], strict=True
    ):
        np.testing.assert_array_equal(old, new)
    assert int(model.trained_steps.numpy()) == 8 and int(model.prior_trained_steps.numpy()) == 8
    nll = model.prior_nll(x[:64])
    assert nll.shape == (64,)
    evaluated = model.evaluate_prior(x[:64], verbose=0, return_dict=True)
    assert evaluated["prior_nll"] == pytest.approx(nll.mean(), rel=1e-4)

    assert model.sample(3, seed=4).shape == (3, 28, 28, 1)


def test_the_codebook_chart_counts_the_codes_in_use(mnist_images, tmp_path):
    from keras_ae import plotting

    model = keras_ae.VQVAE(**TINY)
    x = mnist_images[0][:50]
    figure = plotting.codebook_usage_chart(model, x, path=tmp_path / "codebook.png")
    used = len(np.unique(model.encode_indices(x)))
    assert f"({used} of 8 used)" in figure.axes[0].get_title()
    assert (tmp_path / "codebook.png").is_file()
