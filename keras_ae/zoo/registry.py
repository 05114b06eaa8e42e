"""The pretrained presets keras-ae knows by name, as plain data.

Each name is ``<model>_<dataset>``. An entry gives:

- ``description``: one line, shown by ``list_models`` and the CLI;
- ``hf_handle``: where the preset lives on the Hugging Face Hub;
- ``published``: whether weights have been uploaded to ``hf_handle`` yet;
- ``bundled``: the preset's directory inside the package, relative to ``keras_ae/zoo/``; it is
  used when it exists (a bundled preset loads offline and at once).

An entry that is neither bundled nor published is planned: it is listed only by
``list_models(include_unavailable=True)`` and cannot be loaded yet.
"""

import difflib
from pathlib import Path

#: The directory that ``bundled`` paths are relative to.
PACKAGE_ROOT = Path(__file__).resolve().parent

#: The Hub organisation that publishes keras-ae's presets.
HUB_ORGANISATION = "keras-ae"


def _entry(
    name: str, description: str, published: bool = False, needs_data: str | None = None
) -> tuple[str, dict]:
    return name, {
        "description": description,
        "hf_handle": f"hf://{HUB_ORGANISATION}/{name}",
        "published": published,
        "bundled": f"bundled/{name}",
        "needs_data": needs_data,
    }


PRESETS: dict[str, dict] = dict(
    [
        _entry("ae_mnist", "Plain autoencoder (MLP, Bernoulli likelihood) on MNIST."),
        _entry("dae_mnist", "Denoising autoencoder (masking noise) on MNIST."),
        _entry("sparse_ae_mnist", "Sparse autoencoder (KL sparsity penalty) on MNIST."),
        _entry("ksparse_ae_mnist", "k-sparse autoencoder (top-k linear code) on MNIST."),
        _entry("cae_mnist", "Contractive autoencoder (Jacobian penalty) on MNIST."),
        _entry("vae_mnist", "Variational autoencoder on MNIST."),
        _entry("vae_dsprites", "Variational autoencoder (conv64) on dSprites."),
        _entry("beta_vae_dsprites", "beta-VAE (conv64, beta=8) on dSprites, for disentanglement."),
        _entry(
            "beta_tcvae_dsprites",
            "beta-TCVAE (Chen et al.; conv64, beta=10) on dSprites, for disentanglement.",
        ),
        _entry(
            "factor_vae_dsprites",
            "FactorVAE (Kim & Mnih; conv64, gamma=35) on dSprites, for disentanglement.",
        ),
        _entry(
            "capacity_vae_dsprites", "Capacity-controlled beta-VAE (Burgess et al.) on dSprites."
        ),
        _entry(
            "vqvae_mnist",
            "VQ-VAE (7x7 grid, 64 codes) with a gated PixelCNN prior on MNIST.",
        ),
        _entry("gumbel_vae_mnist", "Gumbel-softmax VAE (30 x 10 categorical latents) on MNIST."),
        _entry("draw_mnist", "DRAW (16 steps, attention) on MNIST, drawn step by step."),
        _entry(
            "vae_celeba", "Variational autoencoder (conv64) on CelebA 64x64.", needs_data="CelebA"
        ),
        _entry("beta_vae_celeba", "beta-VAE (conv64) on CelebA 64x64.", needs_data="CelebA"),
    ]
)

BUNDLED = "bundled"
ON_HUB = "hub"
PLANNED = "planned"
RECIPE_ONLY = "recipe only"


def bundled_directory(name: str) -> Path | None:
    """The bundled preset directory of ``name``, or None when the package does not ship one."""
    directory = PACKAGE_ROOT / PRESETS[name]["bundled"]
    return directory if (directory / "config.json").is_file() else None


def status(name: str) -> str:
    """``"bundled"``, ``"hub"`` (published, downloaded on first use), ``"recipe only: ..."`` (no
    weights: they need data keras-ae cannot fetch) or ``"planned"``."""
    if bundled_directory(name) is not None:
        return BUNDLED
    if PRESETS[name]["published"]:
        return ON_HUB
    if PRESETS[name]["needs_data"]:
        return f"{RECIPE_ONLY}: the weights need the {PRESETS[name]['needs_data']} data"
    return PLANNED


def train_command(name: str) -> str:
    """The command that trains ``name`` from its recipe in a keras-ae checkout."""
    return f"keras-ae train zoo_configs/{name}.yaml --out runs"


def list_models(include_unavailable: bool = False) -> list[str] | dict[str, str]:
    """The names ``keras_ae.load`` accepts now, in registry order.

    With ``include_unavailable=True``, every registered name mapped to its status (see
    ``status``).
    """
    if include_unavailable:
        return {name: status(name) for name in PRESETS}
    return [name for name in PRESETS if status(name) in (BUNDLED, ON_HUB)]


def close_matches(name: str) -> list[str]:
    """Registered names that look like ``name``, best first."""
    return difflib.get_close_matches(name, list(PRESETS), n=3, cutoff=0.5)
