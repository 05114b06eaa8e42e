"""Selects Keras' TensorFlow backend, or fails clearly when another one is active."""

import os
import sys


def _refuse(active: str) -> ImportError:
    return ImportError(
        f"keras_ae needs Keras' TensorFlow backend, but the active backend is {active!r}. "
        "Set the environment variable KERAS_BACKEND=tensorflow before Python starts "
        "(or before the first `import keras`), e.g. `KERAS_BACKEND=tensorflow python ...`."
    )


def select_tensorflow_backend() -> None:
    """Selects the TensorFlow backend for a Keras not imported yet, without importing it (so
    that ``import keras_ae`` stays fast); refuses another backend, requested or active.

    keras-ae's models override ``train_step`` with ``tf.GradientTape``, so they run only on
    Keras' TensorFlow backend.
    """
    if "keras" in sys.modules:
        ensure_tensorflow_backend()
        return
    requested = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # Refuse before importing Keras: another backend may not even import here.
    if requested != "tensorflow":
        raise _refuse(requested)


def ensure_tensorflow_backend() -> None:
    """Imports Keras on the TensorFlow backend (selecting it first if Keras is not imported
    yet); refuses any other backend."""
    if "keras" not in sys.modules:
        select_tensorflow_backend()
    import keras

    active = keras.backend.backend()
    if active != "tensorflow":
        raise _refuse(active)
