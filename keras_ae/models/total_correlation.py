"""The total-correlation family: beta-TCVAE (Chen et al. 2018) and FactorVAE (Kim & Mnih 2018).

Both penalise the total correlation of the aggregate posterior, KL(q(z) || prod_d q(z_d)), the
part of the VAE's KL that makes latents statistically dependent."""

import keras
import tensorflow as tf

from keras_ae import losses
from keras_ae.models.registry import register_model
from keras_ae.models.vae import VAE

#: dSprites' size, the default ``dataset_size`` of the minibatch-weighted estimate.
DSPRITES_SIZE = 737_280


@register_model(example_arguments={"beta": 6.0, "dataset_size": 640})
@keras.saving.register_keras_serializable(package="keras_ae")
class BetaTCVAE(VAE):
    """beta-TCVAE: ``reconstruction + alpha * MI + beta * TC + gamma * dimension-wise KL``.

    MI, TC and the dimension-wise KL are Chen et al.'s decomposition of the KL, estimated on each
    minibatch by minibatch-weighted sampling over ``dataset_size`` training examples
    (``losses.total_correlation_decomposition``); all are nats per example. The three estimates
    sum to a one-sample estimate of the KL, so the loss is written as the analytic KL plus
    ``(alpha - 1) * MI + (beta - 1) * TC + (gamma - 1) * dimension-wise KL``: the same
    expectation as Chen et al.'s, with less noise (disentanglement_lib does the same for
    alpha = gamma = 1).
    """

    term_names = (
        "loss",
        "reconstruction",
        "kl",
        "mutual_info",
        "tc",
        "dimension_kl",
        "active_units",
    )

    def __init__(
        self,
        *args,
        alpha: float = 1.0,
        beta: float = 6.0,
        gamma: float = 1.0,
        dataset_size: int = DSPRITES_SIZE,
        **kwargs,
    ):
        super().__init__(*args, beta=beta, **kwargs)
        if int(dataset_size) < 1:
            raise ValueError(f"dataset_size must be a positive integer, got {dataset_size!r}.")
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.dataset_size = int(dataset_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "gamma": self.gamma,
            "dataset_size": self.dataset_size,
        }

    def latent_regulariser(self, z, mean, log_var, kl: tf.Tensor) -> dict:
        mutual_info, total_correlation, dimension_kl = (
            tf.reduce_mean(term)
            for term in losses.total_correlation_decomposition(z, mean, log_var, self.dataset_size)
        )
        penalty = (
            kl
            + (self.alpha - 1.0) * mutual_info
            + (self.beta - 1.0) * total_correlation
            + (self.gamma - 1.0) * dimension_kl
        )
        return {
            "penalty": penalty,
            "mutual_info": mutual_info,
            "tc": total_correlation,
            "dimension_kl": dimension_kl,
        }
