"""Contractive autoencoder (Rifai et al. 2011): penalise ||J_encoder(x)||_F^2."""

import keras
import tensorflow as tf

from keras_ae import losses
from keras_ae.models.base import LINEAR_PROBES, Autoencoder
from keras_ae.models.registry import register_model

JACOBIAN_METHODS = ("exact", "closed_form", "hutchinson")
_SHAPE_ONLY_LAYERS = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape)


def single_sigmoid_dense(encoder: keras.Model) -> keras.layers.Dense:
    """The encoder's one Dense layer, if the encoder is ``sigmoid(flatten(x) @ W + b)``.

    Raises ``ValueError`` for any other encoder: the closed form holds for that one alone.
    """
    dense = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)]
    others = [
        layer
        for layer in encoder.layers
        if not isinstance(layer, _SHAPE_ONLY_LAYERS + (keras.layers.Dense,))
    ]
    if len(dense) != 1 or others or dense[0].activation is not keras.activations.sigmoid:
        raise ValueError(
            'jacobian="closed_form" needs an encoder made of one sigmoid Dense layer (e.g. '
            'architecture="mlp", hidden_units=(), code_activation="sigmoid"); this encoder has '
            f"layers {[type(layer).__name__ for layer in encoder.layers]}. "
            'Use jacobian="exact" or "hutchinson" for it.'
        )
    return dense[0]


@register_model(
    title="contractive",
    loss_summary='+ `lam * ||dh/dx||_F^2`, `jacobian="exact" | "closed_form" | "hutchinson"`',
    headline_metrics=LINEAR_PROBES,
    example_arguments={"lam": 0.1},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class ContractiveAutoencoder(Autoencoder):
    """An autoencoder with the penalty ``lam * ||dh/dx||_F^2`` per example, batch-averaged.

    Args:
        lam: the penalty's weight.
        jacobian: ``"exact"``: the full Jacobian by ``GradientTape.batch_jacobian`` (an inner
            tape; costs about ``latent_dim`` backward passes). ``"closed_form"``: exact and cheap,
            for an encoder of one sigmoid Dense layer only. ``"hutchinson"``: the unbiased
            estimate ``mean ||J v||^2`` over ``n_probes`` probes ``v ~ N(0, I)``, by forward-mode
            differentiation.
    """

    term_names = ("loss", "reconstruction", "contractive")

    def __init__(
        self, *args, lam: float = 0.1, jacobian: str = "exact", n_probes: int = 1, **kwargs
    ):
        if jacobian not in JACOBIAN_METHODS:
            raise ValueError(f"Unknown jacobian {jacobian!r}; expected one of {JACOBIAN_METHODS}.")
        if n_probes < 1:
            raise ValueError(f"n_probes must be >= 1, got {n_probes}.")
        super().__init__(*args, **kwargs)
        self.lam = float(lam)
        self.jacobian = jacobian
        self.n_probes = int(n_probes)
        if jacobian == "closed_form":
            single_sigmoid_dense(self.encoder)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "lam": self.lam,
            "jacobian": self.jacobian,
            "n_probes": self.n_probes,
        }

    def code_and_jacobian_norm(self, x: tf.Tensor, training: bool = False):
        """The code ``(batch, latent_dim)`` and ||dh/dx||_F^2 per example ``(batch,)``."""
        if self.jacobian == "closed_form":
            code = self.encoder(x, training=training)
            kernel = single_sigmoid_dense(self.encoder).kernel
            return code, losses.sigmoid_dense_jacobian_norm_squared(code, kernel)
        if self.jacobian == "exact":
            with tf.GradientTape() as inner_tape:
                inner_tape.watch(x)
                code = self.encoder(x, training=training)
            jacobian = inner_tape.batch_jacobian(code, x)
            return code, losses.frobenius_norm_squared(jacobian)
        # All probes in one pass: the batch is tiled n_probes times along the batch axis.
        tiled = tf.tile(x, [self.n_probes] + [1] * len(self.data_shape))
        probes = keras.random.normal(tf.shape(tiled), dtype=x.dtype, seed=self.seed_generator)
        with tf.autodiff.ForwardAccumulator(primals=tiled, tangents=probes) as accumulator:
            tiled_code = self.encoder(tiled, training=training)
        estimates = losses.frobenius_norm_squared(accumulator.jvp(tiled_code))
        estimates = tf.reshape(estimates, [self.n_probes, -1])
        return tiled_code[: tf.shape(x)[0]], tf.reduce_mean(estimates, axis=0)

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        code, jacobian_norm = self.code_and_jacobian_norm(x, training)
        terms = self.reconstruction_terms(x, code, training)
        terms["contractive"] = self.lam * tf.reduce_mean(jacobian_norm)
        terms["loss"] = terms["loss"] + terms["contractive"]
        return terms
