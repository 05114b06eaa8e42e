"""The three Jacobian penalties of the contractive autoencoder agree with each other."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae


def _sigmoid_dense_model(jacobian: str, **kwargs) -> keras_ae.ContractiveAutoencoder:
    return keras_ae.ContractiveAutoencoder(
        input_shape=(8, 8, 1),
        latent_dim=12,
        hidden_units=(),
        code_activation="sigmoid",
        jacobian=jacobian,
        **kwargs,
    )


@pytest.fixture
def batch() -> tf.Tensor:
    return tf.constant(np.random.default_rng(1).uniform(size=(16, 8, 8, 1)), tf.float32)


def test_exact_equals_closed_form_for_a_sigmoid_dense_encoder(batch):
    exact = _sigmoid_dense_model("exact")
    closed = _sigmoid_dense_model("closed_form")
    closed.set_weights(exact.get_weights())
    _, exact_norm = exact.code_and_jacobian_norm(batch)
    _, closed_norm = closed.code_and_jacobian_norm(batch)
    np.testing.assert_allclose(exact_norm.numpy(), closed_norm.numpy(), rtol=1e-5, atol=1e-7)
    # And so do the gradients the penalty sends into the weights.
    gradients = []
    for model in (exact, closed):
        with tf.GradientTape() as tape:
            penalty = model.loss_terms(batch, training=True)["contractive"]
        gradients.append(tape.gradient(penalty, model.encoder.trainable_variables))
    for g_exact, g_closed in zip(*gradients, strict=True):
        np.testing.assert_allclose(g_exact.numpy(), g_closed.numpy(), rtol=1e-4, atol=1e-7)


def test_hutchinson_estimate_is_within_five_percent_over_many_probes(batch):
    exact = keras_ae.ContractiveAutoencoder(
        input_shape=(8, 8, 1), latent_dim=12, hidden_units=(32,), jacobian="exact"
    )
    estimate = keras_ae.ContractiveAutoencoder(
        input_shape=(8, 8, 1),
        latent_dim=12,
        hidden_units=(32,),
        jacobian="hutchinson",
        n_probes=1000,
        seed=3,
    )
    estimate.set_weights(exact.get_weights())
    truth = tf.reduce_mean(exact.code_and_jacobian_norm(batch)[1]).numpy()
    approx = tf.reduce_mean(tf.function(estimate.code_and_jacobian_norm)(batch)[1]).numpy()
    assert approx == pytest.approx(truth, rel=0.05)
    assert approx != truth  # an estimate, not the exact value by another route


def test_hutchinson_gradient_points_where_the_exact_one_does(batch):
    kwargs = dict(input_shape=(8, 8, 1), latent_dim=4, hidden_units=(16,), lam=1.0)
    exact = keras_ae.ContractiveAutoencoder(jacobian="exact", **kwargs)
    estimate = keras_ae.ContractiveAutoencoder(jacobian="hutchinson", n_probes=500, **kwargs)
    estimate.set_weights(exact.get_weights())
    gradients = []
    for model in (exact, estimate):
        with tf.GradientTape() as tape:
            penalty = model.loss_terms(batch, training=True)["contractive"]
        kernels = [layer.kernel for layer in model.encoder.layers if hasattr(layer, "kernel")]
        gradients.append(
            tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(penalty, kernels)], 0)
        )
    cosine = tf.reduce_sum(gradients[0] * gradients[1]) / (
        tf.norm(gradients[0]) * tf.norm(gradients[1])
    )
    assert float(cosine) > 0.95


def test_closed_form_refuses_other_encoders():
    with pytest.raises(ValueError, match="one sigmoid Dense layer"):
        keras_ae.ContractiveAutoencoder(
            input_shape=(8, 8, 1), latent_dim=4, hidden_units=(16,), jacobian="closed_form"
        )
    with pytest.raises(ValueError, match="one sigmoid Dense layer"):
        keras_ae.ContractiveAutoencoder(
            input_shape=(8, 8, 1), latent_dim=4, hidden_units=(), jacobian="closed_form"
        )


def test_unknown_jacobian_method_is_named():
    with pytest.raises(ValueError, match="expected one of"):
        keras_ae.ContractiveAutoencoder(input_shape=(4,), latent_dim=2, jacobian="finite")


def test_penalty_lowers_the_jacobian_norm(mnist_images):
    x = mnist_images[0][:512]
    norms = {}
    for lam in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        model = keras_ae.ContractiveAutoencoder(
            input_shape=(28, 28, 1), latent_dim=16, hidden_units=(64,), lam=lam
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(x, batch_size=64, epochs=3, verbose=0)
        norms[lam] = float(tf.reduce_mean(model.code_and_jacobian_norm(tf.constant(x))[1]))
    assert norms[1.0] < 0.5 * norms[0.0]
