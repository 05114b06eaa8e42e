"""k-sparse codes: exactly k units survive, and only they receive gradient."""

import numpy as np
import tensorflow as tf

import keras_ae
from keras_ae.models.sparse import keep_top_k


def test_exactly_k_units_are_nonzero_per_example(mnist_images):
    model = keras_ae.KSparseAutoencoder(
        input_shape=(28, 28, 1), latent_dim=100, hidden_units=(), k=7
    )
    code = model.encode(mnist_images[0][:64])
    np.testing.assert_array_equal((code != 0).sum(axis=1), 7)
    dense_code = model.encoder(mnist_images[0][:64]).numpy()
    kept = np.sort(dense_code, axis=1)[:, -7:]
    np.testing.assert_allclose(np.sort(code, axis=1)[:, -7:], kept)


def test_gradient_reaches_only_the_kept_units(mnist_images):
    model = keras_ae.KSparseAutoencoder(
        input_shape=(28, 28, 1), latent_dim=50, hidden_units=(), k=5
    )
    x = tf.constant(mnist_images[0][:32])
    dense_code = model.encoder(x)
    with tf.GradientTape() as tape:
        tape.watch(dense_code)
        sparse_code = keep_top_k(dense_code, 5)
        loss = tf.reduce_mean(model.reconstruction_nll(x, model.decoder(sparse_code)))
    gradient = tape.gradient(loss, dense_code).numpy()
    kept = sparse_code.numpy() != 0
    assert np.all(gradient[~kept] == 0.0)
    assert np.all(gradient[kept] != 0.0)


def test_k_anneals_from_k_start_to_k():
    model = keras_ae.KSparseAutoencoder(
        input_shape=(4,), latent_dim=40, hidden_units=(), k=10, k_start=30, anneal_steps=100
    )
    seen = []
    for step in (0, 50, 100, 400):
        model.trained_steps.assign(step)
        seen.append(int(model.current_k()))
    assert seen == [30, 20, 10, 10]


def test_alpha_widens_the_embedding():
    model = keras_ae.KSparseAutoencoder(
        input_shape=(16,), latent_dim=40, hidden_units=(), k=4, alpha=2.5
    )
    code = model.encode(np.random.default_rng(0).uniform(size=(8, 16)))
    np.testing.assert_array_equal((code != 0).sum(axis=1), 10)
