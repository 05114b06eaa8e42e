"""Probes (keras_ae.evaluation.probes): how much of the labels, or of the ground-truth factors,
a logistic regression and a kNN classifier read off a representation."""

import numpy as np
import pytest

import keras_ae
from keras_ae import evaluation
from keras_ae.evaluation.probes import probe_accuracy

# Four balanced classes, 50 of each in training and 25 in the test set.
TRAIN_LABELS = np.arange(200) % 4
TEST_LABELS = np.arange(100) % 4


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


def test_factor_probes_read_each_factor(tiny_factors):
    scores = evaluation.factor_probes(
        tiny_factors, lambda x: x, np.random.RandomState(0), num_train=400, num_test=200
    )
    assert scores["logistic.left"] == 1.0 and scores["knn.right"] == 1.0
    assert scores["logistic.mean"] == 1.0
    # A representation that sees only the left factor reads the right one at chance.
    left_only = evaluation.factor_probes(
        tiny_factors,
        lambda x: x[:, :4],
        np.random.RandomState(0),
        num_train=400,
        num_test=200,
        classifiers=("logistic",),
    )
    assert left_only["logistic.left"] == 1.0 and left_only["logistic.right"] < 0.4


@pytest.mark.parametrize("classifier", ["logistic", "knn"])
def test_the_label_itself_scores_one_and_a_constant_scores_chance(classifier):
    as_feature = lambda labels: labels[:, None].astype("float32")  # noqa: E731
    assert probe_accuracy(
        as_feature(TRAIN_LABELS), TRAIN_LABELS, as_feature(TEST_LABELS), TEST_LABELS, classifier
    ) == pytest.approx(1.0)
    # Identical features get one prediction, right for exactly a quarter of balanced labels.
    constant_train, constant_test = np.ones((200, 3)), np.ones((100, 3))
    accuracy = probe_accuracy(constant_train, TRAIN_LABELS, constant_test, TEST_LABELS, classifier)
    assert accuracy == pytest.approx(0.25)


def test_the_embedding_is_what_the_encode_function_returns():
    # The label is written into the first pixel of otherwise random images; the "encoder"
    # keeps that pixel only (as a 2-d code).
    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.uniform(size=(len(labels), 5, 5, 1)).astype("float32")
        x[:, 0, 0, 0] = labels
        return x

    scores = evaluation.classification_probes(
        lambda x: x[:, 0, :2, 0],
        images(TRAIN_LABELS),
        TRAIN_LABELS,
        images(TEST_LABELS),
        TEST_LABELS,
        classifiers=("knn",),
        baselines=False,
    )
    assert set(scores) == {"embedding.knn"}
    # The other kept pixel is noise in [0, 1), smaller than the gap of 1 between labels.
    assert scores["embedding.knn"] == 1.0


def test_an_unknown_classifier_is_refused():
    with pytest.raises(ValueError, match=r"Unknown classifier 'svm'; expected one of \("):
        probe_accuracy(np.ones((4, 1)), [0, 1, 0, 1], np.ones((2, 1)), [0, 1], "svm")
