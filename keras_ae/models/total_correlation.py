"""The total-correlation family: beta-TCVAE (Chen et al. 2018) and FactorVAE (Kim & Mnih 2018).

Both penalise the total correlation of the aggregate posterior, KL(q(z) || prod_d q(z_d)), the
part of the VAE's KL that makes latents statistically dependent."""

import keras
import tensorflow as tf

from keras_ae import losses
from keras_ae._stateless import allocated_even_when_sizing
from keras_ae.models.registry import register_model
from keras_ae.models.stages import Objective, Stage
from keras_ae.models.vae import VAE

#: dSprites' size, the default ``dataset_size`` of the minibatch-weighted estimate.
DSPRITES_SIZE = 737_280


@register_model(
    title="beta-TCVAE",
    loss_summary="reconstruction + `alpha * MI + beta * TC + gamma * dimension-wise KL` (Chen et "
    'al.\'s split of the KL over `dataset_size` examples, `estimator="mws" | "mss"`: '
    "minibatch-weighted or minibatch-stratified sampling)",
    example_arguments={"beta": 6.0, "dataset_size": 640},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class BetaTCVAE(VAE):
    """beta-TCVAE: ``reconstruction + alpha * MI + beta * TC + gamma * dimension-wise KL``.

    MI, TC and the dimension-wise KL are Chen et al.'s decomposition of the KL, estimated on each
    minibatch over ``dataset_size`` training examples by minibatch-weighted sampling
    (``estimator="mws"``) or Chen et al.'s less biased minibatch-stratified sampling (``"mss"``)
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
        estimator: str = "mws",
        **kwargs,
    ):
        super().__init__(*args, beta=beta, **kwargs)
        if int(dataset_size) < 1:
            raise ValueError(f"dataset_size must be a positive integer, got {dataset_size!r}.")
        if estimator not in losses.TOTAL_CORRELATION_ESTIMATORS:
            raise ValueError(
                f"estimator must be one of {losses.TOTAL_CORRELATION_ESTIMATORS} "
                f"(minibatch-weighted or minibatch-stratified sampling), got {estimator!r}."
            )
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.dataset_size = int(dataset_size)
        self.estimator = estimator

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "gamma": self.gamma,
            "dataset_size": self.dataset_size,
            "estimator": self.estimator,
        }

    def latent_regulariser(self, z, mean, log_var, kl: tf.Tensor) -> dict:
        mutual_info, total_correlation, dimension_kl = (
            tf.reduce_mean(term)
            for term in losses.total_correlation_decomposition(
                z, mean, log_var, self.dataset_size, self.estimator
            )
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


def build_discriminator(latent_dim: int, layers: int, units: int) -> keras.Sequential:
    """Kim & Mnih's discriminator: ``layers`` x (Dense(``units``), LeakyReLU(0.2)), then 2 logits.

    Input ``(batch, latent_dim)`` codes; output ``(batch, 2)`` logits, class 0 "from ``q(z)``",
    class 1 "from ``prod_j q(z_j)``".
    """
    hidden = []
    for _ in range(layers):
        hidden += [keras.layers.Dense(units), keras.layers.LeakyReLU(negative_slope=0.2)]
    return keras.Sequential(
        [keras.Input((latent_dim,)), *hidden, keras.layers.Dense(2)], name="discriminator"
    )


@register_model(
    title="FactorVAE",
    loss_summary="reconstruction + KL + `gamma * TC`, TC from a discriminator (its own network "
    "and Adam) telling q(z) from its dimension-permuted copy",
    example_arguments={"gamma": 35.0, "discriminator_layers": 2, "discriminator_units": 32},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class FactorVAE(VAE):
    """FactorVAE: ``reconstruction + kl + gamma * TC``, TC estimated by a discriminator.

    The discriminator tells samples of ``q(z)`` (the batch's sampled codes) from samples of
    ``prod_j q(z_j)`` (the same codes, each latent shuffled across the batch by
    ``losses.permute_dims``), and ``TC ~= mean(logit_q - logit_permuted)`` nats per example
    (``losses.discriminator_total_correlation``). ``"loss"`` trains the encoder and decoder only;
    the discriminator is trained on ``"discriminator_loss"`` (``losses.discriminator_loss``) by an
    Adam optimizer of its own, in the same step (its objective in ``stages``), on codes with the
    gradient stopped.

    The permuted codes come from the training batch itself, as in disentanglement_lib, rather
    than from a second batch as in Kim & Mnih: ``fit`` hands a step one batch, and a second one
    would halve the batch the VAE sees or hold codes over from the previous step, encoded by
    older weights.

    The discriminator's optimizer is made from the constructor arguments, so the config rebuilds
    it; it is built with the main one (``build_optimizers``), before training or before a saved
    training state is loaded, so a ``.keras`` file restores its state and a preset, which
    saves an untrained copy, carries none. A preset keeps the discriminator apart from the
    inference weights, in its optional ``training.weights.h5`` (``training_only_attributes``).
    """

    term_names = (
        "loss",
        "reconstruction",
        "kl",
        "tc",
        "discriminator_loss",
        "discriminator_accuracy",
        "active_units",
    )
    #: Kim & Mnih keep the KL's weight at 1: ``beta`` is not FactorVAE's to take.
    fixed_arguments = ("beta",)
    # One stage, two objectives: the VAE's loss, and the discriminator's on its own network.
    stages = (
        Stage(
            "autoencoder",
            objectives=(
                Objective("loss"),
                Objective("discriminator_loss", "discriminator_optimizer", "discriminator"),
            ),
        ),
    )
    # The discriminator estimates TC for the loss; inference never runs it.
    training_only_attributes = ("discriminator", "discriminator_optimizer")

    def __init__(
        self,
        *args,
        gamma: float = 35.0,
        discriminator_layers: int = 6,
        discriminator_units: int = 1000,
        discriminator_learning_rate: float = 1e-4,
        discriminator_beta_1: float = 0.5,
        discriminator_beta_2: float = 0.9,
        **kwargs,
    ):
        # Kim & Mnih keep the KL's weight at 1; gamma alone weighs the extra TC penalty.
        super().__init__(*args, beta=1.0, **kwargs)
        if int(discriminator_layers) < 1 or int(discriminator_units) < 1:
            raise ValueError(
                "discriminator_layers and discriminator_units must be positive integers, got "
                f"{discriminator_layers!r} and {discriminator_units!r}."
            )
        self.gamma = float(gamma)
        self.discriminator_layers = int(discriminator_layers)
        self.discriminator_units = int(discriminator_units)
        self.discriminator_learning_rate = float(discriminator_learning_rate)
        self.discriminator_beta_1 = float(discriminator_beta_1)
        self.discriminator_beta_2 = float(discriminator_beta_2)
        self.discriminator = build_discriminator(
            self.latent_dim, self.discriminator_layers, self.discriminator_units
        )
        with allocated_even_when_sizing():
            self.discriminator_optimizer = keras.optimizers.Adam(
                learning_rate=self.discriminator_learning_rate,
                beta_1=self.discriminator_beta_1,
                beta_2=self.discriminator_beta_2,
                name="discriminator_adam",
            )

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("beta")
        return {
            **config,
            "gamma": self.gamma,
            "discriminator_layers": self.discriminator_layers,
            "discriminator_units": self.discriminator_units,
            "discriminator_learning_rate": self.discriminator_learning_rate,
            "discriminator_beta_1": self.discriminator_beta_1,
            "discriminator_beta_2": self.discriminator_beta_2,
        }

    def latent_regulariser(self, z, mean, log_var, kl: tf.Tensor) -> dict:
        total_correlation = tf.reduce_mean(
            losses.discriminator_total_correlation(self.discriminator(z))
        )
        codes = tf.stop_gradient(z)
        permuted = losses.permute_dims(codes, seed=self.seed_generator)
        cross_entropy, accuracy = losses.discriminator_loss(
            self.discriminator(codes), self.discriminator(permuted)
        )
        return {
            "penalty": kl + self.gamma * total_correlation,
            "tc": total_correlation,
            "discriminator_loss": cross_entropy,
            "discriminator_accuracy": accuracy,
        }
