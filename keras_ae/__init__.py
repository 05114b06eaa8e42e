"""keras-ae: a Keras 3 model zoo of autoencoders with pretrained weights.

``import keras_ae`` is light: it selects Keras' TensorFlow backend without importing Keras or
TensorFlow. Its names are imported on first use (PEP 562): every registered model class
(``keras_ae.VAE``, ...), ``load``, ``list_models``, ``save_preset``, ``publish``, and the
subpackages (``keras_ae.datasets``, ``keras_ae.evaluation``, ``keras_ae.plotting``,
``keras_ae.zoo``, ...).
"""

import importlib
import importlib.util

from keras_ae._backend import select_tensorflow_backend
from keras_ae.version import __version__ as __version__

select_tensorflow_backend()

#: What ``keras_ae.zoo`` gives the top level.
_ZOO_NAMES = ("list_models", "load", "publish", "save_preset")


def _models():
    return importlib.import_module("keras_ae.models")


def __getattr__(name: str):
    if name.startswith("__"):
        if name == "__all__":
            return [*_models().__all__, *_ZOO_NAMES]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not name.isidentifier():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # A subpackage or module: keras_ae.datasets, keras_ae.evaluation, ...
        value = importlib.import_module(f"{__name__}.{name}")
    elif name in _ZOO_NAMES:
        value = getattr(importlib.import_module("keras_ae.zoo"), name)
    elif not name.startswith("_") and name in _models().__all__:
        # Every registered model class, DataError, normalised_beta, model_info, ... (a probe
        # for a private name, as IPython makes, imports nothing).
        value = getattr(_models(), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    names = {*globals(), "datasets", "evaluation", "models", "plotting", "zoo", *_ZOO_NAMES}
    models = globals().get("models")  # the model classes, once they are imported anyway
    return sorted(names | set(models.__all__ if models is not None else ()))
