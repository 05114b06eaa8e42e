"""Pure loss terms. Each takes tensors and returns a tensor; none touches a model.

Reductions are explicit: per-example terms are summed over pixels (or latents, or code units)
and returned per example, shape ``(batch,)``; the models average them over the batch.
All values are in nats.
"""

import math

import keras
import tensorflow as tf

_EPSILON = 1e-7


def _sum_per_example(values: tf.Tensor) -> tf.Tensor:
    """Sums every axis but the first: ``(batch, ...) -> (batch,)``."""
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def bernoulli_nll(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """-log p(x | logits) of independent Bernoulli pixels, summed per example.

    Args:
        x: targets in [0, 1], shape ``(batch, ...)``.
        logits: decoder logits, the same shape.

    Returns:
        ``(batch,)`` nats. For grey values in (0, 1) this is the binary cross-entropy.
    """
    x = tf.cast(x, logits.dtype)
    return _sum_per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))


def gaussian_nll(x: tf.Tensor, mean: tf.Tensor, sigma: float = 1.0) -> tf.Tensor:
    """-log N(x; mean, sigma^2 I), summed per example: ``(batch,)`` nats."""
    x = tf.cast(x, mean.dtype)
    squared = _sum_per_example(tf.square(x - mean))
    n_pixels = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), mean.dtype)
    return 0.5 * squared / sigma**2 + n_pixels * (math.log(sigma) + 0.5 * math.log(2 * math.pi))


def squared_error(x: tf.Tensor, reconstruction: tf.Tensor) -> tf.Tensor:
    """Sum of squared differences per example: ``(batch,)``, in squared pixel units."""
    x = tf.cast(x, reconstruction.dtype)
    return _sum_per_example(tf.square(x - reconstruction))


