"""Selects Keras' TensorFlow backend, or fails clearly when another one is active."""

import os
import sys


def _refuse(active: str) -> ImportError:
    return ImportError(
        f"keras_ae needs Keras' TensorFlow backend, but the active backend is {active!r}. "
        "Set the environment variable KERAS_BACKEND=tensorflow before Python starts "
        "(or before the first `import keras`), e.g. `KERAS_BACKEND=tensorflow python ...`."
    )


def ensure_tensorflow_backend() -> None:
    """Select the TensorFlow backend before Keras is imported; refuse any other backend.

    keras-ae's models override ``train_step`` with ``tf.GradientTape``, so they run only on
    Keras' TensorFlow backend.
    """
    if "keras" not in sys.modules:
        requested = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        # Refuse before importing Keras: another backend may not even import here.
        if requested != "tensorflow":
            raise _refuse(requested)
    import keras

    active = keras.backend.backend()
    if active != "tensorflow":
        raise _refuse(active)
