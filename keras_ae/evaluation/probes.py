"""Probes: how much of the labels, or of the ground-truth factors, a simple classifier reads off
an embedding.

- ``classification_probes``: logistic regression and k-nearest-neighbour accuracy on a model's
  embeddings of a labelled dataset, next to the same classifiers on the raw pixels and on a PCA
  with as many dimensions as the code (fitted on the training images).
- ``factor_probes``: per-factor accuracy of the same classifiers predicting each ground-truth
  factor (e.g. dSprites') from the representation of sampled observations.

The logistic regression sees standardised features (pixels and codes live on different scales);
the kNN classifier (k = 5, Euclidean) sees the features as they are, the embedding's own metric.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keras_ae.evaluation.disentanglement import (
    FactorRepresentation,
    as_random_state,
    factor_representation,
    sample_codes,
)

CLASSIFIERS = ("logistic", "knn")


def _classifier(name: str, n_neighbors: int):
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=n_neighbors)
    raise ValueError(f"Unknown classifier {name!r}; expected one of {CLASSIFIERS}.")


def probe_accuracy(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    classifier: str = "logistic",
    n_neighbors: int = 5,
) -> float:
    """Test accuracy of ``classifier`` ("logistic" or "knn") fitted on features ``(n, k)``."""
    for name, features, labels in (
        ("train", train_features, train_labels),
        ("test", test_features, test_labels),
    ):
        _check_features(np.asarray(features), np.asarray(labels), name)
    model = _classifier(classifier, n_neighbors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_features, train_labels)
    return float(np.mean(model.predict(test_features) == test_labels))


def _check_features(features: np.ndarray, labels: np.ndarray, split: str) -> None:
    # sklearn's own errors name neither the split nor the likely cause (a diverged encoder).
    if features.ndim != 2 or features.shape[1] < 1:
        raise ValueError(f"The {split} features must be (n, k) with k >= 1, got {features.shape}.")
    if len(features) != len(labels):
        raise ValueError(
            f"The {split} features hold {len(features)} examples but the labels {len(labels)}."
        )
    if not np.isfinite(features).all():
        raise ValueError(
            f"The {split} features hold NaN or Inf; a probe needs finite ones (a diverged "
            "encoder gives NaN)."
        )


def _flat(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(len(x), -1)


def classification_probes(
    model_or_encode,
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    classifiers: tuple[str, ...] = CLASSIFIERS,
    baselines: bool = True,
    n_neighbors: int = 5,
) -> dict:
    """Probe accuracies on ``{embedding, pixels, pca}`` features, keyed
    ``"<features>.<classifier>"`` (e.g. ``"embedding.logistic"``, ``"pca.knn"``).

    Args:
        model_or_encode: a model (its ``encode``) or a function ``(n, *shape) -> (n, d)``.
        x_train, y_train, x_test, y_test: images ``(n, *shape)`` and integer labels ``(n,)``.
        classifiers: any of ``"logistic"`` and ``"knn"``.
        baselines: also probe raw pixels and a PCA with ``d`` components fitted on ``x_train``.
    """
    encode = getattr(model_or_encode, "encode", model_or_encode)
    features = {"embedding": (_flat(encode(x_train)), _flat(encode(x_test)))}
    if baselines:
        pixels_train, pixels_test = _flat(x_train), _flat(x_test)
        features["pixels"] = (pixels_train, pixels_test)
        n_components = min(features["embedding"][0].shape[1], *pixels_train.shape)
        pca = PCA(n_components=n_components, random_state=0).fit(pixels_train)
        features["pca"] = (pca.transform(pixels_train), pca.transform(pixels_test))
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return {
        f"{name}.{classifier}": probe_accuracy(
            train, y_train, test, y_test, classifier, n_neighbors
        )
        for name, (train, test) in features.items()
        for classifier in classifiers
    }


def factor_probes(
    ground_truth_data,
    representation_function: Callable[[np.ndarray], np.ndarray] | FactorRepresentation,
    random_state: np.random.RandomState | int,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    classifiers: tuple[str, ...] = CLASSIFIERS,
    n_neighbors: int = 5,
) -> dict:
    """Accuracy of predicting each ground-truth factor from the representation, keyed
    ``"<classifier>.<factor name>"`` plus ``"<classifier>.mean"`` over factors.

    ``num_train`` and ``num_test`` observations are sampled with random factors; the arguments
    are those of the disentanglement metrics (see ``keras_ae.evaluation.disentanglement``).
    """
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    train_codes, train_factors = sample_codes(ground_truth_data, represent, num_train, random_state)
    test_codes, test_factors = sample_codes(ground_truth_data, represent, num_test, random_state)
    names = getattr(ground_truth_data, "factor_names", None) or [
        f"factor_{index}" for index in range(train_factors.shape[1])
    ]
    results = {}
    for classifier in classifiers:
        accuracies = [
            probe_accuracy(
                train_codes,
                train_factors[:, index],
                test_codes,
                test_factors[:, index],
                classifier,
                n_neighbors,
            )
            for index in range(train_factors.shape[1])
        ]
        for name, accuracy in zip(names, accuracies, strict=True):
            results[f"{classifier}.{name}"] = accuracy
        results[f"{classifier}.mean"] = float(np.mean(accuracies))
    return results
