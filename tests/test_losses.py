"""Every function of keras_ae.losses, the pure terms the models' losses are made of, against an
independent reference (numpy, scipy, brute force). The models themselves (training, schedules,
round trips) are tested in each family's test file; the last test here checks that every
function of keras_ae.losses has its test in this file."""

import ast
import inspect
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

from keras_ae import losses

rng = np.random.default_rng(0)


def test_gaussian_kl_matches_numerical_integration():
    mean, log_var = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    closed_form = losses.gaussian_kl(tf.constant(mean), tf.constant(log_var)).numpy()[0]
    for j in range(2):
        q = stats.norm(mean[0, j], np.exp(0.5 * log_var[0, j]))
        integrand = lambda z, q=q: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z))  # noqa: E731
        numerical, _ = integrate.quad(integrand, -30, 30)
        assert closed_form[j] == pytest.approx(numerical, abs=1e-6)


def test_gaussian_kl_is_zero_at_the_prior():
    zeros = tf.zeros((3, 4))
    np.testing.assert_allclose(losses.gaussian_kl(zeros, zeros).numpy(), 0.0)


def test_bernoulli_kl_matches_definition():
    rho, rho_hat = 0.05, rng.uniform(0.01, 0.99, size=7)
    expected = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    got = losses.bernoulli_kl(rho, tf.constant(rho_hat)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert losses.bernoulli_kl(rho, tf.constant([rho])).numpy()[0] == pytest.approx(0.0)
    assert np.isfinite(losses.bernoulli_kl(rho, tf.constant([0.0, 1.0])).numpy()).all()


def test_bernoulli_nll_sums_pixels_per_example():
    x = rng.uniform(size=(4, 3, 5)).round()
    logits = rng.normal(size=(4, 3, 5))
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2))
    got = losses.bernoulli_nll(tf.constant(x), tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_gaussian_nll_matches_scipy():
    x, mean, sigma = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), 0.3
    expected = -stats.norm.logpdf(x, mean, sigma).sum(axis=1)
    got = losses.gaussian_nll(tf.constant(x), tf.constant(mean), sigma).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_squared_error():
    x, y = rng.normal(size=(2, 3, 3, 1)), rng.normal(size=(2, 3, 3, 1))
    got = losses.squared_error(tf.constant(x), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, ((x - y) ** 2).sum(axis=(1, 2, 3)))


@pytest.mark.parametrize(("step", "expected"), [(0, 0.0), (250, 6.25), (1000, 25.0), (5000, 25.0)])
def test_capacity_schedule_ramps_linearly_then_holds(step, expected):
    got = losses.capacity_schedule(tf.constant(step), c_max=25.0, c_steps=1000).numpy()
    assert got == pytest.approx(expected)


def test_capacity_penalty_is_gamma_times_distance():
    got = losses.capacity_penalty(tf.constant(3.0), tf.constant(5.0), gamma=1000.0).numpy()
    assert got == pytest.approx(2000.0)
    got = losses.capacity_penalty(tf.constant(7.0), tf.constant(5.0), gamma=10.0).numpy()
    assert got == pytest.approx(20.0)


def test_closed_form_jacobian_norm_matches_numpy_jacobian():
    x, kernel, bias = rng.normal(size=(5, 8)), rng.normal(size=(8, 3)), rng.normal(size=3)
    code = 1 / (1 + np.exp(-(x @ kernel + bias)))
    # dh_j/dx_i = h_j (1 - h_j) W_ij, written out per example.
    jacobians = (code * (1 - code))[:, :, None] * kernel.T[None]
    expected = (jacobians**2).sum(axis=(1, 2))
    got = losses.sigmoid_dense_jacobian_norm_squared(tf.constant(code), tf.constant(kernel))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(
        losses.frobenius_norm_squared(tf.constant(jacobians)).numpy(), expected, rtol=1e-10
    )


def test_gaussian_log_density_matches_scipy():
    z, mean, log_var = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    expected = stats.norm.logpdf(z, mean, np.exp(0.5 * log_var))
    got = losses.gaussian_log_density(tf.constant(z), tf.constant(mean), tf.constant(log_var))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


# ------------------------------------------ the total-correlation family (beta-TCVAE, FactorVAE)
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