def gaussian_kl(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per latent: ``(batch, latent_dim)`` nats.

    Sum over the last axis for the per-example KL.
    """
    return 0.5 * (tf.square(mean) + tf.exp(log_var) - 1.0 - log_var)


def bernoulli_kl(rho: float, rho_hat: tf.Tensor) -> tf.Tensor:
    """KL(Bern(rho) || Bern(rho_hat)) elementwise, the sparse autoencoder's penalty.

    ``rho_hat`` is clipped into (0, 1) so that a dead or saturated unit gives a large,
    finite penalty rather than inf.
    """
    rho_hat = tf.clip_by_value(rho_hat, _EPSILON, 1.0 - _EPSILON)
    return rho * tf.math.log(rho / rho_hat) + (1.0 - rho) * tf.math.log(
        (1.0 - rho) / (1.0 - rho_hat)
    )


def capacity_schedule(step: tf.Tensor, c_max: float, c_steps: int) -> tf.Tensor:
    """Burgess et al.'s target capacity C in nats: linear from 0 at step 0 to ``c_max`` at
    ``c_steps``, constant after."""
    step = tf.cast(step, tf.float32)
    if c_steps <= 0:
        return tf.constant(float(c_max))
    return float(c_max) * tf.minimum(step / float(c_steps), 1.0)


def capacity_penalty(kl: tf.Tensor, capacity: tf.Tensor, gamma: float) -> tf.Tensor:
    """``gamma * |kl - capacity|``, with ``kl`` the batch-mean total KL in nats."""
    return gamma * tf.abs(kl - capacity)


def frobenius_norm_squared(jacobian: tf.Tensor) -> tf.Tensor:
    """||J||_F^2 per example of a batch of Jacobians ``(batch, ...)``: ``(batch,)``."""
    return _sum_per_example(tf.square(jacobian))


def sigmoid_dense_jacobian_norm_squared(code: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Closed-form ||dh/dx||_F^2 for ``h = sigmoid(x @ kernel + b)``.

    Args:
        code: ``h``, shape ``(batch, code_dim)``.
        kernel: ``(input_dim, code_dim)``.

    Returns:
        ``(batch,)``: sum_j (h_j (1 - h_j))^2 sum_i W_ij^2 (Rifai et al. 2011).
    """
    column_norms = tf.reduce_sum(tf.square(kernel), axis=0)
    return tf.reduce_sum(tf.square(code * (1.0 - code)) * column_norms, axis=1)


def gaussian_log_density(z: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """log N(z; mean, exp(log_var)) elementwise (broadcasting), in nats."""
    return -0.5 * (math.log(2 * math.pi) + log_var + tf.square(z - mean) * tf.exp(-log_var))


#: The estimators of ``total_correlation_decomposition``: minibatch-weighted and
#: minibatch-stratified sampling.
TOTAL_CORRELATION_ESTIMATORS = ("mws", "mss")


def minibatch_stratified_log_weights(batch_size: tf.Tensor, dataset_size: int) -> tf.Tensor:
    """Chen et al.'s (2018) minibatch-stratified sampling weights, ``(batch, batch)`` logs.

    Row ``i`` weighs the batch's posteriors ``q(z_i | x_j)`` in the estimate
    ``q(z_i) ~= sum_j W_ij q(z_i | x_j)``: ``1 / N`` for the example's own (``j = i``),
    ``(N - M) / (N M)`` for one other example (the stratum that stands for the rest of the data
    set, ``j = i + 1`` cyclically) and ``1 / M`` for each of the others, with ``M = batch - 1``
    and ``N = dataset_size``. Each row sums to 1. (Chen et al.'s code puts the last row's stratum
    weight in the row before it; here each row has its own.) Needs ``batch >= 2``.
    """
    batch = tf.convert_to_tensor(batch_size, tf.int32)
    others = tf.cast(batch - 1, tf.float64)
    size = tf.constant(float(dataset_size), tf.float64)
    own = tf.eye(batch, dtype=tf.float64)
    stratum = tf.roll(own, shift=1, axis=1)
    rest = 1.0 - own - stratum
    weights = own / size + stratum * (size - others) / (size * others) + rest / others
    return tf.math.log(weights)


def total_correlation_decomposition(
    z: tf.Tensor,
    mean: tf.Tensor,
    log_var: tf.Tensor,
    dataset_size: int,
    estimator: str = "mws",
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Chen et al.'s (2018) split of the KL into three terms, by minibatch-weighted sampling
    (``estimator="mws"``) or minibatch-stratified sampling (``"mss"``, less biased).

    With ``z_i ~ q(z | x_i)`` for the ``M`` examples of the batch and ``N = dataset_size``,
    MWS takes ``log q(z_i) ~= logsumexp_j log q(z_i | x_j) - log(N M)``; MSS weighs the
    posteriors by ``minibatch_stratified_log_weights``. Each ``log q(z_id)`` likewise per
    dimension. Their sum is ``log q(z_i | x_i) - log p(z_i)``, a one-sample KL estimate.

    Args:
        z, mean, log_var: ``(batch, latent_dim)``: samples and their posteriors' parameters.
        dataset_size: ``N``, the number of training examples.
        estimator: ``"mws"`` or ``"mss"``.

    Returns:
        ``(mutual_info, total_correlation, dimension_kl)``, each ``(batch,)`` nats:
        ``log q(z|x) - log q(z)``, ``log q(z) - sum_d log q(z_d)`` and
        ``sum_d log q(z_d) - log p(z)``.
    """
    if estimator not in TOTAL_CORRELATION_ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r}; expected one of {TOTAL_CORRELATION_ESTIMATORS}."
        )
    # pairwise[i, j, d] = log q(z_id | x_j)
    pairwise = gaussian_log_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])
    if estimator == "mws":
        batch = tf.cast(tf.shape(z)[0], z.dtype)
        log_weights = -tf.math.log(batch * float(dataset_size))
    else:
        log_weights = tf.cast(
            minibatch_stratified_log_weights(tf.shape(z)[0], dataset_size), z.dtype
        )
    log_q_z = tf.reduce_logsumexp(tf.reduce_sum(pairwise, axis=2) + log_weights, axis=1)
    log_q_marginals = tf.reduce_sum(
        tf.reduce_logsumexp(pairwise + log_weights[..., None], axis=1), axis=1
    )
    log_q_z_given_x = tf.reduce_sum(gaussian_log_density(z, mean, log_var), axis=1)
    log_p_z = tf.reduce_sum(gaussian_log_density(z, 0.0, tf.zeros_like(z)), axis=1)
    return (
        log_q_z_given_x - log_q_z,
        log_q_z - log_q_marginals,
        log_q_marginals - log_p_z,
    )


def permute_dims(z: tf.Tensor, seed: int | keras.random.SeedGenerator) -> tf.Tensor:
    """Samples of ``prod_j q(z_j)`` from samples of ``q(z)`` (Kim & Mnih 2018, Algorithm 1).

    Args:
        z: ``(batch, latent_dim)`` codes, samples of ``q(z)``.
        seed: an int or a ``keras.random.SeedGenerator`` for the permutations.

    Returns:
        ``(batch, latent_dim)``: each column of ``z`` shuffled across the batch by a permutation
        of its own, so that every column keeps its values while the rows are broken up.
    """
    # Sorting uniform noise down each column gives each column an independent random permutation.
    order = tf.argsort(keras.random.uniform(tf.shape(z), seed=seed), axis=0)
    return tf.experimental.numpy.take_along_axis(z, order, axis=0)


def discriminator_total_correlation(logits: tf.Tensor) -> tf.Tensor:
    """The density-ratio estimate of the total correlation from a discriminator's logits.

    Args:
        logits: ``(batch, 2)`` logits on samples of ``q(z)``; class 0 is "from ``q(z)``",
            class 1 "from ``prod_j q(z_j)``" (see ``discriminator_loss``).

    Returns:
        ``(batch,)`` nats: ``log D(z) / (1 - D(z)) = logits[:, 0] - logits[:, 1]``, with ``D``
        the softmax probability of class 0. Its batch mean estimates
        ``TC = KL(q(z) || prod_j q(z_j))`` when ``D`` is the optimal discriminator.
    """
    return logits[:, 0] - logits[:, 1]


def discriminator_loss(
    real_logits: tf.Tensor, permuted_logits: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """The FactorVAE discriminator's cross-entropy and accuracy.

    Args:
        real_logits: ``(batch, 2)`` logits on samples of ``q(z)``, whose class is 0.
        permuted_logits: ``(batch', 2)`` logits on ``permute_dims`` samples, whose class is 1.

    Returns:
        Two scalars: the mean of the two classes' mean cross-entropies, in nats, and the
        fraction of the ``batch + batch'`` samples whose larger logit is their class's (a tie
        counts as class 0).
    """
    real_labels = tf.zeros(tf.shape(real_logits)[:1], tf.int32)
    permuted_labels = tf.ones(tf.shape(permuted_logits)[:1], tf.int32)
    cross_entropy = 0.5 * (
        tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(real_labels, real_logits))
        + tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(permuted_labels, permuted_logits)
        )
    )
    predictions = tf.argmax(tf.concat([real_logits, permuted_logits], axis=0), axis=1)
    labels = tf.concat([real_labels, permuted_labels], axis=0)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, tf.cast(labels, tf.int64)), tf.float32))
    return cross_entropy, accuracy


# ------------------------------------------------------------------- discrete latent variables
def nearest_codes(vectors: tf.Tensor, codebook: tf.Tensor) -> tf.Tensor:
    """The index of the codebook row nearest to each vector (squared Euclidean distance).

    Args:
        vectors: ``(..., code_dim)`` encoder outputs ``z_e``.
        codebook: ``(num_codes, code_dim)``.

    Returns:
        ``(...)`` int32 indices into the codebook; ties go to the lower index.
    """
    flat = tf.reshape(vectors, [-1, tf.shape(codebook)[1]])
    distances = (
        tf.reduce_sum(tf.square(flat), axis=1, keepdims=True)
        - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
        + tf.reduce_sum(tf.square(codebook), axis=1)[None, :]
    )
    indices = tf.argmin(distances, axis=1, output_type=tf.int32)
    return tf.reshape(indices, tf.shape(vectors)[:-1])


def straight_through(vectors: tf.Tensor, quantised: tf.Tensor) -> tf.Tensor:
    """``quantised`` in the forward pass, with the gradient copied unchanged to ``vectors``."""
    return vectors + tf.stop_gradient(quantised - vectors)


def codebook_loss(vectors: tf.Tensor, quantised: tf.Tensor) -> tf.Tensor:
    """``||sg[z_e] - e||^2`` summed per example, ``(batch,)``: moves the codes to the encoder."""
    return _sum_per_example(tf.square(tf.stop_gradient(vectors) - quantised))


def commitment_loss(vectors: tf.Tensor, quantised: tf.Tensor) -> tf.Tensor:
    """``||z_e - sg[e]||^2`` summed per example, ``(batch,)``: keeps the encoder near its codes."""
    return _sum_per_example(tf.square(vectors - tf.stop_gradient(quantised)))


def code_usage(indices: tf.Tensor, num_codes: int) -> tf.Tensor:
    """The fraction of ``indices`` (any shape) that pick each code: ``(num_codes,)``, sums to 1."""
    counts = tf.math.bincount(
        tf.reshape(tf.cast(indices, tf.int32), [-1]), minlength=num_codes, maxlength=num_codes
    )
    return tf.cast(counts, tf.float32) / tf.cast(tf.maximum(tf.reduce_sum(counts), 1), tf.float32)


def perplexity(usage: tf.Tensor) -> tf.Tensor:
    """``exp(entropy)`` of a code-usage distribution ``(num_codes,)``: from 1 (one code in use)
    to ``num_codes`` (all used equally)."""
    entropy = -tf.reduce_sum(tf.where(usage > 0, usage * tf.math.log(usage), 0.0))
    return tf.exp(entropy)


def gumbel_noise(shape, seed: int | keras.random.SeedGenerator) -> tf.Tensor:
    """Samples of the standard Gumbel distribution, ``-log(-log u)`` with ``u ~ U(0, 1)``."""
    uniform = keras.random.uniform(shape, minval=_EPSILON, maxval=1.0 - _EPSILON, seed=seed)
    return -tf.math.log(-tf.math.log(uniform))


def gumbel_softmax(logits: tf.Tensor, noise: tf.Tensor, temperature: tf.Tensor) -> tf.Tensor:
    """The Gumbel-softmax relaxation of a categorical sample (Jang et al. 2017).

    Args:
        logits: ``(..., num_classes)`` unnormalised log-probabilities.
        noise: Gumbel noise of the same shape (``gumbel_noise``).
        temperature: ``tau > 0``; as it falls to 0 the sample becomes the one-hot
            ``argmax(logits + noise)``, a draw from ``softmax(logits)``.

    Returns:
        ``softmax((logits + noise) / tau)``, the same shape, each row on the simplex.
    """
    return tf.nn.softmax((logits + noise) / temperature, axis=-1)


def categorical_kl_to_uniform(logits: tf.Tensor) -> tf.Tensor:
    """KL(Cat(softmax(logits)) || uniform) per categorical variable, ``(..., )`` nats.

    ``logits`` is ``(..., num_classes)``; sum the result over the variables for the per-example KL.
    """
    log_q = tf.nn.log_softmax(logits, axis=-1)
    num_classes = tf.cast(tf.shape(logits)[-1], logits.dtype)
    return tf.reduce_sum(tf.exp(log_q) * (log_q + tf.math.log(num_classes)), axis=-1)


def annealed_temperature(step: tf.Tensor, initial: float, minimum: float, rate: float) -> tf.Tensor:
    """Jang et al.'s schedule ``max(minimum, initial * exp(-rate * step))``, a float32 scalar."""
    step = tf.cast(step, tf.float32)
    return tf.maximum(tf.constant(minimum, tf.float32), initial * tf.exp(-rate * step))
