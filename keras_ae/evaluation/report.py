"""``evaluate_model``: every metric that applies to a model, as a printed table and
``metrics.json``.

What applies:

- every model: reconstruction error on the test images (``reconstruction.*``), the mean
  Frobenius norm of the encoder's Jacobian (``jacobian.mean_frobenius_norm``), and the code's
  mean value and nonzero units per example (``code.*``);
- with training images: a PCA fitted on them (``pca.*``), of the code's dimension unless
  ``pca_components`` says otherwise;
- with labels: logistic-regression and kNN probes on the embedding, pixels and PCA
  (``probe.*``);
- the VAE family: KL per latent and active units, and, unless the likelihood is
  ``"squared_error"``, the ELBO and the importance-weighted NLL in nats (``elbo.*``,
  ``nll.*``);
- models with their own bound (GumbelVAE, DRAW): the ELBO in nats (``elbo.elbo``);
- models with a codebook (VQVAE): code perplexity, codebook usage and the prior's NLL of the
  codes (``codebook.*``);
- with ``sample_quality_samples``, models that sample 28x28x1 images: the digit classifier's
  Frechet distance of that many samples to the test images and the share it classifies with
  confidence >= 0.9 (``sample_quality.*``, see ``sample_quality.py``);
- with ground-truth data (dSprites): the five disentanglement metrics at disentanglement_lib's
  default sizes and per-factor probes (``beta_vae.*``, ..., ``factor_probe.*``), and the same
  five for the image-moments baseline (``baseline.image_moments.*``, see ``baselines.py``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from keras_ae.evaluation import likelihood, probes, reconstruction, sample_quality
from keras_ae.evaluation.baselines import image_moments
from keras_ae.evaluation.codebook import codebook_metrics
from keras_ae.evaluation.disentanglement import (
    FactorRepresentation,
    as_random_state,
    disentanglement_metrics,
)
from keras_ae.evaluation.jacobian import mean_jacobian_norm
from keras_ae.models.registry import model_info

METRICS_FILENAME = "metrics.json"


def _is_vae(model) -> bool:
    return model_info(model).has_posterior


def evaluate_model(
    model,
    x_test,
    *,
    x_train=None,
    y_train=None,
    y_test=None,
    ground_truth_data=None,
    output_dir: str | os.PathLike | None = None,
    random_state: np.random.RandomState | int = 0,
    importance_samples: int = 200,
    likelihood_examples: int = 1000,
    jacobian_examples: int = 500,
    pca_components: int | None = None,
    sample_quality_samples: int | None = None,
    verbose: bool = True,
) -> dict:
    """Computes the metrics that apply to ``model`` (see the module docstring), prints them as a
    table when ``verbose`` and writes them to ``output_dir/metrics.json`` when given.

    Args:
        model: a keras_ae model.
        x_test: held-out images ``(n, *data_shape)``.
        x_train: training images, for the PCA baseline and the probes.
        y_train, y_test: integer labels ``(n,)`` for the probes (both, with ``x_train``).
        ground_truth_data: a ground truth with disentanglement_lib's interface (e.g.
            ``keras_ae.datasets.DSprites()``) for the disentanglement metrics.
        random_state: seeds every sampled metric.
        importance_samples: k of the importance-weighted NLL.
        likelihood_examples: the first this many test images are used for the ELBO and NLL.
        jacobian_examples: the first this many test images are used for the Jacobian norm.
        pca_components: the PCA baseline's components; by default the code's dimension (a
            discrete code's width says little of its information, so give it for those).
        sample_quality_samples: score this many samples with the digit classifier (models
            that sample 28x28x1 images; ``x_test`` is the reference).

    Returns:
        One flat dict ``name -> value`` (floats, ints, or lists for per-latent values).
    """
    x_test = np.asarray(x_test, dtype=np.float32)
    seed = int(as_random_state(random_state).randint(2**31 - 1))
    metrics: dict = {}
    add = _prefixed_adder(metrics)

    add("reconstruction", reconstruction.model_reconstruction_errors(model, x_test))
    if x_train is not None:
        # An overcomplete code (k-sparse, 1000 units) gets as many components as the data has.
        wanted = model.latent_dim if pca_components is None else int(pca_components)
        n_components = min(wanted, *np.asarray(x_train).reshape(len(x_train), -1).shape)
        add("pca", reconstruction.pca_baseline(x_train, x_test, n_components))
        metrics["pca.n_components"] = n_components
    metrics["jacobian.mean_frobenius_norm"] = mean_jacobian_norm(model, x_test[:jacobian_examples])
    codes = model.encode(x_test)
    # The sparse models' targets: mean activation (rho) and units in use per example (k).
    metrics["code.mean_activation"] = float(codes.mean())
    metrics["code.nonzero_per_example"] = float((codes != 0).sum(axis=1).mean())

    if _is_vae(model):
        kl = likelihood.kl_per_latent(model, x_test)
        metrics["kl.total"] = float(kl.sum())
        metrics["kl.per_latent"] = kl.tolist()
        metrics["active_units"] = likelihood.active_units(model, x_test)["active_units"]
        if model.likelihood != "squared_error":
            subset = x_test[:likelihood_examples]
            bound = likelihood.elbo(model, subset, seed=seed)
            add("elbo", {name: float(np.mean(values)) for name, values in bound.items()})
            nll = likelihood.importance_weighted_nll(model, subset, importance_samples, seed=seed)
            metrics["nll.importance_weighted"] = float(np.mean(nll))
            metrics["nll.num_samples"] = int(importance_samples)

    info = model_info(model)
    if info.own_bound and model.likelihood != "squared_error":
        bound = model.negative_elbo(x_test[:likelihood_examples], seed=seed)
        metrics["elbo.elbo"] = -float(np.mean(bound))
    if info.codebook:
        add("codebook", codebook_metrics(model, x_test))
    if sample_quality_samples and info.can_sample:
        if tuple(x_test.shape[1:]) != sample_quality.IMAGE_SHAPE:
            raise ValueError(
                "sample quality is scored by an MNIST digit classifier; it needs 28x28x1 "
                f"images, got {tuple(x_test.shape[1:])}."
            )
        quality = sample_quality.model_sample_quality(
            model, x_test, int(sample_quality_samples), seed=seed
        )
        add("sample_quality", quality)

    if x_train is not None and y_train is not None and y_test is not None:
        add("probe", probes.classification_probes(model, x_train, y_train, x_test, y_test))

    if ground_truth_data is not None:
        represent = FactorRepresentation(ground_truth_data, model.encode)
        metrics.update(disentanglement_metrics(ground_truth_data, represent, seed))
        # The reference row: six hand-made image moments, scored on the same samples.
        baseline = disentanglement_metrics(ground_truth_data, image_moments, seed)
        add("baseline.image_moments", baseline)
        add("factor_probe", probes.factor_probes(ground_truth_data, represent, seed))

    if verbose:
        print(
            format_table(metrics, title=f"{type(model).__name__} (latent_dim={model.latent_dim})")
        )
    if output_dir is not None:
        write_metrics(metrics, output_dir)
    return metrics


def _prefixed_adder(metrics: dict):
    def add(prefix: str, values: dict) -> None:
        metrics.update({f"{prefix}.{key}": value for key, value in values.items()})

    return add


def _format_value(value) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    if isinstance(value, bool | int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def format_table(metrics: dict, title: str | None = None) -> str:
    """A two-column text table of ``metrics``, one metric a line."""
    width = max((len(name) for name in metrics), default=6)
    lines = [title] if title else []
    lines += [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 10}"]
    lines += [f"{name:<{width}}  {_format_value(value)}" for name, value in metrics.items()]
    return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.integer | bool):
        return int(value) if not isinstance(value, bool) else value
    if isinstance(value, float | np.floating):
        # JSON has no NaN or infinity; null says "not defined" without breaking strict readers.
        return float(value) if math.isfinite(value) else None
    return value


def write_metrics(metrics: dict, output_dir: str | os.PathLike) -> Path:
    """Writes ``metrics`` to ``output_dir/metrics.json`` (created if needed); returns the path."""
    path = Path(output_dir) / METRICS_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(metrics), indent=2) + "\n")
    return path
