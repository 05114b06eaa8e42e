"""Measures of a VQ-VAE's discrete code: how much of the codebook the data uses, and how well
the learned prior models the codes."""

from __future__ import annotations

import numpy as np

from keras_ae.models.registry import model_info


def codebook_metrics(model, x, batch_size: int = 256) -> dict:
    """``{"perplexity", "usage", "prior_nll"}`` of the codes of ``x``:

    - ``perplexity``: ``exp`` of the entropy of the code frequencies over all grid positions
      of all examples, from 1 to ``num_codes``;
    - ``usage``: the fraction of the codebook that ``x`` uses at least once;
    - ``prior_nll``: ``-log p(codes)`` under the learned prior, nats per example (summed over
      the grid).
    """
    if not model_info(model).codebook:
        raise TypeError(f"{type(model).__name__} has no codebook (see keras_ae.VQVAE).")
    indices = model.encode_indices(x, batch_size=batch_size)
    frequencies = np.bincount(indices.ravel(), minlength=model.num_codes) / max(indices.size, 1)
    used = frequencies[frequencies > 0]
    return {
        "perplexity": float(np.exp(-(used * np.log(used)).sum())),
        "usage": float((frequencies > 0).mean()),
        "prior_nll": float(np.mean(model.prior_nll(x, batch_size=batch_size))),
    }
