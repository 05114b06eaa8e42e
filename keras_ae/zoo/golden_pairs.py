"""Golden pairs for the dSprites presets saved before ``keras-ae train`` wrote them.

A golden pair (``golden.npz``) is a few fixed inputs with the codes and reconstructions the saved
model gave them; the fast tests check every preset against its own, with no dataset. ``train``
saves one from the held-out images; the dSprites presets trained before that get theirs here::

    python -m keras_ae.zoo.golden_pairs beta_vae_dsprites vae_dsprites

The inputs are drawn by ``keras_ae.datasets.dsprites.render``, which gives the dataset's own
images for chosen factor values without generating (or reading) all 737,280 of them, so the
same inputs come out on any machine, whichever dSprites source ``datasets.load`` would find.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_ae.datasets import dsprites
from keras_ae.zoo import preset_directory, registry
from keras_ae.zoo.train import GOLDEN_EXAMPLES

#: The bundled presets whose golden pair comes from this module rather than from ``train``.
DSPRITES_PRESETS = ("beta_vae_dsprites", "vae_dsprites", "factor_vae_dsprites")


def dsprites_golden_factors(examples: int = GOLDEN_EXAMPLES, seed: int = 0) -> np.ndarray:
    """``(examples, 5)`` int factor classes (shape, scale, orientation, pos_x, pos_y) spread over
    every factor: the shapes in turn, and for each other factor the centres of ``examples``
    equal strata of its range (every scale, orientations 2, 7, ..., 37, positions 2, 6, ...,
    30), shuffled per factor by ``seed`` so the factors vary independently."""
    if examples < 1:
        raise ValueError(f"examples must be a positive number of images, got {examples!r}.")
    rng = np.random.default_rng(seed)
    factors = np.empty((examples, len(dsprites.FACTOR_SIZES)), dtype=np.int64)
    factors[:, 0] = np.arange(examples) % dsprites.FACTOR_SIZES[0]
    centres = (np.arange(examples) + 0.5) / examples
    for column, size in enumerate(dsprites.FACTOR_SIZES[1:], start=1):
        factors[:, column] = np.floor(rng.permutation(centres) * size).astype(np.int64)
    return factors


def dsprites_golden_inputs(examples: int = GOLDEN_EXAMPLES, seed: int = 0) -> np.ndarray:
    """The dSprites images of ``dsprites_golden_factors``: ``(examples, 64, 64, 1)`` float32 in
    {0, 1}, as ``keras_ae.datasets.load("dsprites")`` gives them."""
    images = dsprites.render(dsprites_golden_factors(examples, seed))
    return images[..., None].astype(np.float32)


def add_dsprites_golden_pair(directory: str | Path) -> Path:
    """Adds the golden pair of ``dsprites_golden_inputs()`` to the preset in ``directory``;
    returns the ``golden.npz`` path. The weights are not touched."""
    return preset_directory.add_golden_pair(directory, dsprites_golden_inputs())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m keras_ae.zoo.golden_pairs",
        description="Adds a golden pair (golden.npz) to bundled dSprites presets.",
    )
    parser.add_argument("names", nargs="+", choices=DSPRITES_PRESETS, metavar="NAME")
    for name in parser.parse_args(argv).names:
        directory = registry.bundled_directory(name)
        if directory is None:
            raise SystemExit(f"{name} is not bundled with this checkout of keras_ae.")
        print(add_dsprites_golden_pair(directory))


if __name__ == "__main__":
    main()
