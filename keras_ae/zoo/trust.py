"""The trust boundary: what keras_ae checks before it builds anything from a preset's files.

A preset may come from a stranger. Before a model is constructed, its ``metadata.json`` must come
from a keras_ae no newer than the installed one, ``model.weights.h5`` (and the optional
``training.weights.h5``, when present) must match the recorded sha256, every class in
``config.json`` must be a built-in Keras object or one keras_ae registered, the variables the
config describes must fit in the weights files loaded (so a config cannot make keras_ae allocate
more than the files hold), and the optimizer to recompile with must be one of Keras' own.
"""

import copy
import re
from collections.abc import Mapping
from pathlib import Path

import keras

from keras_ae._stateless import variable_bytes
from keras_ae.checksums import sha256_of
from keras_ae.models.base import Autoencoder
from keras_ae.version import __version__
from keras_ae.zoo.errors import (
    ChecksumError,
    IncompatibleVersionError,
    PresetError,
    UnregisteredClassError,
)
from keras_ae.zoo.preset_files import (
    LOADED_WITHOUT_TRAINING_WEIGHTS,
    TRAINING_WEIGHTS_FILE,
    WEIGHTS_FILE,
)

_PACKAGE = "keras_ae"
# Built-in Keras layers that carry Python code in their config.
_CODE_CARRYING_LAYERS = ("Lambda",)
#: The largest ``config.json``/``metadata.json`` read: save_preset writes a few kilobytes.
MAX_JSON_BYTES = 8 << 20


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
    installed = __version__
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
    verify_file(directory / WEIGHTS_FILE, expected, source, discard)


def verify_training_weights(
    directory: Path, metadata: Mapping, source: str, discard: bool
) -> Path | None:
    """The preset's ``training.weights.h5`` once it matches the sha256 ``metadata.json``
    records for it, or ``None`` when the preset has none (it is optional); ``ChecksumError``
    when it does not match, ``PresetError`` when nothing records its sha256."""
    path = directory / TRAINING_WEIGHTS_FILE
    if not path.is_file():
        return None
    record = metadata.get("training_weights")
    expected = record.get("sha256") if isinstance(record, Mapping) else None
    if not expected:
        raise PresetError(
            f"{source}: the preset holds {TRAINING_WEIGHTS_FILE}, but metadata.json records no "
            f"sha256 for it, so it cannot be verified. Delete it to load the preset without "
            "its training state, or re-save the preset with keras_ae.save_preset."
        )
    verify_file(
        path,
        expected,
        source,
        discard,
        f"Or delete it to load the preset without its training state: "
        f"{LOADED_WITHOUT_TRAINING_WEIGHTS}.",
    )
    return path


def verify_file(path: Path, expected: str, source: str, discard: bool, remedy: str = "") -> None:
    """Raises ``ChecksumError`` unless ``path``'s sha256 is ``expected``; with ``discard``, the
    bad file (a cached download) is deleted first."""
    actual = sha256_of(path)
    if actual == expected:
        return
    message = (
        f"{source}: refused {path}: its sha256 is {actual}, but metadata.json records "
        f"{expected}. The file is corrupt or was changed after the preset was saved."
    )
    if discard:
        _remove_cached_file(path)
        raise ChecksumError(
            f"{message} The corrupt cached copy was deleted; load again to download it afresh. "
            "If this happens again, the file on the Hub is bad: tell the preset's publisher."
        )
    raise ChecksumError(
        f"{message} The file was left in place. Replace it with the original (or re-save the "
        f"preset with keras_ae.save_preset). {remedy}".rstrip()
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
        if class_name in _CODE_CARRYING_LAYERS and _is_keras_module(module):
            raise UnregisteredClassError(
                f"{source}: config.json holds a {class_name} layer at {where}, which runs code "
                "stored in the file; keras_ae loads only its own models and Keras layers "
                "without stored code. If you trust this file, load it with "
                "keras.saving.load_model(..., safe_mode=False)."
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


def check_json_size(path: Path, source: str) -> None:
    """Refuses a JSON file larger than ``MAX_JSON_BYTES`` before it is read."""
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise PresetError(
            f"{source}: {path.name} is {size:,} bytes, more than the {MAX_JSON_BYTES:,} a "
            "preset's JSON may hold; it was not read. Presets written by keras_ae.save_preset "
            "hold a few kilobytes."
        )


def model_from_config(config: Mapping, source: str = "preset") -> keras.Model:
    """The model ``config`` describes, deserialised in safe mode (from a copy: deserialising
    consumes nested configs); ``PresetError`` if it cannot be built."""
    try:
        return keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
    except Exception as error:
        raise PresetError(
            f"{source}: config.json could not be turned into a model ({type(error).__name__}: "
            f"{error}). Was it written by keras_ae.save_preset?"
        ) from error


def check_variables_fit_weights(
    config: Mapping,
    weights: Path,
    source: str,
    training_weights: Path | None = None,
    *,
    without_training_state: bool = False,
) -> None:
    """Refuses a config whose variables would need more memory than the weights files to be
    loaded hold bytes, sizing the model without allocating it (``keras_ae._stateless``).

    Keras writes every variable uncompressed, so a genuine weights file is at least as large as
    the variables it fills; a config that asks for more (``latent_dim: 10**9``) cannot be this
    file's model, and building it would only exhaust memory. ``weights`` and
    ``training_weights`` (a split preset's second file, when loaded) are counted together; with
    ``without_training_state``, the variables of the model class's
    ``training_only_attributes`` (built afresh, not loaded) are not counted.
    """
    leave_out = ()
    if without_training_state:
        # check_config_classes has made sure the name is one of keras_ae's Autoencoders.
        model_class = keras.saving.get_registered_object(config.get("registered_name"))
        leave_out = getattr(model_class, "training_only_attributes", ())
    needed = variable_bytes(lambda: model_from_config(config, source), leave_out)
    files = [weights, *([training_weights] if training_weights is not None else [])]
    held = sum(path.stat().st_size for path in files)
    if needed > held:
        raise PresetError(
            f"{source}: config.json describes a model of {needed:,} bytes of variables, but "
            f"{' and '.join(path.name for path in files)} hold only {held:,} bytes, so they do "
            "not belong together; nothing was allocated. Re-save the preset with "
            "keras_ae.save_preset."
        )
