"""The total-correlation family: its loss terms against numpy, and its models' training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import losses


def _log_normal(z, mean, log_var):
    return -0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))


def _brute_force_decomposition(z, mean, log_var, dataset_size):
    """Chen et al.'s minibatch-weighted sampling written out with explicit loops."""
    batch, dims = z.shape
    normaliser = dataset_size * batch
    terms = np.zeros((3, batch))
    for i in range(batch):
        log_q_given_x = sum(_log_normal(z[i, d], mean[i, d], log_var[i, d]) for d in range(dims))
        joint = [
            np.exp(sum(_log_normal(z[i, d], mean[j, d], log_var[j, d]) for d in range(dims)))
            for j in range(batch)
        ]
        log_q = np.log(sum(joint) / normaliser)
        log_marginals = sum(
            np.log(
                sum(np.exp(_log_normal(z[i, d], mean[j, d], log_var[j, d])) for j in range(batch))
                / normaliser
            )
            for d in range(dims)
        )
        log_p = sum(_log_normal(z[i, d], 0.0, 0.0) for d in range(dims))
        terms[:, i] = (log_q_given_x - log_q, log_q - log_marginals, log_marginals - log_p)
    return terms


def test_minibatch_weighted_sampling_matches_brute_force():
    rng = np.random.default_rng(0)
    z, mean = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    log_var = 0.5 * rng.normal(size=(6, 4))
    expected = _brute_force_decomposition(z, mean, log_var, dataset_size=1000)
    got = losses.total_correlation_decomposition(
        tf.constant(z), tf.constant(mean), tf.constant(log_var), dataset_size=1000
    )
    np.testing.assert_allclose(np.stack([t.numpy() for t in got]), expected, rtol=1e-10)
    # The three terms add up to the one-sample KL estimate log q(z|x) - log p(z).
    one_sample_kl = (_log_normal(z, mean, log_var) - _log_normal(z, 0.0, 0.0)).sum(axis=1)
    np.testing.assert_allclose(expected.sum(axis=0), one_sample_kl, rtol=1e-10)


def test_total_correlation_is_larger_for_dependent_latents():
    # Latents that copy each other against the same latents shuffled independently.
    rng = np.random.default_rng(1)
    first = rng.normal(size=(256, 1))
    dependent = np.hstack([first, first])
    independent = np.hstack([first, rng.permutation(first)])
    log_var = np.full((256, 2), -4.0)

    def mean_tc(mean):
        z = mean + np.exp(-2.0) * rng.normal(size=mean.shape)
        terms = losses.total_correlation_decomposition(
            tf.constant(z), tf.constant(mean), tf.constant(log_var), dataset_size=256
        )
        return float(tf.reduce_mean(terms[1]))

    assert mean_tc(dependent) > mean_tc(independent) + 1.0


SMALL = dict(input_shape=(28, 28, 1), latent_dim=6, hidden_units=(64,))


def test_beta_tcvae_with_unit_weights_is_the_vae(mnist_images):
    x = tf.constant(mnist_images[0][:64])
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    keras.utils.set_random_seed(3)
    tcvae = keras_ae.BetaTCVAE(**SMALL, alpha=1.0, beta=1.0, gamma=1.0, dataset_size=4000)
    vae = keras_ae.VAE(**SMALL)
    vae.set_weights(tcvae.get_weights())
    for model in (tcvae, vae):
        model.sample_noise = lambda shape: noise
    tc_terms, vae_terms = tcvae.loss_terms(x), vae.loss_terms(x)
    np.testing.assert_allclose(tc_terms["loss"], vae_terms["loss"], rtol=1e-6)
    # Its reported decomposition sums to the one-sample KL; the analytic KL is near it.
    decomposition = tc_terms["mutual_info"] + tc_terms["tc"] + tc_terms["dimension_kl"]
    assert np.isfinite(decomposition.numpy())


def test_beta_tcvae_penalises_total_correlation_by_beta_minus_one(mnist_images):
    x = tf.constant(mnist_images[0][:64])
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    one = keras_ae.BetaTCVAE(**SMALL, beta=1.0, dataset_size=4000)
    six = keras_ae.BetaTCVAE(**SMALL, beta=6.0, dataset_size=4000)
    six.set_weights(one.get_weights())
    for model in (one, six):
        model.sample_noise = lambda shape: noise
    low, high = one.loss_terms(x), six.loss_terms(x)
    np.testing.assert_allclose(high["loss"] - low["loss"], 5.0 * low["tc"], rtol=1e-4)


def test_beta_tcvae_rejects_a_bad_dataset_size():
    with pytest.raises(ValueError, match="dataset_size"):
        keras_ae.BetaTCVAE(**SMALL, dataset_size=0)


def test_beta_tcvae_resumes_exactly(mnist_images, tmp_path):
    x = mnist_images[0][:256]

    def fresh():
        keras.utils.set_random_seed(7)
        model = keras_ae.BetaTCVAE(**SMALL, dataset_size=256, seed=1)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        return model

    straight = fresh()
    straight.fit(x, batch_size=64, epochs=2, shuffle=False, verbose=0)
    halves = fresh()
    halves.fit(x, batch_size=64, epochs=1, shuffle=False, verbose=0)
    halves.save(tmp_path / "half.keras")
    resumed = keras.saving.load_model(tmp_path / "half.keras")
    resumed.fit(x, batch_size=64, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------ FactorVAE
def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_permute_dims_shuffles_each_column_on_its_own():
    z = np.arange(512 * 4, dtype="float32").reshape(512, 4)  # every value distinct
    permuted = losses.permute_dims(tf.constant(z), seed=keras.random.SeedGenerator(0)).numpy()
    assert permuted.shape == z.shape
    for column in range(4):
        np.testing.assert_array_equal(np.sort(permuted[:, column]), z[:, column])
    # A row of z survives only where all four permutations happen to agree.
    original_rows = {tuple(row) for row in z}
    assert sum(tuple(row) in original_rows for row in permuted) <= 2
    # Each column has a permutation of its own, not one shared by all.
    source_rows = (permuted // 4).astype(int)
    assert len({tuple(source_rows[:, column]) for column in range(4)}) == 4
    again = losses.permute_dims(tf.constant(z), seed=5).numpy()
    np.testing.assert_array_equal(again, losses.permute_dims(tf.constant(z), seed=5).numpy())


def test_discriminator_total_correlation_is_the_log_odds_of_class_zero():
    logits = np.random.default_rng(2).normal(scale=3.0, size=(32, 2))
    log_probabilities = _log_softmax(logits)
    # log D / (1 - D) with D = softmax(logits)[:, 0].
    expected = log_probabilities[:, 0] - np.log1p(-np.exp(log_probabilities[:, 0]))
    got = losses.discriminator_total_correlation(tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_discriminator_loss_and_accuracy_match_numpy():
    rng = np.random.default_rng(3)
    real, permuted = rng.normal(size=(12, 2)), rng.normal(size=(7, 2))
    expected_loss = -0.5 * (_log_softmax(real)[:, 0].mean() + _log_softmax(permuted)[:, 1].mean())
    correct = (real[:, 0] >= real[:, 1]).sum() + (permuted[:, 1] > permuted[:, 0]).sum()
    loss, accuracy = losses.discriminator_loss(tf.constant(real), tf.constant(permuted))
    np.testing.assert_allclose(loss.numpy(), expected_loss, rtol=1e-10)
    assert float(accuracy) == pytest.approx(correct / 19)
