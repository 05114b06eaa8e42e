"""The preset directory format: write a model as a preset, check a preset, load one.

A preset is a directory laid out like a Hugging Face model repository:

- ``config.json``: ``keras.saving.serialize_keras_object(model)``;
- ``model.weights.h5``: the weights;
- ``metadata.json``: the keras_ae and Keras versions, the parameter count, the sha256 of the
  weights, the optimizer to recompile with, and what the caller adds (recipe, dataset, metrics);
- ``README.md``: a Hub model card;
- the caller's pictures (PNG or GIF), linked from the card.
"""

import hashlib
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
from huggingface_hub import ModelCardData

from keras_ae.models.base import Autoencoder
from keras_ae.zoo import registry

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
#: The files ``load`` reads; the card and the pictures are for people.
FILES_TO_LOAD = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)

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
)
_PACKAGE = "keras_ae"


class PresetError(Exception):
    """A preset cannot be found, checked, loaded or published."""


class UnknownPresetError(PresetError, LookupError):
    """No preset answers to the name, path or handle given."""


class MissingFileError(PresetError, FileNotFoundError):
    """A preset directory lacks a file it needs."""


class ChecksumError(PresetError):
    """``model.weights.h5`` does not match the sha256 recorded in ``metadata.json``."""


class UnregisteredClassError(PresetError):
    """The config names a class keras_ae did not register; it is not deserialised."""


class IncompatibleVersionError(PresetError):
    """The preset was written by a newer keras_ae than the one installed."""


def installed_version() -> str:
    """The installed keras_ae's version."""
    # Read at call time: keras_ae/__init__ defines __version__ after importing this package.
    import keras_ae

    return keras_ae.__version__


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


