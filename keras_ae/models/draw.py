"""DRAW (Gregor et al. 2015): a recurrent VAE that draws an image on a canvas over several steps,
reading and writing through Gaussian-filterbank attention.

At each of ``steps`` steps ``t``::

    x_hat = x - sigmoid(c_{t-1})
    r = read(x, x_hat, h_dec_{t-1})
    h_enc = LSTM_enc([r, h_dec_{t-1}])
    z_t ~ q(z_t | h_enc) = N(mean_t, exp(log_var_t))
    h_dec = LSTM_dec(z_t)
    c_t = c_{t-1} + write(h_dec)

and the image's Bernoulli logits are ``c_T``.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_ae import losses
from keras_ae.arrays import map_batches
from keras_ae.data_checks import check_seed
from keras_ae.models.base import Autoencoder
from keras_ae.models.registry import register_model

# The attention parameters predicted from h_dec: centre x/y, log variance, log stride, log gain.
_ATTENTION_PARAMETERS = 5


def gaussian_filterbank(
    centre: tf.Tensor, stride: tf.Tensor, variance: tf.Tensor, size: int, length: int
) -> tf.Tensor:
    """The ``size`` Gaussian filters of DRAW's attention along one image axis.

    Args:
        centre: ``(batch,)`` the grid's centre, in pixels from 0 to ``length - 1``.
        stride: ``(batch,)`` the distance between neighbouring filters, in pixels.
        variance: ``(batch,)`` each filter's variance, in squared pixels.
        size: ``N``, the number of filters.
        length: ``A``, the image's size along the axis.

    Returns:
        ``(batch, size, length)``: row ``i`` is the filter centred at
        ``centre + (i - size / 2 + 0.5) * stride``, normalised to sum to 1 over the pixels.
    """
    offsets = tf.range(size, dtype=centre.dtype) - size / 2.0 + 0.5
    means = centre[:, None] + offsets[None, :] * stride[:, None]
    pixels = tf.range(length, dtype=centre.dtype)
    logits = -tf.square(pixels[None, None, :] - means[:, :, None]) / (2.0 * variance[:, None, None])
    filters = tf.exp(logits)
    return filters / (tf.reduce_sum(filters, axis=2, keepdims=True) + 1e-8)


def attention_filterbanks(
    parameters: tf.Tensor, size: int, height: int, width: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``F_Y (batch, size, height)``, ``F_X (batch, size, width)`` and the gain ``(batch,)``
    from the 5 linear outputs ``(batch, 5)`` of h_dec (Gregor et al., eqs. 21-24; centres are
    measured from pixel 0, so ``g = 0`` is the image's centre)."""
    g_x, g_y, log_variance, log_stride, log_gain = tf.unstack(parameters, axis=1)
    centre_x = (width - 1) / 2.0 * (g_x + 1.0)
    centre_y = (height - 1) / 2.0 * (g_y + 1.0)
    stride = (max(height, width) - 1) / max(size - 1, 1) * tf.exp(log_stride)
    variance = tf.exp(log_variance)
    f_y = gaussian_filterbank(centre_y, stride, variance, size, height)
    f_x = gaussian_filterbank(centre_x, stride, variance, size, width)
    return f_y, f_x, tf.exp(log_gain)


def _filter(f_y: tf.Tensor, images: tf.Tensor, f_x: tf.Tensor, transpose: bool = False):
    """``F_Y image F_X^T`` per channel (a glimpse ``(batch, N, N, C)`` of ``(batch, H, W, C)``
    images), or with ``transpose`` ``F_Y^T patch F_X`` (a patch back onto the image)."""
    # Two batched matmuls with the channels as a batch axis, so every image of the batch has
    # its own filters without building a (batch, N, H, W) intermediate.
    channels_first = tf.transpose(images, [0, 3, 1, 2])
    rows = tf.matmul(f_y[:, None], channels_first, transpose_a=transpose)
    filtered = tf.matmul(rows, f_x[:, None], transpose_b=not transpose)
    return tf.transpose(filtered, [0, 2, 3, 1])


