"""A model saved with ``model.save("m.keras")``, loaded back through keras_ae's trust checks.

A ``.keras`` file is a zip archive of ``config.json`` (with the ``compile_config``),
``model.weights.h5`` (the model's variables, and its optimizers' when it was compiled) and
Keras' own ``metadata.json``. It records no checksum, so there is none to verify; everything
else is checked as for a preset (``trust.py``): the JSON's size, keras_ae's registered classes
only (no ``Lambda``), the variables against the weights file's size, safe-mode deserialisation,
finite weights, and Keras' own optimizers only.
"""

import json
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from keras_ae.models.base import Autoencoder
from keras_ae.zoo.errors import MissingFileError, PresetError, UnknownPresetError
from keras_ae.zoo.trust import (
    MAX_JSON_BYTES,
    check_config_classes,
    check_variables_fit_weights,
    model_from_config,
    optimizer_from_metadata,
)

SUFFIX = ".keras"
_CONFIG = "config.json"
_WEIGHTS = "model.weights.h5"


def is_keras_file(path: str | Path) -> bool:
    """Whether ``path`` names a ``.keras`` file (rather than a preset directory)."""
    path = Path(path).expanduser()
    return path.suffix == SUFFIX and not path.is_dir()


def load_keras_file(path: str | Path, compile: bool = True) -> Autoencoder:
    """The keras_ae model saved in the ``.keras`` file ``path``, checked; compiled with the
    optimizer it was saved with, and that optimizer's state (so training resumes where it
    stopped), unless ``compile=False``."""
    path = Path(path).expanduser()
    source = str(path)
    if not path.is_file():
        raise UnknownPresetError(
            f"No .keras file at {path.absolute()}. Check the path, or pass a preset directory, a "
            "registered name (keras_ae.list_models()) or 'hf://org/repo'."
        )
    with tempfile.TemporaryDirectory() as scratch:
        # What is checked is what is loaded: a copy no one else writes to.
        copy = Path(scratch) / "model.keras"
        shutil.copyfile(path, copy)
        config, weights = _read_archive(copy, Path(scratch), source)
        compile_config = config.pop("compile_config", None)
        check_config_classes(config, source)
        check_variables_fit_weights(config, weights, source)
        model = model_from_config(config, source)
        recorded = (compile_config or {}).get("optimizer") if compile else None
        if compile:
            model.compile(optimizer=optimizer_from_metadata({"optimizer": recorded}, source))
            # Built as train_step applies them, so that the saved optimizer state loads.
            model.build_optimizers()
        with warnings.catch_warnings():
            # Uncompiled, the optimizers' saved state has nowhere to go, as intended.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            try:
                model.load_weights(str(weights))
            except (ValueError, OSError, KeyError, TypeError) as error:
                raise PresetError(
                    f"{source}: its {_WEIGHTS} does not fit the model its {_CONFIG} describes "
                    f"({type(error).__name__}: {error}). Save the model again with model.save()."
                ) from error
    if not all(np.isfinite(weight).all() for weight in model.get_weights()):
        raise PresetError(
            f"{source}: the weights hold NaN or Inf; the model would compute NaN. Save it again "
            "from a model that trained without diverging."
        )
    return model


def _read_archive(archive_path: Path, scratch: Path, source: str) -> tuple[dict, Path]:
    """The archive's config (size-checked) and its weights file, extracted into ``scratch``."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile:
        raise PresetError(
            f"{source} is not a .keras file (not a zip archive); save the model with "
            "model.save('name.keras')."
        ) from None
    with archive:
        names = set(archive.namelist())
        for name in (_CONFIG, _WEIGHTS):
            if name not in names:
                raise MissingFileError(
                    f"{source}: the .keras archive has no {name}; save the model again with "
                    "model.save('name.keras')."
                )
        size = archive.getinfo(_CONFIG).file_size
        if size > MAX_JSON_BYTES:
            raise PresetError(
                f"{source}: its {_CONFIG} is {size:,} bytes, more than the {MAX_JSON_BYTES:,} a "
                "keras_ae model's config may hold; it was not read."
            )
        try:
            config = json.loads(archive.read(_CONFIG).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PresetError(f"{source}: its {_CONFIG} is not valid JSON ({error}).") from None
        except RecursionError:
            raise PresetError(f"{source}: its {_CONFIG} is nested too deeply.") from None
        if not isinstance(config, dict):
            raise PresetError(f"{source}: its {_CONFIG} must hold a JSON object.")
        weights = Path(archive.extract(_WEIGHTS, scratch / "extracted"))
    return config, weights