def sha256_of(path: str | os.PathLike) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------ saving
def save_preset(
    model: Autoencoder,
    directory: str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    *,
    pictures: Mapping[str, str | os.PathLike] | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes ``model`` as a preset directory and returns its path.

    ``metadata`` adds JSON-serialisable fields to ``metadata.json``; the model card reads
    ``name``, ``description``, ``dataset`` (a name, or ``{"name", "version", "split"}``),
    ``metrics`` (``{name: value}``) and ``recipe`` (whose ``optimizer`` is used to recompile
    when the model is not compiled). ``pictures`` maps file names (``*.png``/``*.gif``) to files
    that are copied into the preset and shown on the card.

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
        _save_model_weights(model, staging / WEIGHTS_FILE)
        optimizer = model.optimizer if getattr(model, "compiled", False) else None
        full_metadata = {
            "keras_ae_version": installed_version(),
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


def _save_model_weights(model: Autoencoder, path: Path) -> None:
    """Writes the model's own variables only: a compiled model's ``save_weights`` would add the
    optimizer's state (Adam's two moments triple the file), which a preset does not need."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    copy.save_weights(str(path))


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


def _parameter_count(model: Autoencoder) -> int:
    # model.count_params() would also count the metric trackers, the step counter and the seed
    # state; the trainable weights are the network's parameters.
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


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


# ------------------------------------------------------------------------------ model card
def _family_tag(class_name: str) -> str:
    """``"BetaVAE"`` -> ``"beta-vae"``, ``"KSparseAutoencoder"`` -> ``"k-sparse-autoencoder"``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", class_name)
    return words.lower()


def _flat_metrics(metrics: Mapping, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            flat.update(_flat_metrics(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def model_card(metadata: Mapping[str, Any], default_name: str) -> str:
    """The README.md of a preset: YAML front matter for the Hub, then a description."""
    name = metadata.get("name") or default_name
    class_name = metadata["class_name"]
    dataset = metadata.get("dataset")
    dataset_name = dataset.get("name") if isinstance(dataset, Mapping) else dataset
    metrics = _flat_metrics(metadata.get("metrics") or {})
    card_data = ModelCardData(
        library_name="keras",
        tags=["keras-ae", "autoencoder", _family_tag(class_name)],
        datasets=[str(dataset_name)] if dataset_name else None,
        metrics=list(metrics) or None,
    )
    lines = [f"---\n{card_data.to_yaml()}\n---", "", f"# {name}", ""]
    if metadata.get("description"):
        lines += [str(metadata["description"]), ""]
    load_line = (
        f'model = keras_ae.load("{name}")'
        if name in registry.PRESETS
        else 'model = keras_ae.load("hf://<org>/<repo>")  # or the path of this directory'
    )
    trained_on = ""
    if dataset_name:
        trained_on = f" trained on {dataset_name}"
        if isinstance(dataset, Mapping) and dataset.get("split"):
            trained_on += f" ({dataset['split']} split)"
    lines += [
        f"A keras-ae `{class_name}` with {metadata['parameter_count']:,} parameters"
        f"{trained_on}, saved with keras_ae {metadata['keras_ae_version']} and Keras "
        f"{metadata['keras_version']}.",
        "",
        "## Usage",
        "",
        "```python",
        "import keras_ae",
        "",
        load_line,
        "codes = model.encode(x)",
        "reconstructions = model.reconstruct(x)",
        "```",
        "",
    ]
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {key} | {_format_value(value)} |" for key, value in metrics.items()]
        lines += [""]
    if metadata.get("pictures"):
        lines += ["## Pictures", ""]
        for picture in metadata["pictures"]:
            lines += [f"![{Path(picture).stem}]({picture})", ""]
    lines += [
        "## Files",
        "",
        f"- `{CONFIG_FILE}`: the model's Keras config.",
        f"- `{WEIGHTS_FILE}`: the weights (sha256 `{metadata['weights_sha256']}`).",
        f"- `{METADATA_FILE}`: versions, training recipe, dataset and metrics.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- checks
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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"{source}: {path.name} is not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise PresetError(f"{source}: {path.name} must hold a JSON object.")
    return data


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", str(version))
    return (int(match[1]), int(match[2])) if match else None


def check_version(metadata: Mapping, source: str) -> None:
    """Refuses a preset written by a keras_ae newer (major.minor) than the installed one."""
    written_by = metadata.get("keras_ae_version")
    if written_by is None or _major_minor(written_by) is None:
        raise PresetError(
            f"{source}: metadata.json has no valid keras_ae_version ({written_by!r}), so it was "
            "not written by keras_ae.save_preset."
        )
    installed = installed_version()
    if _major_minor(written_by) > _major_minor(installed):
        raise IncompatibleVersionError(
            f"{source} was written by keras_ae {written_by}, newer than the installed keras_ae "
            f"{installed}; its format may have changed. Upgrade: pip install -U keras-ae"
        )


def verify_weights(directory: Path, metadata: Mapping, source: str, discard: bool) -> None:
    """Raises ``ChecksumError`` unless the weights match ``metadata["weights_sha256"]``.

    With ``discard`` (a downloaded copy in the Hugging Face cache), the bad file is deleted so
    that the next load downloads it again.
    """
    expected = metadata.get("weights_sha256")
    if not expected:
        raise PresetError(
            f"{source}: metadata.json has no weights_sha256, so the weights cannot be verified. "
            "Re-save the preset with keras_ae.save_preset."
        )
    weights = directory / WEIGHTS_FILE
    actual = sha256_of(weights)
    if actual == expected:
        return
    message = (
        f"{source}: refused {weights}: its sha256 is {actual}, but metadata.json records "
        f"{expected}. The file is corrupt or was changed after the preset was saved."
    )
    if discard:
        _remove_cached_file(weights)
        raise ChecksumError(
            f"{message} The corrupt cached copy was deleted; load again to download it afresh. "
            "If this happens again, the file on the Hub is bad: tell the preset's publisher."
        )
    raise ChecksumError(
        f"{message} The file was left in place. Replace it with the original (or re-save the "
        "preset with keras_ae.save_preset)."
    )


def _remove_cached_file(path: Path) -> None:
    # In the Hugging Face cache, a snapshot file is a symlink to a blob named by its etag; both
    # go, or the blob would be reused as is.
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


def _is_keras_module(module) -> bool:
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def check_config_classes(config: Mapping, source: str = "preset") -> None:
    """Raises ``UnregisteredClassError`` unless ``config`` deserialises into keras_ae objects.

    The top-level class must be an ``Autoencoder`` registered under package ``keras_ae``;
    nested objects (your own encoder and decoder, layers, initialisers) must be built-in Keras
    objects or keras_ae's own. Nothing is imported or constructed.
    """
    registered_name = config.get("registered_name")
    registered = (
        keras.saving.get_registered_object(registered_name)
        if isinstance(registered_name, str) and registered_name.startswith(f"{_PACKAGE}>")
        else None
    )
    if not (isinstance(registered, type) and issubclass(registered, Autoencoder)):
        raise UnregisteredClassError(
            f"{source}: config.json names the model class {config.get('class_name')!r} "
            f"(registered as {registered_name!r}, module {config.get('module')!r}), which is "
            "not a model keras_ae registered; keras_ae loads only its own model classes. If you "
            "trust this file, deserialise it yourself with keras.saving.deserialize_keras_object."
        )
    _check_nested_classes(config.get("config"), "config", source)


def _check_nested_classes(node, where: str, source: str) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_nested_classes(item, f"{where}[{index}]", source)
        return
    if not isinstance(node, dict):
        return
    if "class_name" in node:
        class_name = node["class_name"]
        module = node.get("module")
        registered_name = node.get("registered_name")
        # Markers such as "__tuple__" and "__keras_tensor__" carry no module; "__lambda__" is
        # refused by safe_mode itself.
        is_marker = (
            module is None
            and not registered_name
            and isinstance(class_name, str)
            and class_name.startswith("__")
        )
        is_own = isinstance(registered_name, str) and registered_name.startswith(f"{_PACKAGE}>")
        if is_own and keras.saving.get_registered_object(registered_name) is None:
            is_own = False
        if not (is_marker or is_own or _is_keras_module(module)):
            raise UnregisteredClassError(
                f"{source}: config.json names the class {class_name!r} (registered as "
                f"{registered_name!r}, module {module!r}) at {where}; keras_ae loads only "
                "built-in Keras objects and classes keras_ae registered. If you trust this "
                "file, deserialise it yourself with keras.saving.deserialize_keras_object."
            )
    for key, value in node.items():
        _check_nested_classes(value, f"{where}.{key}", source)


def optimizer_from_metadata(
    metadata: Mapping, source: str = "preset"
) -> keras.optimizers.Optimizer:
    """The optimizer to recompile with: the one recorded at save time, else the recipe's, else
    ``Adam()``.

    A recorded optimizer is ``keras.optimizers.serialize`` output, a name (``"adam"``) or
    ``{"name": "adam", "learning_rate": 1e-3, ...}``.
    """
    record = metadata.get("optimizer")
    origin = "metadata.json's optimizer"
    recipe = metadata.get("recipe")
    if record is None and isinstance(recipe, Mapping):
        record = recipe.get("optimizer")
        origin = "metadata.json's recipe.optimizer"
    if record is None:
        return keras.optimizers.Adam()
    advice = "Load with compile=False and compile the model yourself."
    if not isinstance(record, str | Mapping):
        raise PresetError(
            f"{source}: {origin} must be a name or an optimizer config, got {record!r}. {advice}"
        )
    if isinstance(record, Mapping):
        record = dict(record)
        if "class_name" not in record and "name" in record:
            record = {"class_name": record.pop("name"), "config": record}
        if record.get("module") is not None and not _is_keras_module(record["module"]):
            raise UnregisteredClassError(
                f"{source}: {origin} names {record.get('class_name')!r} from module "
                f"{record['module']!r}; only Keras' own optimizers are loaded. {advice}"
            )
    try:
        return keras.optimizers.get(record)
    except (ValueError, TypeError, KeyError) as error:
        raise PresetError(
            f"{source}: {origin} {record!r} is not an optimizer Keras knows ({error}). {advice}"
        ) from None


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
    config = _read_json(directory / CONFIG_FILE, source)
    config.pop("compile_config", None)
    check_config_classes(config, source)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        raise PresetError(
            f"{source}: config.json could not be turned into a model ({type(error).__name__}: "
            f"{error}). Was it written by keras_ae.save_preset?"
        ) from error
    try:
        model.load_weights(str(directory / WEIGHTS_FILE))
    except (ValueError, OSError) as error:
        raise PresetError(
            f"{source}: {WEIGHTS_FILE} does not fit the model described by config.json "
            f"({error}). The two files come from different models; re-save the preset."
        ) from error
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
    pictures = list(metadata.get("pictures") or [])
    check_files(directory, [CARD_FILE, *pictures], source)
    check_config_classes(_read_json(directory / CONFIG_FILE, source), source)
    if not (directory / CARD_FILE).read_text(encoding="utf-8").startswith("---\n"):
        raise PresetError(
            f"{source}: {CARD_FILE} has no YAML front matter, so the Hub will not recognise it "
            "as a model card. Re-save the preset with keras_ae.save_preset."
        )
    return [*FILES_TO_LOAD, CARD_FILE, *pictures]