@keras.saving.register_keras_serializable(package="keras_ae")
class DrawRecurrence(keras.layers.Layer):
    """DRAW's recurrent networks: both LSTMs, the posterior head and the read/write heads.

    ``infer(x, noise)`` runs the whole model on images; ``generate(z)`` runs the decoder alone.
    """

    def __init__(
        self,
        image_shape,
        steps: int,
        step_latent_dim: int,
        units: int,
        attention: bool,
        read_size: int,
        write_size: int,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.steps = int(steps)
        self.step_latent_dim = int(step_latent_dim)
        self.units = int(units)
        self.attention = bool(attention)
        self.read_size = int(read_size)
        self.write_size = int(write_size)
        height, width, channels = self.image_shape
        self.encoder_cell = keras.layers.LSTMCell(self.units, name="encoder_lstm")
        self.decoder_cell = keras.layers.LSTMCell(self.units, name="decoder_lstm")
        self.posterior_head = keras.layers.Dense(2 * self.step_latent_dim, name="posterior")
        patch = (self.write_size**2 if self.attention else height * width) * channels
        self.write_head = keras.layers.Dense(patch, name="write")
        if self.attention:
            self.read_attention = keras.layers.Dense(_ATTENTION_PARAMETERS, name="read_attention")
            self.write_attention = keras.layers.Dense(_ATTENTION_PARAMETERS, name="write_attention")

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "steps": self.steps,
            "step_latent_dim": self.step_latent_dim,
            "units": self.units,
            "attention": self.attention,
            "read_size": self.read_size,
            "write_size": self.write_size,
        }

    def build(self, input_shape=None):
        height, width, channels = self.image_shape
        glimpse = (self.read_size**2 if self.attention else height * width) * channels
        self.encoder_cell.build((None, 2 * glimpse + self.units))
        self.decoder_cell.build((None, self.step_latent_dim))
        self.posterior_head.build((None, self.units))
        self.write_head.build((None, self.units))
        if self.attention:
            self.read_attention.build((None, self.units))
            self.write_attention.build((None, self.units))
        self.built = True

    def _zeros_state(self, batch):
        zeros = tf.zeros([batch, self.units])
        return [zeros, zeros]

    def _read(self, x, x_error, h_dec):
        batch = tf.shape(x)[0]
        if not self.attention:
            return tf.concat([tf.reshape(x, [batch, -1]), tf.reshape(x_error, [batch, -1])], 1)
        height, width, _ = self.image_shape
        f_y, f_x, gain = attention_filterbanks(
            self.read_attention(h_dec), self.read_size, height, width
        )
        glimpses = [tf.reshape(_filter(f_y, image, f_x), [batch, -1]) for image in (x, x_error)]
        return gain[:, None] * tf.concat(glimpses, axis=1)

    def _write(self, h_dec):
        batch = tf.shape(h_dec)[0]
        height, width, channels = self.image_shape
        patch = self.write_head(h_dec)
        if not self.attention:
            return tf.reshape(patch, [batch, height, width, channels])
        f_y, f_x, gain = attention_filterbanks(
            self.write_attention(h_dec), self.write_size, height, width
        )
        patch = tf.reshape(patch, [batch, self.write_size, self.write_size, channels])
        canvas = _filter(f_y, patch, f_x, transpose=True)
        return canvas / gain[:, None, None, None]

    def infer(self, x, noise, training: bool = False):
        """Runs encoder and decoder on images ``x (batch, H, W, C)`` with reparameterisation
        noise ``(batch, steps, step_latent_dim)`` (zeros: the posterior means are decoded).

        Returns the canvases (a list of ``steps`` logits ``(batch, H, W, C)``), and the
        posterior means and log-variances, each ``(batch, steps, step_latent_dim)``."""
        batch = tf.shape(x)[0]
        canvas = tf.zeros_like(x)
        encoder_state, decoder_state = self._zeros_state(batch), self._zeros_state(batch)
        h_dec = decoder_state[0]
        canvases, means, log_vars = [], [], []
        for t in range(self.steps):
            glimpse = self._read(x, x - tf.sigmoid(canvas), h_dec)
            h_enc, encoder_state = self.encoder_cell(
                tf.concat([glimpse, h_dec], axis=1), encoder_state, training=training
            )
            mean, log_var = tf.split(self.posterior_head(h_enc), 2, axis=1)
            z = mean + tf.exp(0.5 * log_var) * noise[:, t]
            h_dec, decoder_state = self.decoder_cell(z, decoder_state, training=training)
            canvas = canvas + self._write(h_dec)
            canvases.append(canvas)
            means.append(mean)
            log_vars.append(log_var)
        return canvases, tf.stack(means, axis=1), tf.stack(log_vars, axis=1)

    def generate(self, z, training: bool = False):
        """Runs the decoder alone on codes ``(batch, steps * step_latent_dim)``: the list of
        ``steps`` canvases (logits)."""
        z = tf.reshape(z, [-1, self.steps, self.step_latent_dim])
        state = self._zeros_state(tf.shape(z)[0])
        canvas = tf.zeros([tf.shape(z)[0], *self.image_shape])
        canvases = []
        for t in range(self.steps):
            h_dec, state = self.decoder_cell(z[:, t], state, training=training)
            canvas = canvas + self._write(h_dec)
            canvases.append(canvas)
        return canvases


