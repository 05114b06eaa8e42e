"""Reconstruction error and the PCA baseline, and ``evaluate_model``'s table and metrics.json
(the probes and the encoder's Jacobian have their own test files)."""

import json

import numpy as np
import pytest

import keras_ae
from keras_ae import evaluation


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


def test_evaluate_model_applies_only_what_fits_the_model(monkeypatch, linear_model, tiny_factors):
    model = linear_model(np.eye(8)[:, :3])
    small_metrics = {"mig.discrete_mig": 0.5}
    monkeypatch.setattr(
        "keras_ae.evaluation.report.disentanglement_metrics", lambda *args: small_metrics
    )
    x = tiny_factors.sample_observations_from_factors(np.zeros((5, 2), int), None)
    metrics = evaluation.evaluate_model(
        model, x, ground_truth_data=tiny_factors, verbose=False, random_state=0
    )
    assert "kl.total" not in metrics and "elbo.elbo" not in metrics
    assert metrics["mig.discrete_mig"] == 0.5
    assert "factor_probe.logistic.left" in metrics
