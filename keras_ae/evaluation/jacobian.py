"""The encoder's sensitivity to its input: the Frobenius norm of the Jacobian of the embedding
(the code ``model.encode`` returns: the posterior mean for VAEs) with respect to the input,
the quantity the contractive autoencoder penalises (Rifai et al. 2011)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_ae.arrays import as_float32, compiled, map_batches


def encoder_jacobian_norms(model, x, batch_size: int = 32) -> np.ndarray:
    """``||d embedding / d x||_F`` of each example, by ``GradientTape.batch_jacobian`` over
    batches of ``batch_size``: ``(n,)``."""

    @compiled(reduce_retracing=True)
    def norms(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            code = model.embedding(batch)
        # A quantised code (VQVAE) is piecewise constant in x: its Jacobian is zero.
        jacobian = tape.batch_jacobian(
            code, batch, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )  # (b, latent_dim, *data_shape)
        flat = tf.reshape(jacobian, [tf.shape(jacobian)[0], -1])
        return tf.norm(flat, axis=1)

    return map_batches(norms, as_float32(x), batch_size).astype(np.float64)


def mean_jacobian_norm(model, x, batch_size: int = 32) -> float:
    """The mean over ``x`` of ``encoder_jacobian_norms``."""
    return float(np.mean(encoder_jacobian_norms(model, x, batch_size)))