@keras.saving.register_keras_serializable(package="keras_ae")
class DrawPosteriorMeans(keras.layers.Layer):
    """DRAW's deterministic encoder: the posterior means and log-variances, each
    ``(batch, steps * step_latent_dim)``, with every step's mean decoded (no noise)."""

    def __init__(self, recurrence: DrawRecurrence, **kwargs):
        super().__init__(**kwargs)
        self.recurrence = recurrence

    def call(self, x):
        recurrence = self.recurrence
        noise = tf.zeros([tf.shape(x)[0], recurrence.steps, recurrence.step_latent_dim])
        _, means, log_vars = recurrence.infer(x, noise)
        width = recurrence.steps * recurrence.step_latent_dim
        return [tf.reshape(means, [-1, width]), tf.reshape(log_vars, [-1, width])]

    def compute_output_shape(self, input_shape):
        width = self.recurrence.steps * self.recurrence.step_latent_dim
        return [(input_shape[0], width), (input_shape[0], width)]


@keras.saving.register_keras_serializable(package="keras_ae")
class DrawCanvas(keras.layers.Layer):
    """DRAW's decoder: codes ``(batch, steps * step_latent_dim)`` -> the last canvas (logits)."""

    def __init__(self, recurrence: DrawRecurrence, **kwargs):
        super().__init__(**kwargs)
        self.recurrence = recurrence

    def call(self, z):
        return self.recurrence.generate(z)[-1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.recurrence.image_shape)


