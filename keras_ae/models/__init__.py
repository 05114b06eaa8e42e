"""The autoencoder family, one module per model family."""

from keras_ae.models.base import Autoencoder, DataError
from keras_ae.models.contractive import ContractiveAutoencoder
from keras_ae.models.denoising import DenoisingAutoencoder
from keras_ae.models.sparse import KSparseAutoencoder, SparseAutoencoder
from keras_ae.models.total_correlation import BetaTCVAE
from keras_ae.models.vae import VAE, BetaVAE, CapacityVAE, normalised_beta

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
