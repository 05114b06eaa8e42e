"""The preset directory format: write a model as a preset, read one back.

A preset is a directory laid out like a Hugging Face model repository:

- ``config.json``: ``keras.saving.serialize_keras_object(model)``;
- ``model.weights.h5``: the weights ``encode``, ``decode``, ``reconstruct`` and ``sample`` use;
- ``training.weights.h5`` (optional; models with ``training_only_attributes``, FactorVAE's
  discriminator): the weights only training uses (``weights_files.py``);
- ``metadata.json``: the keras_ae and Keras versions, the parameter count, the sha256 of the
  weights, the optimizer to recompile with, and what the caller adds (recipe, dataset, metrics);
- ``README.md``: a Hub model card (``model_card.py``);
- the caller's pictures (PNG or GIF), linked from the card.

What is checked before a stranger's preset is built lives in ``trust.py``.
"""

import glob
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_ae.models.base import Autoencoder
from keras_ae.version import __version__
from keras_ae.zoo.errors import (
    MissingFileError,
    PresetError,
    UnknownPresetError,
    UnregisteredClassError,
)
from keras_ae.zoo.model_card import model_card
from keras_ae.zoo.preset_files import (
    CARD_FILE,
    CONFIG_FILE,
    FILES_TO_LOAD,
    GOLDEN_FILE,
    METADATA_FILE,
    TRAINING_WEIGHTS_FILE,
    WEIGHTS_FILE,
)
from keras_ae.zoo.trust import (
    check_config_classes,
    check_json_size,
    check_variables_fit_weights,
    check_version,
    model_from_config,
    optimizer_from_metadata,
    sha256_of,
    verify_training_weights,
    verify_weights,
)
from keras_ae.zoo.weights_files import load_weights, split_weights

# Plain names only: they become exact `allow_patterns` (fnmatch) when publishing, so no glob
# characters, and no directories.
_PICTURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.(png|gif)", re.IGNORECASE)
_RESERVED_METADATA = (
    "keras_ae_version",
    "keras_version",
    "tensorflow_version",
    "class_name",
    "parameter_count",
    "trained_steps",
    "weights_sha256",
    "optimizer",
    "pictures",
    "golden",
    "training_weights",
)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")


def check_files(directory: Path, names, source: str) -> None:
    """Raises ``MissingFileError`` naming the first of ``names`` absent from ``directory``."""
    for name in names:
        if not (directory / name).is_file():
            raise MissingFileError(
                f"{source}: the preset has no {name} (looked in {directory}). A preset needs "
                f"{', '.join(FILES_TO_LOAD)}; re-save it with keras_ae.save_preset, or download "
                "it again."
            )


def _read_json(path: Path, source: str) -> dict:
    check_json_size(path, source)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"{source}: {path.name} is not valid JSON ({error}).") from None
    except RecursionError:
        raise PresetError(f"{source}: {path.name} is nested too deeply to be a preset.") from None
    if not isinstance(data, dict):
        raise PresetError(f"{source}: {path.name} must hold a JSON object.")
    return data


