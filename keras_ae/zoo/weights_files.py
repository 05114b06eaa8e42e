"""A preset's weights in two files: what inference needs, and what only training uses.

A Keras weights file (``model.save_weights("x.weights.h5")``) holds one top-level HDF5 group per
attribute of the model (``encoder``, ``decoder``, ``vars``, FactorVAE's ``discriminator`` ...).
``split_weights`` puts the groups a model class names in ``training_only_attributes`` into a
second file and the rest into the first; ``load_weights`` puts them back together, or, without
the second file, keeps the model's own (freshly built) values for those attributes.
"""

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py

from keras_ae.models.base import Autoencoder


def _copy_groups(source: Path, target: h5py.File, names: Iterable[str]) -> None:
    with h5py.File(source, "r") as weights:
        target.attrs.update(weights.attrs)
        for name in names:
            if name in target:
                raise ValueError(
                    f"{source.name} and the file it is joined with both hold {name!r}; a split "
                    "preset keeps each attribute's weights in one file."
                )
            weights.copy(weights[name], target, name=name)


def _top_level_names(path: Path) -> list[str]:
    with h5py.File(path, "r") as weights:
        return list(weights.keys())


def split_weights(
    weights: str | Path,
    inference: str | Path,
    training: str | Path,
    training_only: Sequence[str],
) -> bool:
    """Writes the groups of the Keras weights file ``weights`` named in ``training_only`` to
    ``training`` and every other group to ``inference``; returns whether ``training`` was
    written (``False``, and no file, when ``weights`` holds none of ``training_only``).

    New files are written rather than groups deleted, since HDF5 does not give back the space
    of a deleted group.
    """
    weights = Path(weights)
    names = _top_level_names(weights)
    apart = [name for name in names if name in training_only]
    with h5py.File(inference, "w") as target:
        _copy_groups(weights, target, [name for name in names if name not in apart])
    if not apart:
        return False
    with h5py.File(training, "w") as target:
        _copy_groups(weights, target, apart)
    return True


def join_weights(inference: str | Path, training: str | Path, joined: str | Path) -> None:
    """Writes one Keras weights file holding every group of ``inference`` and of
    ``training``; ``ValueError`` if both hold the same group."""
    with h5py.File(joined, "w") as target:
        _copy_groups(Path(inference), target, _top_level_names(Path(inference)))
        _copy_groups(Path(training), target, _top_level_names(Path(training)))


def missing_training_attributes(model: Autoencoder, inference: str | Path) -> list[str]:
    """The model's training-only attributes whose weights ``inference`` does not hold (all of
    them for a split preset; none for a file written whole, as presets were before)."""
    held = set(_top_level_names(Path(inference)))
    return [name for name in type(model).training_only_attributes if name not in held]


def load_weights(
    model: Autoencoder, inference: str | Path, training: str | Path | None = None
) -> None:
    """Loads a preset's weights into the (built) ``model``.

    With ``training``, the two files together must fill every variable. Without it, the
    training-only attributes that ``inference`` lacks keep the values ``model`` was built with:
    a freshly initialised discriminator, which ``fit`` then trains from scratch.
    """
    missing = missing_training_attributes(model, inference)
    if training is None and not missing:
        model.load_weights(str(inference))
        return
    with tempfile.TemporaryDirectory(prefix="keras_ae_weights_") as scratch:
        scratch = Path(scratch)
        if training is None:
            # Keras loads a file that fills every variable; the missing groups come from the
            # model's own freshly built state.
            own = scratch / "own.weights.h5"
            model.save_weights(str(own))
            training = scratch / "fresh_training.weights.h5"
            with h5py.File(training, "w") as target:
                _copy_groups(own, target, missing)
        joined = scratch / "joined.weights.h5"
        join_weights(inference, training, joined)
        model.load_weights(str(joined))
