"""Each picture renders from a tiny model to a PNG of the expected size that is not blank."""

import numpy as np
import pytest
from PIL import Image

import keras_ae
from keras_ae import plotting


@pytest.fixture(scope="module")
def vae():
    return keras_ae.VAE(input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,))


@pytest.fixture(scope="module")
def digits(mnist_images):
    return mnist_images[0][:200], mnist_images[1][:200]


def _check_png(path, min_size=(100, 60)):
    picture = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    assert picture.shape[1] >= min_size[0] and picture.shape[0] >= min_size[1]
    assert picture.std() > 5.0, "the picture is blank"
    return picture


def test_spread_of_examples_is_seeded_and_covers_a_sorted_split(mnist_images):
    labels = mnist_images[1]
    order = np.argsort(labels, kind="stable")
    shown = plotting.spread_of_examples(labels[order], n=10)
    assert len(set(shown)) > 3
    np.testing.assert_array_equal(shown, plotting.spread_of_examples(labels[order], n=10))


def test_reconstruction_grid(vae, digits, tmp_path):
    figure = plotting.reconstruction_grid(vae, digits[0], n=8, path=tmp_path / "r.png")
    _check_png(tmp_path / "r.png", (300, 80))
    assert figure.axes


@pytest.mark.parametrize("scale", [None, "posterior", "prior", "aggregate"])
def test_latent_traversal_has_one_row_per_latent(vae, digits, tmp_path, scale):
    frames, order = plotting.traversal_frames(
        vae, digits[0][0], n_steps=7, scale=scale, reference=digits[0]
    )
    assert frames.shape == (4, 7, 28, 28)
    assert sorted(order) == [0, 1, 2, 3]
    kl = plotting.kl_per_latent(vae, digits[0])
    assert list(kl[order]) == sorted(kl, reverse=True)
    plotting.latent_traversal(
        vae, digits[0][0], n_steps=7, scale=scale, reference=digits[0], path=tmp_path / "t.png"
    )
    _check_png(tmp_path / "t.png", (200, 150))


def test_traversal_of_a_plain_autoencoder_needs_a_spread(digits):
    model = keras_ae.Autoencoder(input_shape=(28, 28, 1), latent_dim=3, hidden_units=(16,))
    frames, order = plotting.traversal_frames(model, digits[0][0], reference=digits[0])
    assert frames.shape[:2] == (3, 11) and sorted(order) == [0, 1, 2]
    spread = model.encode(digits[0]).std(axis=0)
    assert list(spread[order]) == sorted(spread, reverse=True)
    frames, order = plotting.traversal_frames(
        model, digits[0][0], reference=digits[0], max_latents=2
    )
    assert frames.shape[:2] == (2, 11) and order == list(np.argsort(-spread)[:2])
    with pytest.raises(ValueError, match="needs a VAE"):
        plotting.traversal_frames(model, digits[0][0], scale="posterior")


def test_traversal_gif_has_one_frame_per_step(vae, digits, tmp_path):
    n_frames = plotting.traversal_gif(vae, digits[0][0], tmp_path / "t.gif", n_steps=9)
    gif = Image.open(tmp_path / "t.gif")
    assert n_frames == gif.n_frames == 9
    first = np.asarray(gif.convert("L"), np.float32)
    gif.seek(8)
    last = np.asarray(gif.convert("L"), np.float32)
    assert first.std() > 5.0 and np.abs(first - last).mean() > 0.1


@pytest.mark.parametrize("use_pca", [False, True])
def test_latent_scatter(vae, digits, tmp_path, use_pca):
    plotting.latent_scatter(
        vae.encode(digits[0]), digits[1], use_pca=use_pca, path=tmp_path / "s.png"
    )
    _check_png(tmp_path / "s.png", (300, 250))
    with pytest.raises(ValueError, match="d >= 2"):
        plotting.latent_scatter(np.zeros((5, 1)))


def test_sample_grid(vae, tmp_path):
    plotting.sample_grid(vae, n=10, path=tmp_path / "g.png")
    _check_png(tmp_path / "g.png", (150, 100))
    with pytest.raises(ValueError, match="no prior"):
        plotting.sample_grid(keras_ae.Autoencoder(input_shape=(4,), latent_dim=2))


@pytest.mark.parametrize(
    "model",
    [
        keras_ae.KSparseAutoencoder(input_shape=(28, 28, 1), latent_dim=36, hidden_units=(), k=5),
        keras_ae.Autoencoder(input_shape=(28, 28, 1), latent_dim=4, architecture="conv28"),
    ],
    ids=["dense", "conv"],
)
def test_encoder_filters(model, tmp_path):
    plotting.encoder_filters(model, n=36, path=tmp_path / "f.png")
    _check_png(tmp_path / "f.png", (150, 150))


def test_kl_bar_chart_and_training_curves(vae, digits, tmp_path):
    plotting.kl_bar_chart(plotting.kl_per_latent(vae, digits[0]), path=tmp_path / "kl.png")
    _check_png(tmp_path / "kl.png", (300, 200))
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, 1.9], "kl": [0.1, 0.5, 0.7]}
    figure = plotting.training_curves(history, path=tmp_path / "c.png")
    assert len(figure.axes) == 2
    _check_png(tmp_path / "c.png", (400, 200))


def test_code_index_maps_show_a_quantised_models_codes_under_its_inputs(digits, tmp_path):
    from keras_ae.zoo.pictures import draw_pictures
    from keras_ae.zoo.recipes import Recipe

    model = keras_ae.VQVAE(
        input_shape=(28, 28, 1),
        latent_dim=8,
        architecture="mlp",
        hidden_units=(32,),
        code_dim=2,
        num_codes=8,
        prior_channels=8,
        prior_layers=2,
        seed=1,
    )
    plotting.code_index_maps(model, digits[0], n=6, path=tmp_path / "codes.png")
    _check_png(tmp_path / "codes.png", (300, 80))
    with pytest.raises(ValueError, match="has no codebook"):
        plotting.code_index_maps(keras_ae.VAE(input_shape=(4,), latent_dim=2), np.zeros((1, 4)))

    # A recipe's traversal means nothing for a quantised code: its code-index maps are drawn.
    recipe = Recipe.from_dict(
        {
            "name": "vq",
            "model": {"class": "VQVAE"},
            "data": {"name": "mnist_5k"},
            "training": {"steps": 1},
            "pictures": ["traversal", "code_indices"],
        }
    )
    drawn = draw_pictures(model, recipe, {"x_test": digits[0]}, tmp_path / "preset")
    assert sorted(drawn) == ["code_indices.png"]


def test_kl_over_training_draws_a_line_per_latent_and_the_capacity(tmp_path):
    history = [
        {"step": step, "capacity": step / 100, "kl_per_latent": [step / 200, step / 400, 0.0]}
        for step in (100, 200, 300)
    ]
    figure = plotting.kl_over_training(
        [{"step": 50, "loss": 1.0}, *history], path=tmp_path / "kl.png"
    )
    [axes] = figure.axes
    assert len(axes.lines) == 4  # three latents and C
    np.testing.assert_allclose(axes.lines[0].get_ydata(), [0.5, 1.0, 1.5])  # largest first
    assert (tmp_path / "kl.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no KL per latent"):
        plotting.kl_over_training([{"step": 1, "loss": 1.0}])
