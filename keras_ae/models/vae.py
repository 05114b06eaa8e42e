"""The VAE family: VAE (Kingma & Welling 2014), beta-VAE (Higgins et al. 2017) and the
capacity-controlled beta-VAE (Burgess et al. 2017)."""

import keras
import numpy as np
import tensorflow as tf

from keras_ae import losses
from keras_ae.models.base import Autoencoder
from keras_ae.models.registry import register_model


@register_model(
    title="VAE",
    loss_summary="reconstruction + `beta * KL(q(z|x) || N(0, I))`",
    has_posterior=True,
    can_sample=True,
    headline_metrics=(
        "elbo.elbo",
        "nll.importance_weighted",
        "active_units",
        "factor_vae.eval_accuracy",
        "mig.discrete_mig",
        "beta_vae.eval_accuracy",
    ),
)
@keras.saving.register_keras_serializable(package="keras_ae")
class VAE(Autoencoder):
    """A variational autoencoder with a diagonal Gaussian posterior and a N(0, I) prior.

    The loss is the negative ELBO with a weighted KL, ``reconstruction + beta * kl``, both in nats
    per example (summed over pixels and latents, averaged over the batch). ``encode`` gives the
    posterior mean.

    The encoder outputs the posterior mean and log-variance, each ``(batch, latent_dim)``: as two
    outputs, or, for your own encoder, as one ``(batch, 2 * latent_dim)`` output split in halves.
    ``active_units`` counts latents whose posterior mean varies over the batch by more than 0.01;
    ``fit`` and ``evaluate`` report the mean of that count over their batches, so small batches
    (``evaluate``'s default of 32) can count fewer than a card's ``active_units``, which is
    counted over all the evaluation images at once (``keras_ae.evaluation.active_units``).
    """

    term_names = ("loss", "reconstruction", "kl", "active_units")
    gaussian_encoder = True

    def __init__(self, *args, beta: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = float(beta)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta": self.beta}

    def posterior(self, x: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """The posterior's mean and log-variance, each ``(batch, latent_dim)``."""
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, list | tuple):
            mean, log_var = outputs
        else:
            mean, log_var = tf.split(outputs, 2, axis=-1)
        return mean, log_var

    def sample_noise(self, shape) -> tf.Tensor:
        """The reparameterisation noise eps ~ N(0, I) (a hook: tests hold it fixed)."""
        return keras.random.normal(shape, seed=self.seed_generator)

    def latent_regulariser(self, z, mean, log_var, kl: tf.Tensor) -> dict:
        """The penalty on the latents (``"penalty"``) and any terms it reports; the one method
        a member of the VAE family overrides to change the loss.

        ``z``, ``mean`` and ``log_var`` are ``(batch, latent_dim)``: the sampled codes and their
        posteriors; ``kl`` is the batch-mean total KL to N(0, I), in nats per example.

        The loss is ``reconstruction + penalty``: ``"penalty"`` (a scalar, nats per example)
        *replaces* the VAE's ``beta * kl``, so a model that adds to the KL returns
        ``self.beta * kl + extra`` (or ``kl + ...``), not ``extra`` alone. ``"kl"`` is reported
        whatever the penalty. Every other key is a term reported as a metric, and must be
        listed in ``term_names`` (a key returned but not listed, or listed but not returned,
        stops the first step with an error). The VAE's own penalty is ``beta * kl``::

            term_names = (*VAE.term_names, "centring")

            def latent_regulariser(self, z, mean, log_var, kl):
                centring = tf.reduce_mean(tf.reduce_sum(tf.square(mean), axis=1))
                return {"penalty": self.beta * kl + centring, "centring": centring}
        """
        return {"penalty": self.beta * kl}

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        mean, log_var = self.posterior(x, training)
        z = mean + tf.exp(0.5 * log_var) * self.sample_noise(tf.shape(mean))
        terms = self.reconstruction_terms(x, z, training)
        terms["kl"] = tf.reduce_mean(tf.reduce_sum(losses.gaussian_kl(mean, log_var), axis=1))
        regulariser = self.latent_regulariser(z, mean, log_var, terms["kl"])
        terms["loss"] = terms["loss"] + regulariser.pop("penalty")
        terms.update(regulariser)
        variance_of_mean = tf.math.reduce_variance(mean, axis=0)
        terms["active_units"] = tf.reduce_sum(tf.cast(variance_of_mean > 0.01, tf.float32))
        return terms

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        return self.posterior(x, training=False)[0]

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``n`` samples from the model, ``(n, *data_shape)`` pixel values (decoded z ~ prior)."""
        n, rng = self.sampling_rng(n, seed)
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(z, batch_size=batch_size)


@register_model(title="beta-VAE", example_arguments={"beta": 4.0})
@keras.saving.register_keras_serializable(package="keras_ae")
class BetaVAE(VAE):
    """beta-VAE (Higgins et al. 2017): a VAE with ``beta`` (default 4) weighting the KL.

    beta multiplies the per-example KL against the per-example summed reconstruction; see
    ``normalised_beta`` for Higgins' pixel-normalised value.
    """

    def __init__(self, *args, beta: float = 4.0, **kwargs):
        super().__init__(*args, beta=beta, **kwargs)


def normalised_beta(beta: float, latent_dim: int, n_pixels: int) -> float:
    """Higgins et al.'s normalised beta, ``beta * latent_dim / n_pixels``."""
    return beta * latent_dim / n_pixels


@register_model(
    title="capacity-controlled beta-VAE",
    loss_summary="reconstruction + `gamma * |KL - C|`, C ramped from 0 to `c_max` over `c_steps`",
    example_arguments={"gamma": 100.0, "c_max": 5.0, "c_steps": 40},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class CapacityVAE(VAE):
    """Capacity-controlled beta-VAE (Burgess et al. 2017): ``reconstruction + gamma * |kl - C|``.

    The target capacity C (nats) rises linearly from 0 to ``c_max`` over ``c_steps`` optimizer
    steps. The step count is a model variable saved with the weights, so training resumed from a
    saved model continues the ramp. The ``capacity`` metric is the C in force.
    """

    term_names = ("loss", "reconstruction", "kl", "capacity", "active_units")
    #: ``gamma`` weighs the KL's distance from C; a ``beta`` would have no effect, so it is
    #: refused rather than dropped.
    fixed_arguments = ("beta",)

    def __init__(
        self, *args, gamma: float = 1000.0, c_max: float = 25.0, c_steps: int = 100_000, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.gamma = float(gamma)
        self.c_max = float(c_max)
        self.c_steps = int(c_steps)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("beta")
        return {**config, "gamma": self.gamma, "c_max": self.c_max, "c_steps": self.c_steps}

    def latent_regulariser(self, z, mean, log_var, kl: tf.Tensor) -> dict:
        capacity = losses.capacity_schedule(self.trained_steps, self.c_max, self.c_steps)
        return {"penalty": losses.capacity_penalty(kl, capacity, self.gamma), "capacity": capacity}
