"""Training recipes: one YAML file per preset, the single source of truth for how it is made.

A recipe has these sections (``zoo_configs/*.yaml`` are examples)::

    name: ae_mnist                    # the preset's name
    description: One line for the model card.
    model:                            # a keras_ae model class and its constructor arguments
      class: Autoencoder
      input_shape: [28, 28, 1]
      latent_dim: 30
    data:
      name: mnist_5k                  # a keras_ae.datasets name
      train_split: train
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
    evaluation:                       # arguments of keras_ae.evaluation.evaluate_model
      test_examples: 1000
      importance_samples: 200
      ground_truth: false             # dSprites: the disentanglement metrics
      probes: true                    # linear/kNN probes with the dataset's labels
      corruption: {kind: masking, level: 0.25}   # also reconstruct corrupted test inputs
    pictures: [reconstructions, traversal, samples, filters, kl]
"""

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from keras_ae.zoo.presets import PresetError

#: Recipes' default ``training.steps_per_execution``.
DEFAULT_STEPS_PER_EXECUTION = 50
PICTURES = ("reconstructions", "traversal", "samples", "filters", "kl", "latent_map")
_SECTIONS = ("name", "description", "model", "data", "training", "evaluation", "pictures")
_DEFAULTS: dict[str, Any] = {
    "description": "",
    "data": {
        "train_split": "train",
        "test_split": "test",
        "binarize": None,
        "augment": {},
        "options": {},
    },
    "training": {
        "optimizer": {"name": "adam", "learning_rate": 1e-3},
        "batch_size": 64,
        "seed": 0,
        "checkpoint_every": 1000,
        "steps_per_execution": DEFAULT_STEPS_PER_EXECUTION,
    },
    "evaluation": {
        "test_examples": 1000,
        "importance_samples": 200,
        "ground_truth": False,
        "probes": True,
    },
    "pictures": ["reconstructions", "traversal"],
}


class RecipeError(PresetError, ValueError):
    """A recipe is missing a field, has an unknown one, or names something that does not exist."""


def _merged(defaults: dict, given: dict) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate(recipe: dict, source: str = "recipe") -> dict:
    """The recipe with its defaults filled in; raises ``RecipeError`` saying what is wrong."""
    if not isinstance(recipe, dict):
        raise RecipeError(f"{source}: a recipe is a YAML mapping, got {type(recipe).__name__}.")
    unknown = sorted(set(recipe) - set(_SECTIONS))
    if unknown:
        raise RecipeError(f"{source}: unknown section(s) {unknown}; expected {list(_SECTIONS)}.")
    for required in ("name", "model", "data", "training"):
        if required not in recipe:
            raise RecipeError(f"{source}: the recipe has no {required!r} section.")
    recipe = _merged(_DEFAULTS, recipe)
    if "class" not in recipe["model"]:
        raise RecipeError(f"{source}: model.class names the keras_ae class, e.g. 'BetaVAE'.")
    model_class(recipe)  # raises for an unknown class
    if "name" not in recipe["data"]:
        raise RecipeError(f"{source}: data.name names the dataset, e.g. 'mnist_5k'.")
    training = recipe["training"]
    if ("steps" in training) == ("epochs" in training):
        raise RecipeError(f"{source}: training takes exactly one of 'steps' and 'epochs'.")
    for key in ("steps", "epochs", "batch_size", "checkpoint_every", "steps_per_execution"):
        if key in training and (not isinstance(training[key], int) or training[key] < 1):
            raise RecipeError(f"{source}: training.{key} must be a positive integer.")
    unknown_pictures = sorted(set(recipe["pictures"]) - set(PICTURES))
    if unknown_pictures:
        raise RecipeError(
            f"{source}: unknown picture(s) {unknown_pictures}; expected some of {list(PICTURES)}."
        )
    return recipe


def load_recipe(path: str | os.PathLike) -> dict:
    """Reads and validates a recipe YAML file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"No recipe file at {path}.")
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RecipeError(f"{path} is not valid YAML: {error}") from None
    return validate(recipe, source=str(path))


def model_class(recipe: dict) -> type:
    """The keras_ae model class a recipe names."""
    import keras_ae.models

    name = recipe["model"]["class"]
    cls = getattr(keras_ae.models, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, keras_ae.models.Autoencoder)):
        raise RecipeError(
            f"model.class {name!r} is not a keras_ae model; expected one of "
            f"{[n for n in keras_ae.models.__all__ if n[0].isupper() and n != 'DataError']}."
        )
    return cls


def build_model(recipe: dict):
    """The recipe's model, constructed and compiled with its optimizer."""
    arguments = {key: value for key, value in recipe["model"].items() if key != "class"}
    model = model_class(recipe)(**arguments, seed=recipe["training"]["seed"])
    model.compile(optimizer=optimizer(recipe))
    return model


def optimizer(recipe: dict):
    """The recipe's optimizer, ``{"name": "adam", "learning_rate": ...}`` style."""
    import keras

    spec = dict(recipe["training"]["optimizer"])
    name = spec.pop("name", None)
    if name is None:
        raise RecipeError("training.optimizer needs a 'name', e.g. {name: adam}.")
    try:
        return keras.optimizers.get({"class_name": name, "config": spec})
    except (ValueError, TypeError) as error:
        raise RecipeError(f"training.optimizer {name!r}: {error}") from None


def fingerprint(recipe: dict) -> str:
    """A short hash of what a checkpoint must agree with to be resumed: the model, the data and
    the training settings, but not the length of training, the checkpoint interval or the
    steps per execution (which change how fast the same steps run, not what they compute)."""
    training = {
        key: value
        for key, value in recipe["training"].items()
        if key not in ("steps", "epochs", "checkpoint_every", "steps_per_execution")
    }
    essential = {"model": recipe["model"], "data": recipe["data"], "training": training}
    text = json.dumps(essential, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