def _brute_force_stratified_decomposition(z, mean, log_var, dataset_size):
    """Minibatch-stratified sampling written out with explicit loops over Chen et al.'s
    weights: 1/N for the own example, (N - M)/(N M) for the next one, 1/M for the rest."""
    batch, dims = z.shape
    others = batch - 1

    def weight(i, j):
        if j == i:
            return 1 / dataset_size
        if j == (i + 1) % batch:
            return (dataset_size - others) / (dataset_size * others)
        return 1 / others

    terms = np.zeros((3, batch))
    for i in range(batch):
        log_q_given_x = sum(_log_normal(z[i, d], mean[i, d], log_var[i, d]) for d in range(dims))
        log_q = np.log(
            sum(
                weight(i, j)
                * np.exp(sum(_log_normal(z[i, d], mean[j, d], log_var[j, d]) for d in range(dims)))
                for j in range(batch)
            )
        )
        log_marginals = sum(
            np.log(
                sum(
                    weight(i, j) * np.exp(_log_normal(z[i, d], mean[j, d], log_var[j, d]))
                    for j in range(batch)
                )
            )
            for d in range(dims)
        )
        log_p = sum(_log_normal(z[i, d], 0.0, 0.0) for d in range(dims))
        terms[:, i] = (log_q_given_x - log_q, log_q - log_marginals, log_marginals - log_p)
    return terms


def test_minibatch_stratified_weights_sum_to_one_per_row():
    weights = np.exp(losses.minibatch_stratified_log_weights(5, 100).numpy())
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.diag(weights), 1 / 100)
    np.testing.assert_allclose(weights[4, 0], (100 - 4) / (100 * 4))  # the last row's stratum
    assert np.isclose(weights, 1 / 4).sum() == 5 * 3


@pytest.mark.parametrize(
    ("estimator", "brute_force"),
    [("mws", _brute_force_decomposition), ("mss", _brute_force_stratified_decomposition)],
)
def test_each_estimator_matches_brute_force(estimator, brute_force):
    rng = np.random.default_rng(0)
    z, mean = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    log_var = 0.5 * rng.normal(size=(6, 4))
    expected = brute_force(z, mean, log_var, dataset_size=1000)
    got = losses.total_correlation_decomposition(
        tf.constant(z), tf.constant(mean), tf.constant(log_var), 1000, estimator=estimator
    )
    np.testing.assert_allclose(np.stack([t.numpy() for t in got]), expected, rtol=1e-10)
    # The three terms add up to the one-sample KL estimate log q(z|x) - log p(z).
    one_sample_kl = (_log_normal(z, mean, log_var) - _log_normal(z, 0.0, 0.0)).sum(axis=1)
    np.testing.assert_allclose(expected.sum(axis=0), one_sample_kl, rtol=1e-10)


def test_the_estimators_split_the_kl_differently_and_others_are_refused():
    rng = np.random.default_rng(3)
    z, mean = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    log_var = 0.5 * rng.normal(size=(6, 4))
    weighted = _brute_force_decomposition(z, mean, log_var, dataset_size=1000)
    stratified = _brute_force_stratified_decomposition(z, mean, log_var, dataset_size=1000)
    assert np.abs(weighted[1] - stratified[1]).max() > 0.1
    with pytest.raises(ValueError, match="Unknown estimator"):
        losses.total_correlation_decomposition(
            tf.constant(z), tf.constant(mean), tf.constant(log_var), 1000, estimator="exact"
        )


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


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


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


# ------------------------------------------------------------------------------ VQ-VAE
def test_nearest_codes_matches_brute_force():
    vectors, codebook = rng.normal(size=(3, 4, 5, 2)), rng.normal(size=(7, 2))
    distances = ((vectors[..., None, :] - codebook) ** 2).sum(-1)
    got = losses.nearest_codes(tf.constant(vectors), tf.constant(codebook)).numpy()
    np.testing.assert_array_equal(got, distances.argmin(-1))


def test_straight_through_passes_the_codes_forward_and_the_gradient_back_unchanged():
    vectors = tf.Variable(rng.normal(size=(2, 3)))
    quantised = tf.constant(rng.normal(size=(2, 3)))
    upstream = rng.normal(size=(2, 3))
    with tf.GradientTape() as tape:
        out = losses.straight_through(vectors, quantised)
        objective = tf.reduce_sum(out * upstream)
    np.testing.assert_allclose(out.numpy(), quantised.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(objective, vectors).numpy(), upstream, rtol=1e-12)


