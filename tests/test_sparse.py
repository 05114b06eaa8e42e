"""The sparse autoencoder's KL penalty (Ng): beta * sum_j KL(rho || rho_hat_j), rho_hat the
batch mean of the sigmoid code. (k-sparse codes are tested in test_ksparse.py.)"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae

SMALL = dict(input_shape=(8,), latent_dim=5, hidden_units=())
x = tf.constant(np.random.default_rng(0).uniform(size=(16, 8)), tf.float32)


def _kl(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))


def test_the_sparsity_term_is_beta_times_the_summed_kl_of_the_batch_mean():
    model = keras_ae.SparseAutoencoder(**SMALL, rho=0.1, beta=2.5, seed=0)
    code = model.encoder(x).numpy().astype("float64")
    rho_hat = code.mean(axis=0)
    expected = 2.5 * _kl(0.1, rho_hat).sum()
    terms = model.loss_terms(x, training=True)
    assert float(terms["sparsity"]) == pytest.approx(expected, rel=1e-5)
    assert float(terms["loss"]) == pytest.approx(
        float(terms["reconstruction"]) + expected, rel=1e-5
    )
    # evaluate on the same batch reports the same terms.
    model.compile(optimizer="adam")
    results = model.evaluate(x.numpy(), batch_size=16, verbose=0, return_dict=True)
    assert results["sparsity"] == pytest.approx(expected, rel=1e-5)
    assert set(results) == {"loss", "reconstruction", "sparsity"}


def test_the_code_is_a_sigmoid_and_rho_hat_its_batch_mean_not_a_mean_of_kls():
    model = keras_ae.SparseAutoencoder(**SMALL, rho=0.1, beta=1.0)
    assert model.code_activation == "sigmoid"
    code = model.encoder(x).numpy()
    assert 0.0 < code.min() and code.max() < 1.0
    # Every unit reads the first input: half the examples give it 0.05, half 0.15. The batch
    # mean is rho, so the penalty vanishes, although no single example's activation is rho.
    kernel = np.zeros((8, 5), "float32")
    kernel[0] = 1.0
    model.encoder.get_layer("code").set_weights([kernel, np.zeros(5, "float32")])
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    batch = np.zeros((16, 8), "float32")
    batch[:8, 0], batch[8:, 0] = logit(0.05), logit(0.15)
    code = model.encoder(batch).numpy()
    np.testing.assert_allclose(code[:8], 0.05, rtol=1e-5)
    np.testing.assert_allclose(code[8:], 0.15, rtol=1e-5)
    assert float(model.loss_terms(tf.constant(batch))["sparsity"]) == pytest.approx(0, abs=1e-5)
    assert _kl(0.1, code).mean(axis=0).sum() > 0.05  # the per-example KLs would not vanish


def test_training_pulls_the_mean_activation_towards_rho():
    data = np.random.default_rng(1).uniform(size=(512, 8)).astype("float32")
    means = {}
    for beta in (0.0, 3.0):  # the same initial weights, with and without the penalty
        model = keras_ae.SparseAutoencoder(**SMALL, rho=0.05, beta=beta, seed=0)
        model.set_weights(keras_ae.SparseAutoencoder(**SMALL, seed=0).get_weights())
        keras.utils.set_random_seed(0)
        model.compile(optimizer=keras.optimizers.Adam(3e-2))
        before = model.encode(data).mean()
        model.fit(data, batch_size=64, epochs=10, verbose=0)
        means[beta] = model.encode(data).mean()
    assert before > 0.3
    # With the penalty the mean activation lands near rho; without it, it stays near 0.5.
    assert means[3.0] == pytest.approx(0.05, abs=0.02) and means[0.0] > 0.3


def test_the_config_round_trips_rho_and_beta():
    model = keras_ae.SparseAutoencoder(**SMALL, rho=0.2, beta=0.5)
    config = model.get_config()
    assert (config["rho"], config["beta"]) == (0.2, 0.5)
    copy = keras_ae.SparseAutoencoder.from_config(config)
    assert (copy.rho, copy.beta, copy.code_activation) == (0.2, 0.5, "sigmoid")
    assert copy.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(revived) is keras_ae.SparseAutoencoder and (revived.rho, revived.beta) == (0.2, 0.5)


@pytest.mark.parametrize("rho", [0.0, 1.0, -0.1, 1.5])
def test_rho_outside_the_open_unit_interval_is_refused(rho):
    with pytest.raises(ValueError, match=r"rho is a target activation in \(0, 1\)"):
        keras_ae.SparseAutoencoder(**SMALL, rho=rho)
