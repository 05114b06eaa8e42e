"""The model registry: every keras_ae model class, registered once, with what the rest of the
package needs to know about it.

Code outside ``keras_ae.models`` asks the registry what a model can do (``model_info(model)``)
instead of probing it with ``hasattr``; the public API, recipes, the README table, the CLI, the
benchmarks and the parametrised model tests list the classes from here.

A subclass registered without a capability inherits it from its nearest registered base, so
``BetaVAE`` needs only ``@register_model()`` to be a VAE in every respect. Its documentation
(``title``, ``loss_summary``) is its own, never inherited.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import keras

_PACKAGE = "keras_ae"
#: The arguments every model takes from ``keras.Model`` itself (past the classes' ``**kwargs``),
#: with their defaults.
KERAS_MODEL_ARGUMENTS = {"name": None, "dtype": None, "trainable": True}
#: The default of an argument that has none (a required one).
REQUIRED = inspect.Parameter.empty


class ModelArgumentError(TypeError):
    """A model class was given a keyword argument it does not take."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What a registered model class can do, and how the README names it.

    Attributes:
        cls: the class.
        has_posterior: a Gaussian q(z|x) behind ``posterior(x) -> (mean, log_var)``, so KL per
            latent, the ELBO and the importance-weighted NLL apply.
        can_sample: ``sample(n, seed)`` draws new data from the model.
        likelihoods: the likelihood kinds the class accepts (``likelihood=``).
        sequential_canvas: the model draws an image over several steps (a canvas sequence).
        discrete_codes: the latent code is discrete (code indices or class probabilities).
        own_bound: ``negative_elbo(x, seed) -> (n,)`` nats gives the model's own bound on
            ``-log p(x)``, for a posterior that is not one Gaussian (categorical, sequential).
        codebook: ``encode_indices(x) -> (n, rows, cols)`` indices into ``num_codes`` codebook
            vectors, and ``prior_nll(x)`` their NLL under a learned prior.
        headline_metrics: keys of ``keras_ae.evaluation`` metrics that its presets are judged by,
            shown after the test reconstruction error in the README and ``keras-ae list``.
        example_arguments: small constructor arguments (beside ``input_shape``, ``latent_dim``
            and ``hidden_units``) that exercise the class's own loss terms; tests use them.
            ``tests/test_models.py`` builds every class with them on top of
            ``input_shape=(28, 28, 1), latent_dim=8, hidden_units=(64,)``, trains it for 30
            steps (3 epochs of 640 MNIST digits, batch 64, Adam at 1e-3) and requires both
            ``"loss"`` and ``"reconstruction"`` to fall over them: choose values that allow it
            (a penalty weak enough, a schedule short enough: ``c_steps=40``, ``anneal_steps=8``),
            and that the architecture accepts (``latent_dim=8`` must suit them).
        title: the model's name in prose (``"beta-TCVAE"``, ``"VQ-VAE"``); the README's first
            paragraph and the package description must name it (``tests/test_registry.py``
            checks). The class name when not given. Not inherited.
        loss_summary: its loss in one line of Markdown, the "loss" cell of the README's models
            table (``python -m keras_ae.zoo.readme_table`` writes the table from the registry).
            Not inherited: a class without one shares its base's row, and must then compute the
            same loss (not override ``loss_terms`` or ``latent_regulariser``) and report the
            same ``term_names``.
    """

    cls: type
    has_posterior: bool = False
    can_sample: bool = False
    likelihoods: tuple[str, ...] = ("bernoulli", "gaussian", "squared_error")
    sequential_canvas: bool = False
    discrete_codes: bool = False
    own_bound: bool = False
    codebook: bool = False
    headline_metrics: tuple[str, ...] = ()
    example_arguments: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    title: str = ""
    loss_summary: str = ""

    @property
    def name(self) -> str:
        return self.cls.__name__


_REGISTRY: dict[str, ModelInfo] = {}
_CAPABILITIES = tuple(field.name for field in dataclasses.fields(ModelInfo) if field.name != "cls")
# A class's own documentation: not inherited from its base.
_OWN = ("title", "loss_summary")


def register_model(**capabilities):
    """Class decorator: registers a keras_ae model class with its capabilities (see
    ``ModelInfo``); capabilities not given are inherited from the nearest registered base.

    The class must already be registered with Keras under package ``keras_ae`` (put
    ``@keras.saving.register_keras_serializable(package="keras_ae")`` below this decorator), so
    that presets of it load in safe mode.

    ``example_arguments`` must let the shared model tests train the class: its loss and its
    reconstruction must fall within 30 steps (see ``ModelInfo.example_arguments``).
    """
    unknown = sorted(set(capabilities) - set(_CAPABILITIES))
    if unknown:
        raise TypeError(f"Unknown capabilities {unknown}; expected some of {list(_CAPABILITIES)}.")

    def decorate(cls: type) -> type:
        registered_name = f"{_PACKAGE}>{cls.__name__}"
        if keras.saving.get_registered_object(registered_name) is not cls:
            raise TypeError(
                f"Register {cls.__name__} with Keras first: put "
                '@keras.saving.register_keras_serializable(package="keras_ae") below '
                "@register_model."
            )
        if cls.__name__ in _REGISTRY and _REGISTRY[cls.__name__].cls is not cls:
            raise ValueError(f"A model class named {cls.__name__} is already registered.")
        inherited = _nearest_registered(cls.__mro__[1:])
        values = (
            {}
            if inherited is None
            else {name: getattr(inherited, name) for name in _CAPABILITIES if name not in _OWN}
        )
        values.update(capabilities)
        values["likelihoods"] = tuple(values.get("likelihoods", ModelInfo.likelihoods))
        values["headline_metrics"] = tuple(values.get("headline_metrics", ()))
        values["example_arguments"] = MappingProxyType(dict(values.get("example_arguments", {})))
        _REGISTRY[cls.__name__] = ModelInfo(cls=cls, **values)
        return cls

    return decorate


def _nearest_registered(classes) -> ModelInfo | None:
    for candidate in classes:
        info = _REGISTRY.get(getattr(candidate, "__name__", None))
        if info is not None and info.cls is candidate:
            return info
    return None


def model_classes() -> dict[str, type]:
    """Every registered model class by name, in registration order."""
    return {name: info.cls for name, info in _REGISTRY.items()}


def model_info(model_or_class) -> ModelInfo:
    """The ``ModelInfo`` of a model, a model class or a registered class name.

    An unregistered subclass (your own) gets its nearest registered base's capabilities.
    """
    if isinstance(model_or_class, str):
        return _REGISTRY[get_model_class(model_or_class).__name__]
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    info = _nearest_registered(cls.__mro__)
    if info is None:
        raise TypeError(
            f"{cls.__name__} is not a keras_ae model; expected an instance or subclass of one of "
            f"{list(_REGISTRY)}."
        )
    return info


def get_model_class(name: str) -> type:
    """The registered model class called ``name``; a ``ValueError`` lists the names."""
    info = _REGISTRY.get(str(name))
    if info is None:
        raise ValueError(f"{name!r} is not a keras_ae model; expected one of {list(_REGISTRY)}.")
    return info.cls


def _is_keras_own(cls: type) -> bool:
    module = cls.__module__
    return not issubclass(cls, keras.Model) or module == "keras" or module.startswith("keras.")


def model_arguments(model_class: type) -> dict[str, Any]:
    """The keyword arguments ``model_class`` takes, with their defaults (``REQUIRED`` for none).

    Its own ``__init__``'s, and, through each ``**kwargs``, its bases' down to Keras' own classes
    (``KERAS_MODEL_ARGUMENTS``), so a subclass defined anywhere (yours) keeps its arguments. A
    class's default wins over its bases'; an argument that a class sets itself and lists in
    ``fixed_arguments`` (FactorVAE's ``beta``) is not the subclass's to take."""
    arguments: dict[str, Any] = {}
    fixed: set[str] = set()
    for cls in model_class.__mro__:
        if "__init__" not in vars(cls):
            continue
        if _is_keras_own(cls):
            for name, default in KERAS_MODEL_ARGUMENTS.items():
                arguments.setdefault(name, default)
            break
        fixed.update(vars(cls).get("fixed_arguments", ()))
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for parameter in parameters:
            keyword = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            if keyword and parameter.name not in fixed:
                arguments.setdefault(parameter.name, parameter.default)
        if not any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
            break
    return arguments


def unknown_arguments(given: Iterable, accepted: list[str]) -> list[tuple[object, str | None]]:
    """Each of ``given`` that is not in ``accepted``, with the closest accepted name (or None)."""
    return [
        (name, next(iter(difflib.get_close_matches(str(name), accepted, n=1, cutoff=0.6)), None))
        for name in given
        if name not in accepted
    ]


def check_model_arguments(model_class: type, given: Iterable[str]) -> None:
    """Raises ``ModelArgumentError`` naming each of ``given`` (keyword argument names) that
    ``model_class`` does not take, with the closest one it does take."""
    accepted = list(model_arguments(model_class))
    unknown = unknown_arguments(given, accepted)
    if not unknown:
        return
    cls = model_class.__name__
    hints = [
        f"{str(name)!r}" + (f" (did you mean {close!r}?)" if close else "")
        for name, close in unknown
    ]
    raise ModelArgumentError(
        f"{cls} does not take the argument(s) {', '.join(hints)}. {cls} takes: "
        f"{', '.join(sorted(accepted))} (keras-ae models lists every class's arguments)."
    )


def describe_arguments(model_class: type) -> str:
    """``model_class``'s arguments with their defaults, ``name=default`` comma-separated."""
    return ", ".join(
        name if default is REQUIRED else f"{name}={default!r}"
        for name, default in model_arguments(model_class).items()
    )
