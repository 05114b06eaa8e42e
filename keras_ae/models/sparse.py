"""Sparse autoencoders: the KL sparsity penalty (Ng) and k-sparse codes (Makhzani & Frey 2013)."""

import keras
import tensorflow as tf

from keras_ae import losses
from keras_ae.models.base import LINEAR_PROBES, Autoencoder
from keras_ae.models.registry import register_model


@register_model(
    title="sparse",
    loss_summary="+ `beta * sum_j KL(rho || rho_hat_j)` over sigmoid code units",
    headline_metrics=("code.mean_activation", *LINEAR_PROBES),
    example_arguments={"rho": 0.1},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class SparseAutoencoder(Autoencoder):
    """An autoencoder whose sigmoid code units are pushed to a mean activation ``rho``.

    The penalty is ``beta * sum_j KL(rho || rho_hat_j)``, ``rho_hat_j`` the mean activation of
    unit j over the batch. Under ``tf.distribute``, ``rho_hat`` is taken over each replica's
    share of the batch, not the global batch.
    """

    term_names = ("loss", "reconstruction", "sparsity")

    def __init__(self, *args, rho: float = 0.05, beta: float = 3.0, **kwargs):
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho is a target activation in (0, 1), got {rho!r}.")
        kwargs.setdefault("code_activation", "sigmoid")
        super().__init__(*args, **kwargs)
        self.rho = float(rho)
        self.beta = float(beta)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "beta": self.beta}

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        code = self.encoder(x, training=training)
        terms = self.reconstruction_terms(x, code, training)
        rho_hat = tf.reduce_mean(code, axis=0)
        terms["sparsity"] = self.beta * tf.reduce_sum(losses.bernoulli_kl(self.rho, rho_hat))
        terms["loss"] = terms["loss"] + terms["sparsity"]
        return terms


def keep_top_k(code: tf.Tensor, k) -> tf.Tensor:
    """Zeroes all but the ``k`` largest entries of each row of ``code`` ``(batch, units)``.

    The result is ``code * mask``, so no gradient reaches the zeroed units.
    """
    indices = tf.math.top_k(code, k=k).indices
    mask = tf.reduce_sum(tf.one_hot(indices, depth=tf.shape(code)[-1], dtype=code.dtype), axis=1)
    return code * tf.stop_gradient(mask)


@register_model(
    title="k-sparse",
    loss_summary="top-`k` of a linear code (annealed from `k_start`); `encode` keeps `alpha * k`",
    headline_metrics=(
        "code.nonzero_per_example",
        *LINEAR_PROBES,
    ),
    example_arguments={"k": 3, "k_start": 8, "anneal_steps": 8},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class KSparseAutoencoder(Autoencoder):
    """A linear code of which only the ``k`` largest units are kept (Makhzani & Frey).

    Args:
        k: units kept per example in training.
        k_start: if given, k is annealed linearly from ``k_start`` down to ``k`` over
            ``anneal_steps`` optimizer steps, so that no unit dies early on.
        alpha: ``encode`` keeps ``alpha * k`` units (alpha >= 1), as in the paper's test-time
            features.
    """

    term_names = ("loss", "reconstruction", "active_units")

    def __init__(
        self,
        *args,
        k: int = 25,
        k_start: int | None = None,
        anneal_steps: int = 0,
        alpha: float = 1.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if not 1 <= k <= self.latent_dim:
            raise ValueError(f"k must lie in [1, latent_dim={self.latent_dim}], got {k}.")
        if k_start is not None and not k <= k_start <= self.latent_dim:
            raise ValueError(f"k_start must lie in [k={k}, {self.latent_dim}], got {k_start}.")
        if alpha < 1.0:
            raise ValueError(f"alpha must be >= 1, got {alpha}.")
        self.k = int(k)
        self.k_start = None if k_start is None else int(k_start)
        self.anneal_steps = int(anneal_steps)
        self.alpha = float(alpha)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "k": self.k,
            "k_start": self.k_start,
            "anneal_steps": self.anneal_steps,
            "alpha": self.alpha,
        }

    def current_k(self) -> tf.Tensor:
        """The k in force at this optimizer step (int32 scalar)."""
        if self.k_start is None or self.anneal_steps <= 0:
            return tf.constant(self.k, tf.int32)
        progress = tf.minimum(tf.cast(self.trained_steps, tf.float32) / self.anneal_steps, 1.0)
        k = self.k_start - (self.k_start - self.k) * progress
        return tf.cast(tf.round(k), tf.int32)

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        code = keep_top_k(self.encoder(x, training=training), self.current_k())
        terms = self.reconstruction_terms(x, code, training)
        nonzero = tf.math.count_nonzero(code, axis=1, dtype=tf.float32)
        terms["active_units"] = tf.reduce_mean(nonzero)
        return terms

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        k = min(self.latent_dim, int(round(self.alpha * self.k)))
        return keep_top_k(self.encoder(x, training=False), k)