@register_model(
    title="DRAW",
    loss_summary="Bernoulli NLL of `sigmoid(c_T)` + the KL of every step's latent, over `steps` "
    "read-encode-sample-decode-write steps (`attention=True`: Gaussian-filterbank read and write)",
    can_sample=True,
    sequential_canvas=True,
    own_bound=True,
    likelihoods=("bernoulli",),
    headline_metrics=("elbo.elbo",),
    example_arguments={"steps": 2, "read_size": 2, "write_size": 3},
)
@keras.saving.register_keras_serializable(package="keras_ae")
class DRAW(Autoencoder):
    """DRAW: ``steps`` steps of LSTM encoder and decoder with a Gaussian latent per step, the
    canvas accumulated over steps (see the module docstring).

    ``latent_dim`` is the whole code, ``steps * step_latent_dim``; ``hidden_units[0]`` is the
    width of both LSTMs. With ``attention=True`` the model reads two ``read_size`` x
    ``read_size`` glimpses (of ``x`` and of the error image) and writes a ``write_size`` x
    ``write_size`` patch through Gaussian filterbanks; with ``attention=False`` it reads both
    whole images and writes a whole canvas.

    The loss, in nats per example, is the Bernoulli NLL of ``sigmoid(c_T)`` plus the sum over
    steps of KL(q(z_t | ...) || N(0, I)). ``encode`` gives the posterior means of all steps
    ``(n, latent_dim)`` with each mean decoded in turn (no noise); ``decode`` draws the canvas
    from such codes. ``canvas_sequence`` gives every step's canvas; ``sample`` draws z ~ N(0, I).
    """

    term_names = ("loss", "reconstruction", "kl")

    def __init__(
        self,
        input_shape=None,
        latent_dim: int | None = None,
        *,
        steps: int = 16,
        attention: bool = True,
        read_size: int = 2,
        write_size: int = 5,
        hidden_units=(256,),
        likelihood: str = "bernoulli",
        **kwargs,
    ):
        if input_shape is None or latent_dim is None:
            raise ValueError("DRAW needs `input_shape` (height, width, channels) and `latent_dim`.")
        input_shape = tuple(int(d) for d in input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"DRAW takes images (height, width, channels), got {input_shape}.")
        if likelihood != "bernoulli":
            raise ValueError('DRAW draws Bernoulli logits; likelihood must be "bernoulli".')
        if int(steps) < 1 or int(latent_dim) % int(steps):
            raise ValueError(
                f"latent_dim ({latent_dim}) must be a positive multiple of steps ({steps}): "
                "each step has latent_dim / steps latents."
            )
        if int(read_size) < 1 or int(write_size) < 1:
            raise ValueError(
                f"read_size and write_size must be positive, got {read_size}, {write_size}."
            )
        for key in ("encoder", "decoder"):
            if kwargs.pop(key, None) is not None:
                raise ValueError("DRAW builds its own networks; it takes no encoder or decoder.")
        hidden_units = tuple(int(u) for u in hidden_units)
        recurrence = DrawRecurrence(
            input_shape,
            int(steps),
            int(latent_dim) // int(steps),
            hidden_units[0],
            bool(attention),
            int(read_size),
            int(write_size),
            name="recurrence",
        )
        recurrence.build()
        images = keras.Input(shape=input_shape, name="x")
        codes = keras.Input(shape=(int(latent_dim),), name="z")
        encoder = keras.Model(images, DrawPosteriorMeans(recurrence)(images), name="encoder")
        decoder = keras.Model(codes, DrawCanvas(recurrence)(codes), name="decoder")
        super().__init__(
            encoder=encoder,
            decoder=decoder,
            hidden_units=hidden_units,
            likelihood=likelihood,
            **kwargs,
        )
        # The networks follow from the arguments below, so the config holds those instead.
        self._custom_networks = False
        self.recurrence = recurrence
        self.steps = recurrence.steps
        self.step_latent_dim = recurrence.step_latent_dim
        self.attention = recurrence.attention
        self.read_size = recurrence.read_size
        self.write_size = recurrence.write_size

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("architecture", "activation", "code_activation", "sigma"):
            config.pop(key, None)
        return {
            **config,
            "steps": self.steps,
            "attention": self.attention,
            "read_size": self.read_size,
            "write_size": self.write_size,
        }

    def _run(self, x, noise, training: bool = False):
        canvases, means, log_vars = self.recurrence.infer(x, noise, training=training)
        reconstruction = self.reconstruction_nll(x, canvases[-1])
        kl = tf.reduce_sum(losses.gaussian_kl(means, log_vars), axis=[1, 2])
        return reconstruction, kl

    def _noise_shape(self, x):
        return [tf.shape(x)[0], self.steps, self.step_latent_dim]

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        noise = keras.random.normal(self._noise_shape(x), seed=self.seed_generator)
        reconstruction, kl = self._run(x, noise, training)
        terms = {"reconstruction": tf.reduce_mean(reconstruction), "kl": tf.reduce_mean(kl)}
        terms["loss"] = terms["reconstruction"] + terms["kl"]
        return terms

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        return self.encoder(x, training=False)[0]

    def negative_elbo(self, x, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``-ELBO`` of each example of ``x``, ``(n,)`` nats: one sample of every step's latent,
        the reconstruction NLL of the last canvas plus the KL summed over steps."""
        x = self.checked_data(x)
        noise = (
            np.random.default_rng(check_seed(seed))
            .standard_normal((len(x), self.steps, self.step_latent_dim))
            .astype(np.float32)
        )
        bound = self._compiled("negative_elbo", lambda images, eps: tf.add(*self._run(images, eps)))
        return map_batches(bound, (x, noise), batch_size)

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``n`` samples, ``(n, *data_shape)`` pixel values: z ~ N(0, I) drawn on the canvas."""
        return self.decode(self._prior_codes(n, seed), batch_size=batch_size)

    def _prior_codes(self, n: int, seed: int | None) -> np.ndarray:
        n, rng = self.sampling_rng(n, seed)
        return rng.standard_normal((n, self.latent_dim)).astype(np.float32)

    def canvas_sequence(self, x_or_n, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """Every step's canvas as pixel values, ``(steps, n, *data_shape)``.

        ``x_or_n`` is images ``(n, *data_shape)``, whose posterior means are drawn, or a count
        ``n`` of samples from the prior (``seed`` seeds them)."""
        if isinstance(x_or_n, int | np.integer):
            codes = self._prior_codes(int(x_or_n), seed)
        else:
            codes = self.encode(x_or_n, batch_size=batch_size)
        canvases = self._batched(
            "canvas_sequence",
            lambda z: tf.stack([tf.sigmoid(c) for c in self.recurrence.generate(z)], axis=1),
            codes,
            batch_size,
            codes=True,
        )
        return np.moveaxis(canvases, 1, 0)
