"""Selects Keras' TensorFlow backend, or fails clearly when another one is active."""

import os
import sys


def ensure_tensorflow_backend() -> None:
    """Select the TensorFlow backend before Keras is imported; refuse any other backend.

    keras-ae's models override ``train_step`` with ``tf.GradientTape``, so they run only on
    Keras' TensorFlow backend.
    """
    requested = os.environ.get("KERAS_BACKEND")
    if requested is None and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras

    active = keras.backend.backend()
    if active != "tensorflow":
        raise ImportError(
            f"keras_ae needs Keras' TensorFlow backend, but the active backend is {active!r}. "
            "Set the environment variable KERAS_BACKEND=tensorflow before Python starts "
            "(or before the first `import keras`), e.g. `KERAS_BACKEND=tensorflow python ...`."
        )
