"""Sample quality of MNIST models, in numbers: a small digit classifier (shipped with keras-ae,
trained by ``python -m keras_ae.evaluation.sample_quality``) scores a model's samples.

- ``frechet_distance``: the Frechet distance between Gaussians fitted to the classifier's
  128-d penultimate features of the samples and of the test images (FID's formula, on an MNIST
  classifier instead of Inception; 0 for identical feature statistics, in squared feature
  units).
- ``confident_share``: the share of samples whose most likely class has probability >= 0.9
  (a sample that looks like one digit, not a blend).

Samples are the decoder's mean images (probabilities), the way they are drawn on the cards;
the reference is the grey test set.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import keras
import numpy as np
import scipy.linalg

CLASSIFIER_FILE = Path(__file__).parent / "assets" / "mnist_digit_classifier.weights.h5"
FEATURE_LAYER = "features"
CONFIDENCE = 0.9
IMAGE_SHAPE = (28, 28, 1)


def digit_classifier_network() -> keras.Model:
    """The classifier's network (131k parameters): three 3x3 convolutions of 32, 64 and 64
    channels, each followed by 2x2 max pooling, a 128-unit ReLU layer (the features) and 10
    logits."""
    inputs = keras.Input(IMAGE_SHAPE)
    h = inputs
    for filters in (32, 64, 64):
        h = keras.layers.Conv2D(filters, 3, activation="relu", padding="same")(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(128, activation="relu", name=FEATURE_LAYER)(h)
    logits = keras.layers.Dense(10, name="logits")(h)
    return keras.Model(inputs, logits, name="mnist_digit_classifier")


@functools.lru_cache(maxsize=1)
def digit_classifier() -> keras.Model:
    """The shipped classifier, with a second output: ``model(x) -> (logits, features)``."""
    if not CLASSIFIER_FILE.is_file():
        raise FileNotFoundError(
            f"The digit classifier's weights are not at {CLASSIFIER_FILE}; train them with "
            "`python -m keras_ae.evaluation.sample_quality --out <that path>`."
        )
    network = digit_classifier_network()
    network.load_weights(CLASSIFIER_FILE)
    return keras.Model(network.inputs, [network.output, network.get_layer(FEATURE_LAYER).output])


def classify(images, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(n, 10)`` and features ``(n, 128)`` of ``(n, 28, 28, 1)`` images
    in [0, 1]."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected images of shape (n, 28, 28, 1), got {images.shape}.")
    classifier = digit_classifier()
    probabilities, features = [], []
    for start in range(0, len(images), batch_size):
        logits, feature = classifier(images[start : start + batch_size], training=False)
        probabilities.append(keras.ops.convert_to_numpy(keras.ops.softmax(logits)))
        features.append(keras.ops.convert_to_numpy(feature))
    return np.concatenate(probabilities), np.concatenate(features).astype(np.float64)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to two
    sets of feature rows ``(n, d)`` (sample covariances, n - 1 in the denominator)."""
    features_a, features_b = np.asarray(features_a), np.asarray(features_b)
    if features_a.ndim != 2 or features_a.shape[1:] != features_b.shape[1:]:
        raise ValueError(
            f"expected two (n, d) feature arrays of the same d, got {features_a.shape} and "
            f"{features_b.shape}."
        )
    if min(len(features_a), len(features_b)) < 2:
        raise ValueError("each feature set needs at least 2 rows for a covariance.")
    mean_a, mean_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(features_a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(features_b, rowvar=False))
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(root):
        # Rounding leaves tiny imaginary parts on a product of PSD matrices; larger ones mean
        # the estimate is broken.
        if np.abs(root.imag).max() > 1e-3 * max(1.0, np.abs(root.real).max()):
            raise ValueError("the covariance product has no real square root.")
        root = root.real
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root)
    return float(max(distance, 0.0))


def sample_quality(samples, reference) -> dict:
    """``frechet_distance`` of ``samples``' classifier features to ``reference``'s, and
    ``confident_share``, the share of samples classified with probability >= 0.9."""
    probabilities, sample_features = classify(samples)
    _, reference_features = classify(reference)
    return {
        "frechet_distance": frechet_distance(sample_features, reference_features),
        "confident_share": float(np.mean(probabilities.max(axis=1) >= CONFIDENCE)),
        "num_samples": int(len(probabilities)),
    }


def model_sample_quality(model, reference, num_samples: int = 10_000, seed: int = 0) -> dict:
    """``sample_quality`` of ``num_samples`` samples of ``model`` (``model.sample``)."""
    return sample_quality(model.sample(num_samples, seed=seed), reference)


def train_digit_classifier(
    out: str | Path = CLASSIFIER_FILE, epochs: int = 10, seed: int = 0, verbose: int = 2
) -> dict:
    """Trains the classifier on the training digits of ``mnist`` (55,000 from keras_ae_mnist,
    or 60,000) with random shifts of up to 2 pixels, and saves its weights (no optimizer
    state) to ``out``; returns its accuracy on the official 10,000 test digits."""
    import tensorflow as tf

    from keras_ae import datasets

    keras.utils.set_random_seed(seed)
    x_train, y_train = datasets.load("mnist", "train", with_labels=True)
    x_test, y_test = datasets.load("mnist", "test", with_labels=True)
    shift = keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed)
    batch_size = 128
    train = datasets.without_autotune(
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=seed)
        .batch(batch_size)
        .map(lambda x, y: (shift(x, training=True), y))
        .prefetch(2)
    )
    network = digit_classifier_network()
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    network.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    network.fit(train, epochs=epochs, verbose=verbose)
    accuracy = float(network.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
    # A fresh, uncompiled copy: its weights file holds the weights alone.
    weights_only = digit_classifier_network()
    weights_only.set_weights(network.get_weights())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    weights_only.save_weights(out)
    return {"test_accuracy": accuracy, "train_examples": len(x_train), "epochs": epochs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Train the MNIST digit classifier that scores "
        "samples (keras_ae.evaluation.sample_quality)."
    )
    parser.add_argument("--out", default=str(CLASSIFIER_FILE), help="the weights file to write")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = train_digit_classifier(args.out, args.epochs, args.seed)
    print(f"wrote {args.out}: test accuracy {result['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
