"""The autoencoder family, one module per model family.

Every module of this package is imported here, so each model class registers itself
(``keras_ae.models.registry``); the public names are read from the registry, so a new model
needs no edit here.
"""

import importlib
import pkgutil

from keras_ae._backend import ensure_tensorflow_backend

ensure_tensorflow_backend()

from keras_ae.divergence import DivergenceError  # noqa: E402
from keras_ae.models.base import DataError  # noqa: E402
from keras_ae.models.registry import (  # noqa: E402
    ModelInfo,
    get_model_class,
    model_classes,
    model_info,
    register_model,
)
from keras_ae.models.stages import Objective, Stage  # noqa: E402
from keras_ae.models.vae import normalised_beta  # noqa: E402

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

globals().update(model_classes())

__all__ = [
    *model_classes(),
    "DataError",
    "DivergenceError",
    "ModelInfo",
    "Objective",
    "Stage",
    "get_model_class",
    "model_classes",
    "model_info",
    "normalised_beta",
    "register_model",
]
