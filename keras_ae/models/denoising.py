"""Denoising autoencoder (Vincent et al. 2008): reconstruct the clean input from a corrupted one."""

import keras
import tensorflow as tf

from keras_ae.corruption import CORRUPTIONS, corrupt
from keras_ae.models.base import LINEAR_PROBES, Autoencoder
from keras_ae.models.registry import register_model


@register_model(
    title="denoising",
    loss_summary='NLL of the clean `x` given a corrupted one (`corruption="masking" | '
    '"gaussian" | "salt_and_pepper"`)',
    headline_metrics=(
        "corrupted_input.squared_error",
        *LINEAR_PROBES,
    ),
    example_arguments={"corruption": "masking"},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained on corrupted inputs, its loss measured against the clean input.

    Args:
        corruption: ``"masking"`` (a fixed fraction of pixels set to 0), ``"gaussian"`` (additive
            noise of standard deviation ``corruption_level``) or ``"salt_and_pepper"`` (a fixed
            fraction set to 0 or 1).
        corruption_level: the fraction of pixels, or the noise's standard deviation.

    The corruption is applied in training only; ``evaluate`` and ``encode`` see clean inputs.
    """

    def __init__(
        self, *args, corruption: str = "masking", corruption_level: float = 0.25, **kwargs
    ):
        if corruption not in CORRUPTIONS:
            raise ValueError(f"Unknown corruption {corruption!r}; expected one of {CORRUPTIONS}.")
        super().__init__(*args, **kwargs)
        self.corruption = corruption
        self.corruption_level = float(corruption_level)
        # Validates the level now rather than at the first training step.
        corrupt(tf.zeros((1, *self.data_shape)), corruption, self.corruption_level, seed=0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "corruption": self.corruption,
            "corruption_level": self.corruption_level,
        }

    def corrupt(self, x: tf.Tensor) -> tf.Tensor:
        """A corrupted copy of the batch ``x``."""
        return corrupt(x, self.corruption, self.corruption_level, seed=self.seed_generator)

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        noisy = self.corrupt(x) if training else x
        return self.reconstruction_terms(x, self.encoder(noisy, training=training), training)
