"""The Gumbel-softmax VAE (Jang et al. 2017; Maddison et al. 2017): categorical latents, relaxed
for training."""

import keras
import numpy as np
import tensorflow as tf

from keras_ae import losses
from keras_ae.arrays import map_batches, sample_categorical
from keras_ae.data_checks import check_seed
from keras_ae.models.base import Autoencoder
from keras_ae.models.registry import register_model


@register_model(
    title="Gumbel-softmax VAE",
    loss_summary="reconstruction of a Gumbel-softmax sample (temperature annealed by the step) "
    "+ KL(categorical q || uniform) over `latent_dim / num_classes` variables",
    can_sample=True,
    discrete_codes=True,
    own_bound=True,
    likelihoods=("bernoulli", "gaussian"),
    headline_metrics=("elbo.elbo", "probe.embedding.logistic"),
    example_arguments={"num_classes": 4, "temperature_rate": 0.01},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class GumbelVAE(Autoencoder):
    """A VAE whose latent is ``latent_dim / num_classes`` categorical variables of
    ``num_classes`` classes each, with a uniform prior.

    The encoder outputs the logits ``(batch, latent_dim)``, read as ``(batch, variables,
    num_classes)``. Training decodes a Gumbel-softmax sample of each variable at temperature
    ``tau = max(min_temperature, initial_temperature * exp(-temperature_rate * step))``; the
    step is ``trained_steps``, saved with the weights, so resumed training continues the
    schedule. The loss is ``reconstruction + kl`` in nats per example, the KL that of the
    categorical posterior to the uniform prior, in closed form. ``temperature`` is a metric.

    ``encode`` gives the class probabilities flattened, ``(n, latent_dim)``; ``decode`` takes
    the same layout (one-hot codes for hard samples). ``sample(n, seed)`` decodes one-hot draws
    from the prior. ``negative_elbo(x)`` gives the bound of the discrete model itself (one-hot
    samples, no relaxation).
    """

    term_names = ("loss", "reconstruction", "kl", "temperature")

    def __init__(
        self,
        *args,
        num_classes: int = 10,
        initial_temperature: float = 1.0,
        min_temperature: float = 0.5,
        temperature_rate: float = 1e-5,
        **kwargs,
    ):
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
        if not 0.0 < float(min_temperature) <= float(initial_temperature):
            raise ValueError(
                "Temperatures must satisfy 0 < min_temperature <= initial_temperature, got "
                f"{min_temperature} and {initial_temperature}."
            )
        if float(temperature_rate) < 0:
            raise ValueError(f"temperature_rate must be >= 0, got {temperature_rate}.")
        super().__init__(*args, **kwargs)
        if self.likelihood == "squared_error":
            raise ValueError(
                'GumbelVAE needs a likelihood with a density ("bernoulli" or "gaussian"), got '
                '"squared_error".'
            )
        self.num_classes = int(num_classes)
        if self.latent_dim % self.num_classes:
            raise ValueError(
                f"latent_dim ({self.latent_dim}) must be a multiple of num_classes "
                f"({self.num_classes}): the code is latent_dim / num_classes categorical "
                "variables."
            )
        self.num_variables = self.latent_dim // self.num_classes
        self.initial_temperature = float(initial_temperature)
        self.min_temperature = float(min_temperature)
        self.temperature_rate = float(temperature_rate)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "initial_temperature": self.initial_temperature,
            "min_temperature": self.min_temperature,
            "temperature_rate": self.temperature_rate,
        }

    def logits(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The posterior's logits, ``(batch, variables, num_classes)``."""
        logits = self.encoder(x, training=training)
        return tf.reshape(logits, [-1, self.num_variables, self.num_classes])

    def temperature(self) -> tf.Tensor:
        """The temperature in force at the current ``trained_steps``."""
        return losses.annealed_temperature(
            self.trained_steps,
            self.initial_temperature,
            self.min_temperature,
            self.temperature_rate,
        )

    def _flat(self, codes: tf.Tensor) -> tf.Tensor:
        return tf.reshape(codes, [-1, self.latent_dim])

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        logits = self.logits(x, training)
        temperature = self.temperature()
        noise = losses.gumbel_noise(tf.shape(logits), self.seed_generator)
        relaxed = losses.gumbel_softmax(logits, noise, temperature)
        terms = self.reconstruction_terms(x, self._flat(relaxed), training)
        terms["kl"] = tf.reduce_mean(
            tf.reduce_sum(losses.categorical_kl_to_uniform(logits), axis=1)
        )
        terms["loss"] += terms["kl"]
        terms["temperature"] = temperature
        return terms

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        return self._flat(tf.nn.softmax(self.logits(x), axis=-1))

    def negative_elbo(self, x, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``-ELBO`` of each example of ``x``, ``(n,)`` nats, for the discrete model itself: one
        one-hot sample of each categorical posterior decoded, plus the closed-form KL."""
        x = self.checked_data(x)
        probabilities = map_batches(self._compiled("encode", self.embedding), x, batch_size)
        n = len(probabilities)
        probabilities = probabilities.reshape(n, self.num_variables, self.num_classes)
        classes = sample_categorical(probabilities, np.random.default_rng(check_seed(seed)))
        codes = np.eye(self.num_classes, dtype=np.float32)[classes].reshape(n, self.latent_dim)
        nll = self._compiled(
            "reconstruction_nll",
            lambda images, z: self.reconstruction_nll(images, self.decoder(z, training=False)),
        )
        reconstruction = map_batches(nll, (x, codes), batch_size)
        safe = np.where(probabilities > 0, probabilities, 1.0)
        kl = (probabilities * np.log(safe * self.num_classes)).sum(axis=(1, 2))
        return reconstruction + kl

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``n`` images decoded from one-hot codes drawn from the uniform prior."""
        n, rng = self.sampling_rng(n, seed)
        classes = rng.integers(self.num_classes, size=(n, self.num_variables))
        codes = np.eye(self.num_classes, dtype=np.float32)[classes]
        return self.decode(codes.reshape(n, self.latent_dim), batch_size=batch_size)
