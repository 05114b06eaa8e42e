"""One training step under MirroredStrategy (two logical CPUs) equals one on a single device.

Logical devices must be configured before TensorFlow initialises, so the comparison runs in a
fresh interpreter: this file, run as a script.
"""

import json
import os
import subprocess
import sys

import pytest

GLOBAL_BATCH = 16


def _one_step(cls, kwargs, x, initial_weights, strategy, fixed_noise):
    import keras
    import tensorflow as tf

    with strategy.scope():
        model = cls(input_shape=(28, 28, 1), latent_dim=6, hidden_units=(32,), **kwargs)
        model.set_weights(initial_weights)
        model.compile(optimizer=keras.optimizers.SGD(0.05))
    if fixed_noise:
        # A different, fixed noise value per latent; the same on every replica and device.
        model.sample_noise = lambda shape: tf.linspace(-1.0, 1.0, shape[-1])[None] * tf.ones(shape)
    history = model.fit(x, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return history.history, model.get_weights()


def compare() -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras_ae

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    x = np.random.default_rng(0).uniform(size=(GLOBAL_BATCH, 28, 28, 1)).astype("float32")
    cases = {
        "Autoencoder": (keras_ae.Autoencoder, {}, False),
        "ContractiveAutoencoder": (keras_ae.ContractiveAutoencoder, {"lam": 0.5}, False),
        "VAE": (keras_ae.VAE, {}, True),
    }
    report = {}
    for name, (cls, kwargs, fixed_noise) in cases.items():
        keras.utils.set_random_seed(1)
        initial = cls(input_shape=(28, 28, 1), latent_dim=6, hidden_units=(32,), **kwargs)
        initial_weights = initial.get_weights()
        single_history, single = _one_step(
            cls, kwargs, x, initial_weights, tf.distribute.get_strategy(), fixed_noise
        )
        mirrored_history, replicated = _one_step(
            cls, kwargs, x, initial_weights, mirrored, fixed_noise
        )
        report[name] = {
            "loss_single": single_history["loss"][0],
            "loss_mirrored": mirrored_history["loss"][0],
            "max_weight_difference": max(
                float(np.abs(a - b).max()) for a, b in zip(single, replicated, strict=True)
            ),
            "max_weight_change": max(
                float(np.abs(a - b).max())
                for a, b in zip(single, initial_weights, strict=True)
                if a.dtype.kind == "f"  # not the step counter
            ),
        }
    return report


@pytest.mark.large
def test_mirrored_step_equals_single_device_step():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"Autoencoder", "ContractiveAutoencoder", "VAE"}
    for name, figures in report.items():
        assert figures["max_weight_change"] > 1e-4, name  # the step did move the weights
        assert figures["max_weight_difference"] < 1e-5, (name, figures)
        assert abs(figures["loss_single"] - figures["loss_mirrored"]) < 1e-5 * max(
            1.0, abs(figures["loss_single"])
        ), (name, figures)


if __name__ == "__main__":
    print(json.dumps(compare()))
