"""keras-ae: a Keras 3 model zoo of autoencoders with pretrained weights."""

from keras_ae._backend import ensure_tensorflow_backend
from keras_ae.version import __version__ as __version__

ensure_tensorflow_backend()

from keras_ae import models  # noqa: E402
from keras_ae.zoo import list_models, load, publish, save_preset  # noqa: E402

# Every registered model class, DataError and normalised_beta, as keras_ae.<name>.
globals().update({name: getattr(models, name) for name in models.__all__})

__all__ = [*models.__all__, "list_models", "load", "publish", "save_preset"]
