"""Sanity orderings against PCA on held-out MNIST digits (Hinton & Salakhutdinov 2006)."""

import keras
import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import keras_ae


@pytest.fixture(scope="module")
def split(mnist_images):
    images, labels = mnist_images
    flat = images.reshape(len(images), -1)
    return train_test_split(flat, test_size=1000, stratify=labels, random_state=0)


def _squared_error(reconstructions: np.ndarray, x: np.ndarray) -> float:
    return float(((reconstructions - x) ** 2).sum(axis=1).mean())


@pytest.fixture(scope="module")
def pca_30_error(split) -> float:
    train, test = split
    pca = PCA(30).fit(train)
    return _squared_error(pca.inverse_transform(pca.transform(test)), test)


def test_linear_autoencoder_matches_pca(split, pca_30_error):
    train, test = split
    model = keras_ae.Autoencoder(
        input_shape=(784,), latent_dim=30, hidden_units=(), likelihood="squared_error"
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(train, batch_size=128, epochs=30, verbose=0)
    error = _squared_error(model.reconstruct(test), test)
    assert error <= 1.03 * pca_30_error
    assert error >= 0.97 * pca_30_error  # a linear map cannot do much better than PCA


@pytest.mark.large
def test_deep_autoencoder_beats_pca(split, pca_30_error):
    train, test = split
    model = keras_ae.Autoencoder(
        input_shape=(784,),
        latent_dim=30,
        hidden_units=(1000, 500, 250),
        likelihood="squared_error",
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(train, batch_size=64, epochs=25, verbose=0)
    assert _squared_error(model.reconstruct(test), test) < pca_30_error
