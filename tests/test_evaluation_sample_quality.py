"""Sample quality: the Frechet distance against numpy, and the shipped digit classifier on real
digits, noise and a sampling model."""

import numpy as np
import pytest

import keras_ae
from keras_ae import datasets
from keras_ae.evaluation import evaluate_model, sample_quality


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def test_frechet_distance_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(300, 5)) * [1, 2, 3, 0.5, 1] + 0.7
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr((A B)^1/2) = tr((A^1/2 B A^1/2)^1/2) for PSD A and B: a route without sqrtm.
    root_a = _psd_sqrt(cov_a)
    cross = np.trace(_psd_sqrt(root_a @ cov_b @ root_a))
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    assert sample_quality.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_a_shift_is_its_squared_length():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 4))
    assert sample_quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert sample_quality.frechet_distance(a, a + [3, 0, 4, 0]) == pytest.approx(25.0, rel=1e-6)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError, match="same d"):
        sample_quality.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        sample_quality.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return datasets.load("mnist_5k", "test")


def test_digits_against_themselves_score_near_zero_and_noise_far(digits):
    same = sample_quality.sample_quality(digits, digits)
    assert same["frechet_distance"] < 1e-3
    assert same["confident_share"] > 0.95
    halves = sample_quality.sample_quality(digits[::2], digits[1::2])
    noise = np.random.default_rng(0).random(digits.shape, dtype=np.float32)
    far = sample_quality.sample_quality(noise, digits)
    assert far["frechet_distance"] > 20 * max(halves["frechet_distance"], 1e-3)
    assert far["confident_share"] < same["confident_share"]


def test_the_classifier_refuses_other_image_shapes():
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\)"):
        sample_quality.classify(np.zeros((2, 64, 64, 1), np.float32))


def test_evaluate_model_scores_a_sampling_model(digits):
    model = keras_ae.VAE(input_shape=(28, 28, 1), latent_dim=2, hidden_units=[16], seed=0)
    metrics = evaluate_model(model, digits[:200], sample_quality_samples=300, verbose=False)
    assert metrics["sample_quality.num_samples"] == 300
    assert metrics["sample_quality.frechet_distance"] > 0
    assert 0.0 <= metrics["sample_quality.confident_share"] <= 1.0


@pytest.mark.large
def test_the_shipped_classifier_reaches_99_percent_on_the_official_test_set(full_mnist):
    x_test, y_test = datasets.load("mnist", "test", with_labels=True)
    probabilities, _ = sample_quality.classify(x_test)
    assert np.mean(probabilities.argmax(axis=1) == y_test) >= 0.99