def test_codebook_and_commitment_terms_match_numpy_and_stop_the_right_gradients():
    vectors = tf.Variable(rng.normal(size=(2, 3, 4)))
    codes = tf.Variable(rng.normal(size=(2, 3, 4)))
    expected = ((vectors.numpy() - codes.numpy()) ** 2).sum(axis=(1, 2))
    with tf.GradientTape(persistent=True) as tape:
        codebook = losses.codebook_loss(vectors, codes)
        commitment = losses.commitment_loss(vectors, codes)
    np.testing.assert_allclose(codebook.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(commitment.numpy(), expected, rtol=1e-12)
    # The codebook term moves only the codes, the commitment term only the encoder.
    assert tape.gradient(codebook, vectors) is None
    assert tape.gradient(commitment, codes) is None
    difference = 2 * (codes.numpy() - vectors.numpy())
    np.testing.assert_allclose(tape.gradient(codebook, codes).numpy(), difference, rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(commitment, vectors).numpy(), -difference, rtol=1e-12)


def test_code_usage_and_perplexity():
    indices = rng.integers(0, 6, size=(4, 5))
    usage = losses.code_usage(tf.constant(indices), 8).numpy()
    np.testing.assert_allclose(usage, np.bincount(indices.ravel(), minlength=8) / 20, rtol=1e-6)
    used = usage[usage > 0]
    expected = np.exp(-(used * np.log(used)).sum())
    assert losses.perplexity(tf.constant(usage)).numpy() == pytest.approx(expected, rel=1e-5)
    uniform = losses.code_usage(tf.constant(np.arange(8)), 8)
    assert losses.perplexity(uniform).numpy() == pytest.approx(8.0, rel=1e-5)
    single = losses.code_usage(tf.constant(np.full(9, 3)), 8)
    assert losses.perplexity(single).numpy() == pytest.approx(1.0)


# ------------------------------------------------------------------- the Gumbel-softmax VAE
def test_gumbel_softmax_matches_numpy_and_lies_on_the_simplex():
    logits, noise = rng.normal(size=(5, 3, 4)), rng.gumbel(size=(5, 3, 4))
    got = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 0.7).numpy()
    shifted = np.exp((logits + noise) / 0.7)
    np.testing.assert_allclose(got, shifted / shifted.sum(-1, keepdims=True), rtol=1e-10)
    assert got.shape == (5, 3, 4)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-12)


def test_gumbel_softmax_limits_one_hot_when_cold_and_uniform_when_hot():
    logits, noise = rng.normal(size=(50, 6)), rng.gumbel(size=(50, 6))
    cold = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 1e-3).numpy()
    perturbed = logits + noise
    np.testing.assert_array_equal(cold.argmax(-1), perturbed.argmax(-1))
    # One-hot up to exp(-gap / temperature), the gap between a row's two largest entries.
    top_two = np.sort(perturbed, axis=-1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 0.02
    assert clear.sum() > 40
    np.testing.assert_allclose(cold[clear], np.eye(6)[perturbed.argmax(-1)][clear], atol=1e-6)
    hot = losses.gumbel_softmax(tf.constant(logits), tf.constant(noise), 1e4).numpy()
    np.testing.assert_allclose(hot, 1 / 6, atol=1e-3)


def test_gumbel_noise_has_the_gumbel_moments_and_argmax_samples_the_categorical():
    noise = losses.gumbel_noise((200_000,), seed=0).numpy()
    assert noise.mean() == pytest.approx(np.euler_gamma, abs=0.01)
    assert noise.var() == pytest.approx(np.pi**2 / 6, rel=0.02)
    probabilities = np.array([0.5, 0.3, 0.2])
    draws = losses.gumbel_noise((100_000, 3), seed=1).numpy() + np.log(probabilities)
    frequencies = np.bincount(draws.argmax(1), minlength=3) / len(draws)
    np.testing.assert_allclose(frequencies, probabilities, atol=0.01)


def test_categorical_kl_to_uniform_matches_numpy():
    logits = rng.normal(size=(3, 5, 4))
    q = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = (q * np.log(q / 0.25)).sum(-1)
    got = losses.categorical_kl_to_uniform(tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    flat = losses.categorical_kl_to_uniform(tf.zeros((2, 4))).numpy()
    np.testing.assert_allclose(flat, 0.0, atol=1e-7)
    certain = losses.categorical_kl_to_uniform(tf.constant([[50.0, 0.0, 0.0, 0.0]])).numpy()
    assert certain[0] == pytest.approx(np.log(4), rel=1e-5)


@pytest.mark.parametrize(("step", "expected"), [(0, 1.0), (1000, np.exp(-1.0)), (10**6, 0.2)])
def test_annealed_temperature(step, expected):
    got = losses.annealed_temperature(tf.constant(step, tf.int64), 1.0, 0.2, 1e-3).numpy()
    assert got == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------- the rule
def test_every_function_of_losses_is_tested_here():
    public = {
        name
        for name, function in inspect.getmembers(losses, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == losses.__name__
    }
    called = {
        node.attr
        for node in ast.walk(ast.parse(Path(__file__).read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "losses"
    }
    assert public <= called, (
        f"keras_ae.losses functions without a test in tests/test_losses.py: "
        f"{sorted(public - called)}; test each here against an independent reference."
    )
