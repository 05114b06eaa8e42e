"""Evaluation of autoencoders: disentanglement (disentanglement_lib's five metrics), likelihood
in nats for the VAE family, reconstruction error against PCA, probes, the encoder's Jacobian,
and ``evaluate_model``, which runs whatever applies to a model and writes ``metrics.json``.

>>> from keras_ae import datasets, evaluation
>>> scores = evaluation.disentanglement_metrics(datasets.DSprites(), model.encode, 0)
>>> metrics = evaluation.evaluate_model(model, x_test, x_train=x_train, output_dir="out")
"""

from keras_ae.evaluation.baselines import image_moments
from keras_ae.evaluation.disentanglement import (
    DCI_BOOSTING,
    REFERENCE_BOOSTING,
    FactorRepresentation,
    beta_vae_score,
    dci,
    dci_from_importance,
    disentanglement_metrics,
    factor_vae_score,
    gbt_importance,
    mig,
    mig_from_codes,
    sap_score,
    sap_score_matrix,
)
from keras_ae.evaluation.jacobian import encoder_jacobian_norms, mean_jacobian_norm
from keras_ae.evaluation.likelihood import (
    active_units,
    elbo,
    importance_weighted_nll,
    kl_per_latent,
    log_importance_weights,
    posterior_moments,
)
from keras_ae.evaluation.probes import classification_probes, factor_probes, probe_accuracy
from keras_ae.evaluation.reconstruction import (
    binary_cross_entropy_per_pixel,
    corrupted_reconstruction_errors,
    model_reconstruction_errors,
    pca_baseline,
    pca_reconstruction,
    reconstruction_errors,
    squared_error_per_example,
)
from keras_ae.evaluation.report import evaluate_model, format_table, write_metrics

__all__ = [
    "DCI_BOOSTING",
    "REFERENCE_BOOSTING",
    "FactorRepresentation",
    "active_units",
    "beta_vae_score",
    "binary_cross_entropy_per_pixel",
    "classification_probes",
    "corrupted_reconstruction_errors",
    "dci",
    "dci_from_importance",
    "disentanglement_metrics",
    "elbo",
    "encoder_jacobian_norms",
    "evaluate_model",
    "factor_probes",
    "factor_vae_score",
    "format_table",
    "gbt_importance",
    "image_moments",
    "importance_weighted_nll",
    "kl_per_latent",
    "log_importance_weights",
    "mean_jacobian_norm",
    "mig",
    "mig_from_codes",
    "model_reconstruction_errors",
    "pca_baseline",
    "pca_reconstruction",
    "posterior_moments",
    "probe_accuracy",
    "reconstruction_errors",
    "sap_score",
    "sap_score_matrix",
    "squared_error_per_example",
    "write_metrics",
]
