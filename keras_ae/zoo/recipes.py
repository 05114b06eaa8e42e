"""Training recipes: one YAML file per preset, the single source of truth for how it is made.

A recipe has these sections (``zoo_configs/*.yaml`` are examples)::

    name: ae_mnist                    # the preset's name
    description: One line for the model card.
    model:                            # a keras_ae model class and its constructor arguments
      class: Autoencoder
      input_shape: [28, 28, 1]
      latent_dim: 30
    data:
      name: mnist_5k                  # a keras_ae.datasets name, or "tfds:NAME" (any TFDS
                                      # image dataset, e.g. tfds:keras_ae_dsprites)
      train_split: train              # or a slice, e.g. "train[:-5000]"
      validation_split: null          # e.g. "train[-5000:]": scored at every checkpoint; the
                                      # best-scoring weights become the preset (early stopping)
      test_split: test                # held-out images for the evaluation ("none": sample)
      binarize: null                  # null, "static" or "dynamic"
      augment: {shift: 2}             # random translations of up to 2 pixels (training only)
      options: {}                     # dataset-specific options of keras_ae.datasets.load
    training:
      optimizer: {name: adam, learning_rate: 0.001}
      batch_size: 128
      epochs: 20                      # or steps: 10000
      seed: 0
      checkpoint_every: 500           # optimizer steps between checkpoints
      steps_per_execution: 50         # steps per compiled call (speed only; the result is the same)
      prior_steps: 5000               # a learned prior's steps (VQVAE), after the others
    evaluation:                       # arguments of keras_ae.evaluation.evaluate_model
      test_examples: 1000
      importance_samples: 200
      ground_truth: false             # dSprites: the disentanglement metrics
      probes: true                    # linear/kNN probes with the dataset's labels
      corruption: {kind: masking, level: 0.25}   # also reconstruct corrupted test inputs
      pca_components: 30              # the PCA baseline's size (default: the code's width)
      likelihood_examples: 1000       # test images for the ELBO and the importance-sampled NLL
      sample_quality: 10000           # samples scored by the digit classifier (28x28x1 models)
    pictures: [reconstructions, traversal, samples, filters, kl, canvas, codebook, code_indices]
    paper:                            # the paper's figures, set beside this preset's on its card
      - source: Hinton & Salakhutdinov 2006, Fig. 2
        measure: squared error per test image
        figure: 3.00
        metric: reconstruction.squared_error   # the key of this preset's own figure
        setting: 60,000 training digits; RBM pretraining
        ours: 50,000 training digits; Adam from random weights
"""

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from keras_ae.zoo.errors import PresetError

#: Recipes' default ``training.steps_per_execution``.
DEFAULT_STEPS_PER_EXECUTION = 50
PICTURES = (
    "reconstructions",
    "traversal",
    "samples",
    "filters",
    "kl",
    "latent_map",
    "canvas",
    "codebook",
    "code_indices",
    "kl_over_training",
)
_SECTIONS = (
    "name",
    "description",
    "model",
    "data",
    "training",
    "evaluation",
    "pictures",
    "paper",
    "selection",
)
#: The fields of one ``paper`` row; ``metric`` and ``note`` may be left out.
PAPER_FIELDS = ("source", "measure", "figure", "metric", "setting", "ours", "note")
_PAPER_REQUIRED = ("source", "measure", "figure", "setting", "ours")
# The training fields that set how long and in what pieces a run trains, not what it computes:
# left out of the fingerprint, so that a finished run can be resumed to train longer.
_LENGTHS = ("steps", "epochs", "checkpoint_every", "steps_per_execution", "prior_steps")
# The data fields that only choose the held-out data the finished model is evaluated on: left
# out of the fingerprint, as the evaluation section is. (validation_split stays in: it chooses
# which checkpoint's weights become the preset.)
_EVALUATION_ONLY_DATA = ("test_split",)
#: The version of ``Recipe.fingerprint`` that checkpoints record (``state.json``'s
#: ``fingerprint_version``). Version 1, that of checkpoints which record none, also hashed
#: ``data.test_split``.
FINGERPRINT_VERSION = 2


