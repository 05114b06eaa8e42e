"""keras-ae: a Keras 3 model zoo of autoencoders with pretrained weights."""

from keras_ae._backend import ensure_tensorflow_backend

ensure_tensorflow_backend()

from keras_ae.models import (  # noqa: E402
    VAE,
    Autoencoder,
    BetaTCVAE,
    BetaVAE,
    CapacityVAE,
    ContractiveAutoencoder,
    DataError,
    DenoisingAutoencoder,
    KSparseAutoencoder,
    SparseAutoencoder,
    normalised_beta,
)

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "Autoencoder",
    "BetaTCVAE",
    "BetaVAE",
    "CapacityVAE",
    "ContractiveAutoencoder",
    "DataError",
    "DenoisingAutoencoder",
    "KSparseAutoencoder",
    "SparseAutoencoder",
    "normalised_beta",
]

from keras_ae.zoo import list_models, load, publish, save_preset  # noqa: E402

__all__ += ["list_models", "load", "publish", "save_preset"]