# ------------------------------------------------------------------------------------ saving
def save_preset(
    model: Autoencoder,
    directory: str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    *,
    pictures: Mapping[str, str | os.PathLike] | None = None,
    golden_inputs: np.ndarray | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes ``model`` as a preset directory and returns its path.

    ``metadata`` adds JSON-serialisable fields to ``metadata.json``; the model card reads
    ``name``, ``description``, ``dataset`` (a name, or ``{"name", "version", "split"}``),
    ``metrics`` (``{name: value}``) and ``recipe`` (whose ``optimizer`` is used to recompile
    when the model is not compiled). ``pictures`` maps file names (``*.png``/``*.gif``) to files
    that are copied into the preset and shown on the card. ``golden_inputs`` (a few examples)
    are saved in ``golden.npz`` with the model's codes and reconstructions of them, so a loaded
    copy can be checked without any dataset (``golden_mismatch``).

    The preset is written into a directory beside ``directory`` and renamed into place, so an
    interrupted save leaves no partial preset. An existing ``directory`` is replaced only with
    ``overwrite=True``.
    """
    if not isinstance(model, Autoencoder):
        raise TypeError(
            f"save_preset saves keras_ae models (Autoencoder and its subclasses), got "
            f"{type(model).__name__}. Save other Keras models with model.save()."
        )
    metadata = dict(metadata or {})
    clashes = sorted(set(metadata) & set(_RESERVED_METADATA))
    if clashes:
        raise ValueError(
            f"metadata keys {clashes} are written by save_preset itself; rename them (the "
            "optimizer is taken from the compiled model, or from metadata['recipe']['optimizer'])."
        )
    try:
        json.dumps(metadata, default=_json_default)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable: {error}") from None
    pictures = _checked_pictures(pictures or {})

    config = keras.saving.serialize_keras_object(model)
    # The optimizer is recorded in metadata.json; a compile_config would make deserialisation
    # compile the model before `load` decides whether (and how) to compile it.
    config.pop("compile_config", None)
    try:
        check_config_classes(config, source=f"{type(model).__name__} model")
    except UnregisteredClassError as error:
        raise UnregisteredClassError(f"Cannot save this model as a preset: {error}") from None

    target = Path(directory).expanduser().absolute()
    recover_interrupted_save(target, remove_leftovers=True)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory; choose another path.")
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} already exists. Pass overwrite=True to replace it, or choose another "
            "directory."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.partial"
    staging.mkdir()
    try:
        _write_json(staging / CONFIG_FILE, config)
        training_only = _save_model_weights(model, staging / WEIGHTS_FILE)
        optimizer = model.optimizer if getattr(model, "compiled", False) else None
        full_metadata = {
            "keras_ae_version": __version__,
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
            "class_name": type(model).__name__,
            "parameter_count": _parameter_count(model),
            "trained_steps": int(model.trained_steps.numpy()),
            "weights_sha256": sha256_of(staging / WEIGHTS_FILE),
            "optimizer": None if optimizer is None else keras.optimizers.serialize(optimizer),
            "pictures": sorted(pictures),
            **metadata,
        }
        if training_only:
            full_metadata["training_weights"] = {
                "file": TRAINING_WEIGHTS_FILE,
                "sha256": sha256_of(staging / TRAINING_WEIGHTS_FILE),
                "attributes": training_only,
            }
        if golden_inputs is not None:
            _save_golden(model, np.asarray(golden_inputs, np.float32), staging / GOLDEN_FILE)
            full_metadata["golden"] = {
                "file": GOLDEN_FILE,
                "sha256": sha256_of(staging / GOLDEN_FILE),
                "examples": len(golden_inputs),
            }
        _write_json(staging / METADATA_FILE, full_metadata)
        for name, source in pictures.items():
            shutil.copyfile(source, staging / name)
        (staging / CARD_FILE).write_text(
            model_card(full_metadata, default_name=target.name), encoding="utf-8"
        )
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def resave_preset(directory: str | os.PathLike, golden_inputs: np.ndarray | None = None) -> Path:
    """Writes the preset in ``directory`` again, in place and in today's layout, from its own
    weights (a FactorVAE's discriminator moves to ``training.weights.h5``): the same metadata,
    pictures and model, so the same codes and reconstructions. ``golden_inputs`` default to the
    preset's own, when it has a golden pair."""
    directory = Path(directory)
    model = load_directory(directory)
    metadata = _read_json(directory / METADATA_FILE, str(directory))
    if golden_inputs is None and metadata.get("golden"):
        with np.load(directory / GOLDEN_FILE, allow_pickle=False) as saved:
            golden_inputs = saved["inputs"]
    return save_preset(
        model,
        directory,
        {key: value for key, value in metadata.items() if key not in _RESERVED_METADATA},
        pictures={name: directory / name for name in metadata.get("pictures") or []},
        golden_inputs=golden_inputs,
        overwrite=True,
    )


def _save_golden(model: Autoencoder, inputs: np.ndarray, path: Path) -> None:
    arrays = {
        "inputs": inputs,
        "codes": np.asarray(model.encode(inputs)),
        "reconstructions": np.asarray(model.reconstruct(inputs)),
    }
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)


def add_golden_pair(directory: str | os.PathLike, inputs: np.ndarray) -> Path:
    """Gives a preset saved without one a golden pair, as ``save_preset(golden_inputs=...)``
    would have: ``golden.npz`` from the model the preset holds (loaded and checked), recorded
    with its sha256 in ``metadata.json`` and on the card. The weights are not touched; returns
    the ``golden.npz`` path."""
    directory = Path(directory)
    model = load_directory(directory, compile=False)
    metadata = _read_json(directory / METADATA_FILE, str(directory))
    inputs = np.asarray(inputs, np.float32)
    _save_golden(model, inputs, directory / GOLDEN_FILE)
    metadata["golden"] = {
        "file": GOLDEN_FILE,
        "sha256": sha256_of(directory / GOLDEN_FILE),
        "examples": len(inputs),
    }
    _write_json(directory / METADATA_FILE, metadata)
    (directory / CARD_FILE).write_text(
        model_card(metadata, default_name=directory.name), encoding="utf-8"
    )
    return directory / GOLDEN_FILE


def golden_mismatch(model: Autoencoder, directory: str | os.PathLike, atol: float = 1e-4) -> dict:
    """The largest absolute differences between ``model``'s codes and reconstructions of a
    preset's golden inputs and the ones saved with it; ``{}`` when the preset has no golden
    file (older presets; a download from the Hub fetches only the files ``load`` reads)."""
    metadata = _read_json(Path(directory) / METADATA_FILE, str(directory))
    golden = metadata.get("golden")
    path = Path(directory) / GOLDEN_FILE
    if not golden or not path.is_file():
        return {}
    if sha256_of(path) != golden["sha256"]:
        raise PresetError(f"{directory}: {GOLDEN_FILE} does not match its sha256 in metadata.")
    with np.load(path, allow_pickle=False) as saved:
        inputs = saved["inputs"]
        return {
            "codes": float(np.abs(np.asarray(model.encode(inputs)) - saved["codes"]).max()),
            "reconstructions": float(
                np.abs(np.asarray(model.reconstruct(inputs)) - saved["reconstructions"]).max()
            ),
        }


def _save_model_weights(model: Autoencoder, path: Path) -> list[str]:
    """Writes the model's own variables only: a compiled model's ``save_weights`` would add the
    optimizer's state (Adam's two moments triple the file), which a preset does not need.

    What only training uses (the class's ``training_only_attributes``) goes to
    ``training.weights.h5`` beside ``path``; returns those attributes' names (``[]`` when the
    class has none, and then no such file is written)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    training_only = list(type(model).training_only_attributes)
    if not training_only:
        copy.save_weights(str(path))
        return []
    whole = path.with_name(f"whole.{path.name}")
    copy.save_weights(str(whole))
    split_weights(whole, path, path.with_name(TRAINING_WEIGHTS_FILE), training_only)
    whole.unlink()
    return training_only


def _checked_pictures(pictures: Mapping[str, str | os.PathLike]) -> dict[str, Path]:
    checked = {}
    for name, source in pictures.items():
        if not _PICTURE_NAME.fullmatch(name):
            raise ValueError(
                f"Picture name {name!r} must be a plain .png or .gif file name (letters, digits, "
                "'_', '-', '.'), e.g. 'reconstructions.png'."
            )
        if not Path(source).is_file():
            raise FileNotFoundError(f"Picture {name!r}: no file at {source}.")
        checked[name] = Path(source)
    return checked


def _check_picture_in_place(directory: Path, name, source: str) -> None:
    # Publishing uploads the pictures: none may name, or link to, a file outside the preset.
    if not isinstance(name, str) or not _PICTURE_NAME.fullmatch(name):
        raise PresetError(
            f"{source}: metadata.json lists the picture {name!r}, which is not a plain .png or "
            ".gif file name; nothing outside the preset directory is published."
        )
    path = directory / name
    if path.is_symlink() and directory.resolve() not in path.resolve().parents:
        raise PresetError(
            f"{source}: the picture {name} is a link to {path.resolve()}, outside the preset "
            "directory; copy the file in instead of linking it."
        )


def _parameter_count(model: Autoencoder) -> int:
    # model.count_params() would also count the metric trackers, the step counter and the seed
    # state; the trainable weights are the network's parameters.
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def recover_interrupted_save(target: Path, remove_leftovers: bool = False) -> None:
    """Undoes a ``save_preset`` of ``target`` that was killed part-way: a preset set aside to be
    replaced comes back if no new one took its place. With ``remove_leftovers`` (a new save
    of ``target`` starts), what killed saves left beside ``target`` is removed too."""
    parent = target.parent
    if not parent.is_dir():
        return
    set_aside = sorted(parent.glob(f".{glob.escape(target.name)}.*.old"), key=os.path.getmtime)
    if set_aside and not target.exists():
        os.rename(set_aside.pop(), target)
    if not remove_leftovers:
        return
    for leftover in [*set_aside, *parent.glob(f".{glob.escape(target.name)}.*.partial")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    previous = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.old"
    os.rename(target, previous)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(previous, target)
        raise
    shutil.rmtree(previous, ignore_errors=True)


# ---------------------------------------------------------------------------------- loading
def read_checked_metadata(directory: Path, source: str, discard_bad_weights: bool) -> dict:
    """Checks the files, the version and the weights' checksum; returns the metadata."""
    check_files(directory, FILES_TO_LOAD, source)
    metadata = _read_json(directory / METADATA_FILE, source)
    check_version(metadata, source)
    verify_weights(directory, metadata, source, discard=discard_bad_weights)
    return metadata


def load_directory(
    directory: str | os.PathLike,
    compile: bool = True,
    *,
    source: str | None = None,
    discard_bad_weights: bool = False,
) -> Autoencoder:
    """Loads the preset in ``directory``: checked, deserialised in safe mode, weights loaded,
    and compiled with its optimizer unless ``compile=False``.

    ``source`` names the preset in error messages (a name or ``hf://`` handle); with
    ``discard_bad_weights``, weights failing the checksum are deleted (see ``verify_weights``).
    """
    directory = Path(directory)
    source = source or str(directory)
    metadata = read_checked_metadata(directory, source, discard_bad_weights)
    # Optional: without it, training-only networks (FactorVAE's discriminator) start afresh.
    training_weights = verify_training_weights(directory, metadata, source, discard_bad_weights)
    config = _read_json(directory / CONFIG_FILE, source)
    config.pop("compile_config", None)
    check_config_classes(config, source)
    check_variables_fit_weights(
        config,
        directory / WEIGHTS_FILE,
        source,
        training_weights,
        without_training_state=training_weights is None,
    )
    model = model_from_config(config, source)
    loaded = (
        WEIGHTS_FILE if training_weights is None else f"{WEIGHTS_FILE} + {TRAINING_WEIGHTS_FILE}"
    )
    try:
        load_weights(model, directory / WEIGHTS_FILE, training_weights)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise PresetError(
            f"{source}: the weights ({loaded}) do not fit the model described by config.json "
            f"({type(error).__name__}: {error}). The files come from different models, or "
            "a weights file is damaged; re-save or download the preset again."
        ) from error
    if not all(np.isfinite(weight).all() for weight in model.get_weights()):
        raise PresetError(
            f"{source}: the weights ({loaded}) hold NaN or Inf; the model would compute NaN. "
            "Re-save the preset from a model that trained without diverging."
        )
    if compile:
        model.compile(optimizer=optimizer_from_metadata(metadata, source))
    return model


def validate(directory: str | os.PathLike) -> list[str]:
    """Checks a preset directory before publishing; returns the names of its files."""
    directory = Path(directory)
    source = str(directory)
    if not directory.is_dir():
        raise UnknownPresetError(f"{directory} is not a directory; pass a preset directory.")
    metadata = read_checked_metadata(directory, source, discard_bad_weights=False)
    pictures = metadata.get("pictures") or []
    if not isinstance(pictures, list):
        raise PresetError(f"{source}: metadata.json's pictures must be a list of file names.")
    for name in pictures:
        _check_picture_in_place(directory, name, source)
    golden = [GOLDEN_FILE] if metadata.get("golden") else []
    training = [TRAINING_WEIGHTS_FILE] if metadata.get("training_weights") else []
    check_files(directory, [CARD_FILE, *pictures, *golden, *training], source)
    verify_training_weights(directory, metadata, source, discard=False)
    check_config_classes(_read_json(directory / CONFIG_FILE, source), source)
    if not (directory / CARD_FILE).read_text(encoding="utf-8").startswith("---\n"):
        raise PresetError(
            f"{source}: {CARD_FILE} has no YAML front matter, so the Hub will not recognise it "
            "as a model card. Re-save the preset with keras_ae.save_preset."
        )
    return [*FILES_TO_LOAD, *training, CARD_FILE, *pictures, *golden]
