"""How people are shown the metrics ``evaluate_model`` measures: one table, read by the model
cards, the README's zoo table, ``keras-ae list`` and the demo's legend."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class MetricLabel:
    """``label``: a few words for a table cell; ``form``: how its value is printed
    (``str.format``); ``meaning``: one line saying what it measures; ``disentanglement``:
    whether a card sets it beside the image-moments baseline's."""

    label: str
    form: str
    meaning: str
    disentanglement: bool = False


def _label(label: str, form: str, meaning: str, disentanglement: bool = False):
    return MetricLabel(label, form, meaning, disentanglement)


#: Metric key (as ``evaluate_model`` flattens it) -> its label, in the order tables show them.
METRIC_LABELS: dict[str, MetricLabel] = {
    "reconstruction.squared_error": _label(
        "test squared error",
        "{:.2f}",
        "squared error per image, summed over pixels (lower is better)",
    ),
    "pca.squared_error": _label(
        "PCA's", "{:.2f}", "the same for a PCA as wide as the code (the linear baseline)"
    ),
    "corrupted_input.squared_error": _label(
        "from 25%-masked inputs",
        "{:.2f}",
        "squared error rebuilding clean images from 25%-masked ones",
    ),
    "code.mean_activation": _label(
        "mean activation",
        "{:.4f}",
        "mean activation of the sigmoid code units (the sparsity target)",
    ),
    "code.nonzero_per_example": _label(
        "active units", "{:.1f}", "code units that are non-zero per image"
    ),
    "probe.embedding.logistic": _label(
        "linear probe", "{:.3f}", "accuracy of a logistic regression on the embeddings"
    ),
    "probe.pixels.logistic": _label("on pixels", "{:.3f}", "the same on raw pixels"),
    "jacobian.mean_frobenius_norm": _label(
        "mean Jacobian norm",
        "{:.2f}",
        "mean norm of the encoder's Jacobian: sensitivity to the input",
    ),
    "elbo.elbo": _label(
        "ELBO", "{:.2f}", "evidence lower bound, nats per image (higher is better)"
    ),
    "nll.importance_weighted": _label(
        "NLL", "{:.2f}", "negative log-likelihood, importance-sampled, nats per image"
    ),
    "active_units": _label(
        "active latents",
        "{}",
        "latents whose posterior mean varies over the images (variance > 0.01)",
    ),
    "factor_vae.eval_accuracy": _label(
        "FactorVAE score",
        "{:.3f}",
        "FactorVAE score: which factor was held fixed, read from the latents (0-1)",
        disentanglement=True,
    ),
    "mig.discrete_mig": _label(
        "MIG",
        "{:.3f}",
        "mutual information gap: how far one latent alone captures each factor (0-1)",
        disentanglement=True,
    ),
    "beta_vae.eval_accuracy": _label(
        "BetaVAE score",
        "{:.3f}",
        "BetaVAE score: the fixed factor read from latent differences (0-1)",
        disentanglement=True,
    ),
    "dci.disentanglement": _label(
        "DCI disentanglement",
        "{:.3f}",
        "how far each latent predicts one factor alone (Eastwood & Williams, 0-1)",
        disentanglement=True,
    ),
    "sap.SAP_score": _label(
        "SAP",
        "{:.3f}",
        "separated attribute predictability: the gap between the two best latents (0-1)",
        disentanglement=True,
    ),
    "codebook.perplexity": _label(
        "code perplexity", "{:.1f}", "effective number of codebook vectors in use"
    ),
    "codebook.prior_nll": _label(
        "prior NLL of the codes", "{:.2f}", "nats per code grid under the learned prior"
    ),
    "sample_quality.frechet_distance": _label(
        "samples' Frechet distance",
        "{:.1f}",
        "samples against test digits in a digit classifier's features (lower is better)",
    ),
    "sample_quality.confident_share": _label(
        "samples read as digits",
        "{:.2f}",
        "share of samples read as a digit with confidence >= 0.9",
    ),
}

#: The prefix of the image-moments baseline's scores among a preset's metrics.
BASELINE_PREFIX = "baseline.image_moments."

#: The disentanglement scores a card sets beside the image-moments baseline's.
DISENTANGLEMENT_SCORES = tuple(key for key, label in METRIC_LABELS.items() if label.disentanglement)


def shown(key: str, value) -> str:
    """``"<label> <value>"`` for a table cell, e.g. ``"MIG 0.278"``."""
    label = METRIC_LABELS[key]
    return f"{label.label} {label.form.format(value)}"