class RecipeError(PresetError, ValueError):
    """A recipe is missing a field, has an unknown one, or names something that does not exist."""


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The ``data`` section: a ``keras_ae.datasets`` name and how to read it."""

    name: str
    train_split: str = "train"
    #: Scored at every checkpoint; the weights that score best on it make the preset.
    validation_split: str | None = None
    test_split: str = "test"
    binarize: str | None = None
    augment: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
    """The ``training`` section; exactly one of ``steps`` and ``epochs`` is set."""

    optimizer: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"name": "adam", "learning_rate": 1e-3}
    )
    batch_size: int = 64
    steps: int | None = None
    epochs: int | None = None
    seed: int = 0
    checkpoint_every: int = 1000
    steps_per_execution: int = DEFAULT_STEPS_PER_EXECUTION
    #: Steps of the model's later stage whose ``steps_field`` this is (VQVAE's learned prior).
    prior_steps: int | None = dataclasses.field(default=None, metadata={"stage_steps": True})


@dataclasses.dataclass(frozen=True)
class SelectionSpec:
    """The ``selection`` section: train each of ``seeds`` for ``steps`` optimizer steps, score
    each on a ground-truth sample drawn with ``sample_seed`` (not the card's 0, so the card's
    figures are not the ones the seed was chosen on) by ``metric``, a key of
    ``keras_ae.evaluation.disentanglement_metrics`` (higher is better), and train the best one
    on to ``training.steps``; ``training.seed`` is then the chosen seed."""

    seeds: tuple[int, ...]
    steps: int
    metric: str = "mig.discrete_mig"
    sample_seed: int = 1


@dataclasses.dataclass(frozen=True)
class EvaluationSpec:
    """The ``evaluation`` section: arguments of ``keras_ae.evaluation.evaluate_model``."""

    test_examples: int = 1000
    importance_samples: int = 200
    ground_truth: bool = False
    probes: bool = True
    corruption: Mapping[str, Any] | None = None
    pca_components: int | None = None
    likelihood_examples: int = 1000
    sample_quality: int | None = None


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A validated recipe. Build it with ``Recipe.from_dict`` or ``load_recipe``; ``to_dict``
    gives the YAML layout back (the form recorded in a preset's metadata)."""

    name: str
    model_class: str
    model_arguments: Mapping[str, Any]
    data: DataSpec
    training: TrainingSpec
    evaluation: EvaluationSpec = dataclasses.field(default_factory=EvaluationSpec)
    description: str = ""
    pictures: tuple[str, ...] = ("reconstructions", "traversal")
    #: The papers' figures for the card, each a mapping of ``PAPER_FIELDS``.
    paper: tuple[Mapping[str, Any], ...] = ()
    #: How the training seed is chosen among several, or None for the one ``training.seed``.
    selection: SelectionSpec | None = None

    @classmethod
    def from_dict(cls, recipe: Mapping, source: str = "recipe") -> "Recipe":
        """Validates a recipe in the YAML layout; raises ``RecipeError`` saying what is wrong."""
        if not isinstance(recipe, Mapping):
            raise RecipeError(f"{source}: a recipe is a YAML mapping, got {type(recipe).__name__}.")
        unknown = sorted(set(recipe) - set(_SECTIONS))
        if unknown:
            raise RecipeError(
                f"{source}: unknown section(s) {unknown}; expected {list(_SECTIONS)}."
            )
        for required in ("name", "model", "data", "training"):
            if required not in recipe:
                raise RecipeError(f"{source}: the recipe has no {required!r} section.")
        model = _section(recipe, "model", source)
        if "class" not in model:
            raise RecipeError(f"{source}: model.class names the keras_ae class, e.g. 'BetaVAE'.")
        model_class = _model_class_named(model["class"], source)
        if "seed" in model:
            raise RecipeError(
                f"{source}: model.seed: the model is seeded with training.seed; move it there."
            )
        _check_model_arguments(model_class, [key for key in model if key != "class"], source)
        data = _section(recipe, "data", source)
        if "name" not in data:
            raise RecipeError(f"{source}: data.name names the dataset, e.g. 'mnist_5k'.")
        training = _section(recipe, "training", source)
        if ("steps" in training) == ("epochs" in training):
            raise RecipeError(f"{source}: training takes exactly one of 'steps' and 'epochs'.")
        for key in (*_LENGTHS, "batch_size"):
            value = training.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise RecipeError(f"{source}: training.{key} must be a positive integer.")
        for key in _stage_steps_fields():
            if key in training and not _later_stage_with(model_class, key):
                raise RecipeError(
                    f"{source}: training.{key} gives the steps of a later training stage, "
                    f"which {model['class']} does not have (its stages: "
                    f"{[stage.name for stage in model_class.stages]})."
                )
        optimizer = training.get("optimizer", {"name": "adam"})
        if not isinstance(optimizer, Mapping) or not isinstance(optimizer.get("name"), str):
            raise RecipeError(
                f"{source}: training.optimizer is a mapping with a 'name', e.g. "
                f"{{name: adam, learning_rate: 0.001}}; got {optimizer!r}."
            )
        evaluation = _section(recipe, "evaluation", source)
        for key in (
            "test_examples",
            "importance_samples",
            "pca_components",
            "likelihood_examples",
            "sample_quality",
        ):
            value = evaluation.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise RecipeError(f"{source}: evaluation.{key} must be a positive integer.")
        for key in ("ground_truth", "probes"):
            if not isinstance(evaluation.get(key, False), bool):
                raise RecipeError(f"{source}: evaluation.{key} must be true or false.")
        corruption = evaluation.get("corruption")
        if corruption is not None and not (
            isinstance(corruption, Mapping) and {"kind", "level"} <= set(corruption)
        ):
            raise RecipeError(
                f"{source}: evaluation.corruption is null or a mapping with 'kind' and 'level', "
                f"e.g. {{kind: masking, level: 0.25}}; got {corruption!r}."
            )
        pictures = recipe.get("pictures", Recipe.pictures)
        if not isinstance(pictures, list | tuple):
            raise RecipeError(
                f"{source}: pictures is a list of picture names, some of {list(PICTURES)}; got "
                f"{type(pictures).__name__}."
            )
        unknown_pictures = sorted(set(pictures) - set(PICTURES))
        if unknown_pictures:
            raise RecipeError(
                f"{source}: unknown picture(s) {unknown_pictures}; expected some of "
                f"{list(PICTURES)}."
            )
        paper = recipe.get("paper") or []
        if not isinstance(paper, list | tuple):
            raise RecipeError(f"{source}: paper is a list of rows, got {type(paper).__name__}.")
        for number, row in enumerate(paper):
            if not isinstance(row, Mapping):
                raise RecipeError(f"{source}: paper[{number}] is a mapping of {PAPER_FIELDS}.")
            unknown_fields = sorted(set(row) - set(PAPER_FIELDS))
            missing_fields = [field for field in _PAPER_REQUIRED if field not in row]
            if unknown_fields or missing_fields:
                raise RecipeError(
                    f"{source}: paper[{number}] has unknown field(s) {unknown_fields} and lacks "
                    f"{missing_fields}; its fields are {list(PAPER_FIELDS)}."
                )
        selection = _selection_spec(recipe, training, evaluation, source)
        return cls(
            name=str(recipe["name"]),
            model_class=str(model["class"]),
            model_arguments={key: value for key, value in model.items() if key != "class"},
            data=_spec(DataSpec, data, "data", source),
            training=_spec(TrainingSpec, training, "training", source),
            evaluation=_spec(
                EvaluationSpec, _section(recipe, "evaluation", source), "evaluation", source
            ),
            description=str(recipe.get("description") or ""),
            pictures=tuple(pictures),
            paper=tuple(dict(row) for row in paper),
            selection=selection,
        )

    def to_dict(self) -> dict:
        """The recipe in the YAML layout, every default filled in (JSON-serialisable)."""
        training = {
            key: value
            for key, value in dataclasses.asdict(self.training).items()
            if value is not None
        }
        evaluation = {
            key: value
            for key, value in dataclasses.asdict(self.evaluation).items()
            if not (key in ("corruption", "pca_components", "sample_quality") and value is None)
        }
        return json.loads(
            json.dumps(
                {
                    "name": self.name,
                    "description": self.description,
                    "model": {"class": self.model_class, **self.model_arguments},
                    "data": dataclasses.asdict(self.data),
                    "training": training,
                    "evaluation": evaluation,
                    "pictures": list(self.pictures),
                    "paper": [dict(row) for row in self.paper],
                    **(
                        {"selection": dataclasses.asdict(self.selection)}
                        if self.selection is not None
                        else {}
                    ),
                }
            )
        )

    def replace(self, **sections) -> "Recipe":
        """A copy with some fields changed; ``data``, ``training`` and ``evaluation`` take a
        dict of the fields to change in that section."""
        for section in ("data", "training", "evaluation"):
            if isinstance(sections.get(section), Mapping):
                sections[section] = dataclasses.replace(getattr(self, section), **sections[section])
        return dataclasses.replace(self, **sections)

    def with_dataset(self, name: str) -> "Recipe":
        """A copy that trains and evaluates on the ``keras_ae.datasets`` dataset ``name``
        (``"tfds:NAME"`` for a TFDS image dataset)."""
        from keras_ae import datasets

        if name not in datasets.DATASETS and not datasets.tfds_images.is_tfds_name(name):
            raise RecipeError(
                f"Unknown dataset {name!r}; expected one of {list(datasets.DATASETS)}, or "
                "'tfds:NAME' for a TFDS image dataset."
            )
        return self.replace(data={"name": name})

    @property
    def model_cls(self) -> type:
        """The keras_ae model class the recipe names."""
        return _model_class_named(self.model_class, self.name)

    def build_model(self):
        """The recipe's model, constructed and compiled with its optimizer."""
        model = self.model_cls(**self.model_arguments, seed=self.training.seed)
        model.compile(optimizer=self.optimizer())
        return model

    def optimizer(self):
        """The recipe's optimizer, ``{"name": "adam", "learning_rate": ...}`` style."""
        import keras

        spec = dict(self.training.optimizer)
        name = spec.pop("name", None)
        if name is None:
            raise RecipeError("training.optimizer needs a 'name', e.g. {name: adam}.")
        try:
            return keras.optimizers.get({"class_name": name, "config": spec})
        except (ValueError, TypeError) as error:
            raise RecipeError(f"training.optimizer {name!r}: {error}") from None

    def fingerprint(self, version: int = FINGERPRINT_VERSION) -> str:
        """A short hash of what a checkpoint must agree with to be resumed: what changes the
        trained weights, that is the model, the training data and the training settings; not the
        length of training, the checkpoint interval or the steps per execution (which change how
        fast the same steps run, not what they compute), nor what the finished model is
        evaluated on (the ``evaluation`` section, ``data.test_split``).

        ``version=1`` gives the hash of checkpoints written before ``data.test_split`` was left
        out (they record no ``fingerprint_version``), so that they still resume."""
        if version not in (1, FINGERPRINT_VERSION):
            raise RecipeError(
                f"Unknown fingerprint version {version!r}; this keras_ae knows 1 and "
                f"{FINGERPRINT_VERSION}. Was the checkpoint written by a newer keras_ae?"
            )
        layout = self.to_dict()
        training = {key: value for key, value in layout["training"].items() if key not in _LENGTHS}
        data = layout["data"]
        if version > 1:
            data = {key: value for key, value in data.items() if key not in _EVALUATION_ONLY_DATA}
        essential = {"model": layout["model"], "data": data, "training": training}
        text = json.dumps(essential, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def evaluation_data(
    recipe: Mapping | None, examples: int | None = None, brief: bool = False
) -> str | None:
    """What a recipe's metrics are measured on, in words, from its YAML layout (as a preset's
    ``metadata.json`` records it), ``examples`` images (default: ``test_examples``); None
    without a recipe. ``brief`` leaves out why, for a second mention.

    dSprites (``evaluation.ground_truth``) has no test split: its images are sampled from all of
    dSprites, the images the model trained on, as disentanglement is conventionally measured.
    """
    if not isinstance(recipe, Mapping) or not isinstance(recipe.get("data"), Mapping):
        return None
    data = recipe["data"]
    evaluation = recipe.get("evaluation") or {}
    count = examples or evaluation.get("test_examples") or EvaluationSpec.test_examples
    if evaluation.get("ground_truth") and brief:
        return f"{count:,} images sampled from all of dSprites (its training images)"
    if evaluation.get("ground_truth"):
        return (
            f"{count:,} images sampled from all of dSprites, the images the model trained on "
            "(dSprites has no test split; disentanglement is conventionally measured on the "
            "training distribution)"
        )
    test_split = data.get("test_split", DataSpec.test_split)
    if test_split == data.get("train_split", DataSpec.train_split):
        return f"{count:,} images of {data.get('name')}'s {test_split} split, the training split"
    return f"{count:,} held-out images of {data.get('name')}'s {test_split} split"


def _selection_spec(
    recipe: Mapping, training: Mapping, evaluation: Mapping, source: str
) -> SelectionSpec | None:
    """The validated ``selection`` section, or None when the recipe has none."""
    if recipe.get("selection") is None:
        return None
    from keras_ae.evaluation.disentanglement import METRICS

    spec = _spec(SelectionSpec, _section(recipe, "selection", source), "selection", source)
    seeds = spec.seeds
    if (
        not isinstance(seeds, list | tuple)
        or len(seeds) < 2
        or not all(isinstance(seed, int) and not isinstance(seed, bool) for seed in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise RecipeError(
            f"{source}: selection.seeds is a list of at least two different integers, e.g. "
            f"[0, 1, 2]; got {seeds!r}."
        )
    steps, total = spec.steps, training.get("steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise RecipeError(f"{source}: selection.steps must be a positive integer, got {steps!r}.")
    if total is None or steps >= total:
        raise RecipeError(
            f"{source}: selection.steps ({steps}) must be fewer than training.steps ({total}): "
            "the chosen seed trains on from there."
        )
    if not evaluation.get("ground_truth", False):
        raise RecipeError(
            f"{source}: selection scores seeds on the ground truth's factors; set "
            "evaluation.ground_truth: true (dSprites)."
        )
    prefix, _, key = str(spec.metric).partition(".")
    if prefix not in METRICS or not key:
        raise RecipeError(
            f"{source}: selection.metric is '<metric>.<score>' with <metric> one of "
            f"{sorted(METRICS)}, e.g. 'mig.discrete_mig'; got {spec.metric!r}."
        )
    if not isinstance(spec.sample_seed, int) or spec.sample_seed == 0:
        raise RecipeError(
            f"{source}: selection.sample_seed must be an integer other than 0 (the card's "
            f"metrics use sample seed 0); got {spec.sample_seed!r}."
        )
    return dataclasses.replace(spec, seeds=tuple(seeds))


def _section(recipe: Mapping, key: str, source: str) -> dict:
    value = recipe.get(key) or {}
    if not isinstance(value, Mapping):
        raise RecipeError(f"{source}: {key} must be a mapping, got {type(value).__name__}.")
    return dict(value)


def _spec(spec_class: type, values: dict, section: str, source: str):
    fields = {field.name for field in dataclasses.fields(spec_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise RecipeError(
            f"{source}: unknown {section} field(s) {unknown}; expected some of {sorted(fields)}."
        )
    return spec_class(**values)


def _model_class_named(name, source: str) -> type:
    from keras_ae.models.registry import get_model_class

    try:
        return get_model_class(name)
    except ValueError as error:
        raise RecipeError(f"{source}: model.class: {error}") from None


def model_arguments_of(model_class: type) -> list[str]:
    """The keyword arguments a recipe's ``model`` section may give ``model_class``
    (``keras_ae.models.registry.model_arguments``, less ``seed``: ``training.seed`` sets it)."""
    from keras_ae.models.registry import model_arguments

    return sorted(set(model_arguments(model_class)) - {"seed"})


def _check_model_arguments(model_class: type, given: list[str], source: str) -> None:
    """Refuses a ``model`` field the class does not take, with the closest it does take."""
    from keras_ae.models.registry import unknown_arguments

    accepted = model_arguments_of(model_class)
    unknown = unknown_arguments(given, accepted)
    if not unknown:
        return
    hints = [f"model.{name}: did you mean {close!r}?" for name, close in unknown if close]
    raise RecipeError(
        f"{source}: unknown model field(s) {[name for name, _ in unknown]} for "
        f"{model_class.__name__}. "
        + (" ".join(hints) + " " if hints else "")
        + f"{model_class.__name__} takes: class, {', '.join(accepted)}."
    )


def _stage_steps_fields() -> list[str]:
    """The ``training`` fields that give a later stage's steps (a ``Stage.steps_field``)."""
    return [
        field.name
        for field in dataclasses.fields(TrainingSpec)
        if field.metadata.get("stage_steps")
    ]


def _later_stage_with(model_class: type, steps_field: str) -> bool:
    return any(stage.steps_field == steps_field for stage in model_class.stages[1:])


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Reads and validates a recipe YAML file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"No recipe file at {path}.")
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RecipeError(f"{path} is not valid YAML: {error}") from None
    return Recipe.from_dict(recipe, source=str(path))
