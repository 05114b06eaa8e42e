"""VQ-VAE (van den Oord et al. 2017): a codebook of discrete codes, and a learned prior over them.

Training has two stages, as in the paper: ``fit`` trains the encoder, the codebook and the
decoder; ``fit_prior`` then trains a gated PixelCNN (``keras_ae.pixelcnn``) on the code grids of
the data, with the autoencoder frozen. Both run through the one ``train_step``.
"""

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_ae import losses
from keras_ae._stateless import allocated_even_when_sizing
from keras_ae.data_checks import DataError, as_numeric_array, check_count, check_seed
from keras_ae.models.base import Autoencoder
from keras_ae.models.registry import register_model
from keras_ae.models.stages import Objective, Stage
from keras_ae.networks import GRID_28, grid_channels
from keras_ae.pixelcnn import build_gated_pixelcnn, sample_codes

CODEBOOK_UPDATES = ("gradient", "ema")
# The decay of each code's moving share of use: a code unused for about 70 steps falls below
# the default threshold (0.95 ** 70 ~ 0.03) and is restarted.
_USAGE_DECAY = 0.95


@register_model(
    title="VQ-VAE",
    loss_summary="reconstruction + `w * (||sg[z_e] - e||^2 + commitment_weight * "
    "||z_e - sg[e]||^2)`, the distances summed over the code grid, `w` = pixels / `latent_dim` "
    "(the paper's balance of per-pixel and per-element means; 1 for a 7x7x16 grid on 28x28) "
    '(`codebook_update="ema"`: the codebook by moving averages instead); then `fit_prior` '
    "trains a gated PixelCNN prior on the codes: `-log p(codes)`",
    can_sample=True,
    discrete_codes=True,
    codebook=True,
    headline_metrics=("pca.squared_error", "codebook.perplexity", "codebook.prior_nll"),
    example_arguments={
        "architecture": "mlp",
        "code_dim": 2,
        "num_codes": 8,
        "prior_channels": 8,
        "prior_layers": 2,
    },
)
@keras.saving.register_keras_serializable(package="keras_ae")
class VQVAE(Autoencoder):
    """VQ-VAE: each code vector of the encoder is replaced by its nearest of ``num_codes``
    codebook vectors, with the decoder's gradient copied straight through to the encoder.

    The encoder's output ``(batch, latent_dim)`` is read as a grid of ``latent_dim / code_dim``
    vectors of ``code_dim`` numbers: the 7x7 grid of ``architecture="conv28_grid"`` (where
    ``latent_dim`` defaults to ``49 * code_dim``), else one row. The loss, in nats per example,
    is ``reconstruction + w * (codebook + commitment_weight * commitment)``, the two squared
    distances summed over the grid and ``w = pixels / latent_dim`` (``distance_weight``): the
    paper averages the reconstruction over pixels and the distances over code elements, and
    with the reconstruction summed over pixels this weight keeps that balance (1 for a 7x7x16
    grid on 28x28 images; without it a small code's encoder outruns its codebook).

    With ``codebook_update="ema"`` the codebook follows exponential moving averages of the
    vectors assigned to each code (``ema_decay``, the paper's appendix) instead of the
    ``codebook`` term's gradient. A code picked by fewer than ``dead_code_threshold / num_codes``
    of the vectors (a moving average over about 20 training steps) is restarted at a random
    encoder vector of the batch, so the codebook does not collapse onto a few codes; at the
    first step every code starts so.

    ``encode`` gives the quantised grid flattened, ``(n, latent_dim)``, so ``decode(encode(x))``
    is ``reconstruct(x)``; ``encode_indices`` gives the code indices ``(n, rows, cols)``.
    ``sample(n, seed)`` draws code grids from the prior and decodes them.

    Metrics: ``perplexity`` (``exp`` of the entropy of the batch's code usage, 1 to
    ``num_codes``), ``codebook_usage`` (the fraction of codes the batch uses), and in
    ``fit_prior`` ``prior_nll`` (nats per example, summed over the grid).
    """

    term_names = (
        "loss",
        "reconstruction",
        "codebook",
        "commitment",
        "perplexity",
        "codebook_usage",
    )
    stages = (
        Stage("autoencoder"),
        # The second stage: the prior alone, on the codes of the frozen autoencoder.
        Stage(
            "prior",
            fit_method="fit_prior",
            evaluate_method="evaluate_prior",
            counter="prior_trained_steps",
            objectives=(Objective("prior_nll", "prior_optimizer", "prior"),),
            terms=("prior_nll",),
            steps_field="prior_steps",
        ),
    )

    def __init__(
        self,
        input_shape: Sequence[int] | None = None,
        latent_dim: int | None = None,
        *,
        code_dim: int = 16,
        num_codes: int = 64,
        commitment_weight: float = 0.25,
        codebook_update: str = "gradient",
        ema_decay: float = 0.99,
        dead_code_threshold: float = 0.03,
        prior_channels: int = 64,
        prior_layers: int = 6,
        prior_learning_rate: float = 1e-3,
        architecture: str = "conv28_grid",
        **kwargs,
    ):
        if codebook_update not in CODEBOOK_UPDATES:
            raise ValueError(
                f"codebook_update must be one of {CODEBOOK_UPDATES}, got {codebook_update!r}."
            )
        if int(code_dim) < 1 or int(num_codes) < 2:
            raise ValueError(
                f"code_dim must be at least 1 and num_codes at least 2, got {code_dim} and "
                f"{num_codes}."
            )
        if not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}.")
        if latent_dim is None and architecture == "conv28_grid" and "encoder" not in kwargs:
            latent_dim = GRID_28[0] * GRID_28[1] * int(code_dim)
        super().__init__(input_shape, latent_dim, architecture=architecture, **kwargs)
        self.code_dim = int(code_dim)
        self.num_codes = int(num_codes)
        self.commitment_weight = float(commitment_weight)
        self.codebook_update = codebook_update
        self.ema_decay = float(ema_decay)
        self.dead_code_threshold = float(dead_code_threshold)
        self.prior_channels = int(prior_channels)
        self.prior_layers = int(prior_layers)
        self.prior_learning_rate = float(prior_learning_rate)
        self.grid_shape = self._grid_shape()
        # The paper averages the reconstruction over pixels and the distances over code
        # elements; with the reconstruction summed over pixels, that balance needs this weight.
        self.distance_weight = float(np.prod(self.data_shape)) / self.latent_dim
        self.codebook = self.add_weight(
            shape=(self.num_codes, self.code_dim),
            initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed),
            trainable=codebook_update == "gradient",
            name="codebook",
        )
        self.usage_average = self._state_weight("usage_average", (self.num_codes,), 1 / num_codes)
        if codebook_update == "ema":
            self.ema_counts = self._state_weight("ema_counts", (self.num_codes,), 0.0)
            self.ema_sums = self._state_weight("ema_sums", (self.num_codes, self.code_dim), 0.0)
        self.prior = build_gated_pixelcnn(
            self.grid_shape,
            self.num_codes,
            channels=self.prior_channels,
            num_layers=self.prior_layers,
        )
        with allocated_even_when_sizing():
            self.prior_optimizer = keras.optimizers.Adam(
                learning_rate=self.prior_learning_rate, name="prior_adam"
            )
        self.prior_trained_steps = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False, name="prior_steps"
        )

    def _grid_shape(self) -> tuple[int, int]:
        if self.latent_dim % self.code_dim:
            raise ValueError(
                f"latent_dim ({self.latent_dim}) must be a multiple of code_dim "
                f"({self.code_dim}): the code is a grid of code_dim-sized vectors."
            )
        if self.architecture == "conv28_grid" and not self._custom_networks:
            channels = grid_channels(self.architecture, self.latent_dim)
            if channels != self.code_dim:
                raise ValueError(
                    f'architecture="conv28_grid" gives {channels} channels per grid position '
                    f"for latent_dim={self.latent_dim}, but code_dim is {self.code_dim}; "
                    "leave latent_dim out to derive it."
                )
            return GRID_28
        return (1, self.latent_dim // self.code_dim)

    def _state_weight(self, name: str, shape: tuple, value: float) -> keras.Variable:
        return self.add_weight(
            shape=shape,
            initializer=keras.initializers.Constant(value),
            trainable=False,
            name=name,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "code_dim": self.code_dim,
            "num_codes": self.num_codes,
            "commitment_weight": self.commitment_weight,
            "codebook_update": self.codebook_update,
            "ema_decay": self.ema_decay,
            "dead_code_threshold": self.dead_code_threshold,
            "prior_channels": self.prior_channels,
            "prior_layers": self.prior_layers,
            "prior_learning_rate": self.prior_learning_rate,
        }

    # ------------------------------------------------------------------------ quantisation
    def _encoder_grid(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        """``z_e`` as ``(batch, rows, cols, code_dim)``."""
        return tf.reshape(self.encoder(x, training=training), [-1, *self.grid_shape, self.code_dim])

    def _flat(self, grid: tf.Tensor) -> tf.Tensor:
        return tf.reshape(grid, [-1, self.latent_dim])

    def code_indices(self, x: tf.Tensor) -> tf.Tensor:
        """The nearest code of each grid position, ``(batch, rows, cols)`` int32."""
        return losses.nearest_codes(self._encoder_grid(x, training=False), self.codebook)

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        return self._flat(tf.gather(self.codebook, self.code_indices(x)))

    # ------------------------------------------------------------------------- the losses
    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        if self.stage.name == "prior":
            return {"prior_nll": tf.reduce_mean(self._prior_nll(x, training))}
        vectors = self._encoder_grid(x, training)
        indices = losses.nearest_codes(vectors, self.codebook)
        quantised = tf.gather(self.codebook, indices)
        terms = self.reconstruction_terms(
            x, self._flat(losses.straight_through(vectors, quantised)), training
        )
        terms["codebook"] = tf.reduce_mean(losses.codebook_loss(vectors, quantised))
        terms["commitment"] = tf.reduce_mean(losses.commitment_loss(vectors, quantised))
        distances = self.commitment_weight * terms["commitment"]
        if self.codebook_update == "gradient":
            distances += terms["codebook"]
        terms["loss"] += self.distance_weight * distances
        usage = losses.code_usage(indices, self.num_codes)
        terms["perplexity"] = losses.perplexity(usage)
        terms["codebook_usage"] = tf.reduce_mean(tf.cast(usage > 0, tf.float32))
        if training:
            self._update_codebook(tf.reshape(vectors, [-1, self.code_dim]), indices, usage)
        return terms

    def _update_codebook(self, vectors: tf.Tensor, indices: tf.Tensor, usage: tf.Tensor) -> None:
        """The EMA update (if chosen), then the restart of dead codes; runs in training only.

        ``vectors`` is ``(n, code_dim)``, the batch's encoder vectors, and ``usage`` their codes'
        share ``(num_codes,)``."""
        vectors = tf.stop_gradient(vectors)
        decay = self.ema_decay
        self.usage_average.assign(_USAGE_DECAY * self.usage_average + (1.0 - _USAGE_DECAY) * usage)
        if self.codebook_update == "ema":
            one_hot = tf.one_hot(tf.reshape(indices, [-1]), self.num_codes, dtype=vectors.dtype)
            counts = decay * self.ema_counts + (1.0 - decay) * tf.reduce_sum(one_hot, axis=0)
            sums = decay * self.ema_sums + (1.0 - decay) * tf.matmul(
                one_hot, vectors, transpose_a=True
            )
            self.ema_counts.assign(counts)
            self.ema_sums.assign(sums)
            # Laplace smoothing keeps a rarely used code's mean finite.
            total = tf.reduce_sum(counts)
            smoothed = (counts + 1e-5) / (total + self.num_codes * 1e-5) * total
            self.codebook.assign(sums / smoothed[:, None])
        dead = self.usage_average < self.dead_code_threshold / self.num_codes
        # At the first step every code starts at an encoder vector of the batch: codes drawn
        # away from the encoder's outputs would never be picked.
        dead = dead | tf.equal(self.trained_steps, 0)
        picks = keras.random.randint(
            (self.num_codes,), 0, tf.shape(vectors)[0], seed=self.seed_generator
        )
        restarts = tf.gather(vectors, picks)
        self.codebook.assign(tf.where(dead[:, None], restarts, self.codebook))
        # A restarted code starts as if used at the uniform rate, so it has time to be picked.
        self.usage_average.assign(
            tf.where(dead, tf.fill(tf.shape(dead), 1.0 / self.num_codes), self.usage_average)
        )
        if self.codebook_update == "ema":
            fresh_count = tf.reduce_sum(self.ema_counts) / self.num_codes
            self.ema_counts.assign(tf.where(dead, fresh_count, self.ema_counts))
            self.ema_sums.assign(tf.where(dead[:, None], restarts * fresh_count, self.ema_sums))

    # ------------------------------------------------------------------------- the prior
    def _prior_nll(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        """``-log p(codes of x)`` under the prior, ``(batch,)`` nats, summed over the grid."""
        indices = tf.stop_gradient(self.code_indices(x))
        logits = self.prior(indices, training=training)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(indices, logits)
        return tf.reduce_sum(cross_entropy, axis=[1, 2])

    def fit_prior(self, x=None, y=None, *args, **kwargs):
        """Trains the prior on the code grids of ``x`` (the second stage), with the encoder and
        codebook frozen; takes ``keras.Model.fit``'s arguments. Its optimizer is the model's own
        (Adam, ``prior_learning_rate``); the model must be compiled, as for ``fit``. Reports
        ``prior_nll``; the step count is ``prior_trained_steps``."""
        return self.fit_stage("prior", x, y, *args, **kwargs)

    def evaluate_prior(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate`` of the prior: ``prior_nll`` on ``x``'s codes."""
        return self.evaluate_stage("prior", x, y, *args, **kwargs)

    # ---------------------------------------------------------------------------- inference
    def encode_indices(self, x, batch_size: int = 256) -> np.ndarray:
        """The code indices of ``x`` ``(n, *data_shape)``: ``(n, rows, cols)`` int32."""
        return self._batched("encode_indices", self.code_indices, x, batch_size)

    def decode_indices(self, indices, batch_size: int = 256) -> np.ndarray:
        """Decodes code grids ``(n, rows, cols)`` into pixel values ``(n, *data_shape)``."""
        indices = as_numeric_array(indices, "indices")
        if indices.shape[1:] != self.grid_shape or not np.issubdtype(indices.dtype, np.integer):
            raise DataError(
                f"Expected integer code grids of shape (n, {self.grid_shape[0]}, "
                f"{self.grid_shape[1]}), got {indices.dtype} {indices.shape}."
            )
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_codes):
            raise DataError(
                f"indices must be in [0, {self.num_codes}), got values in "
                f"[{indices.min()}, {indices.max()}]."
            )
        codes = np.take(keras.ops.convert_to_numpy(self.codebook), indices, axis=0)
        return self.decode(codes.reshape(len(codes), self.latent_dim), batch_size=batch_size)

    def prior_nll(self, x, batch_size: int = 256) -> np.ndarray:
        """``-log p(codes of x)`` under the prior, ``(n,)`` nats."""
        return self._batched(
            "prior_nll", lambda batch: self._prior_nll(batch, False), x, batch_size
        )

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``n`` images decoded from code grids drawn from the prior, ``(n, *data_shape)``."""
        codes = sample_codes(self.prior, check_count(n), check_seed(seed))
        return self.decode_indices(codes, batch_size=batch_size)
