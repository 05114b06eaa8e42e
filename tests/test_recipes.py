"""Recipes (keras_ae.zoo.recipes): validation with a RecipeError naming the field, the YAML
layout round trip, the fingerprint a checkpoint must agree with, and the model they build."""

import copy
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

import keras_ae
from keras_ae.zoo.recipes import (
    DEFAULT_STEPS_PER_EXECUTION,
    Recipe,
    RecipeError,
    load_recipe,
)

ROOT = Path(__file__).resolve().parent.parent
ZOO_RECIPES = sorted((ROOT / "zoo_configs").glob("*.yaml"))
TINY_RECIPE = Path(__file__).parent / "data" / "tiny_recipe.yaml"
MINIMAL = {
    "name": "tiny",
    "model": {"class": "Autoencoder", "input_shape": [6], "latent_dim": 2, "hidden_units": [4]},
    "data": {"name": "mnist_5k"},
    "training": {"steps": 10},
}


def _recipe(**sections) -> dict:
    """MINIMAL with some sections replaced (None deletes one)."""
    recipe = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        if value is None:
            del recipe[key]
        else:
            recipe[key] = value
    return recipe


def _with(section: str, **fields) -> dict:
    """MINIMAL with some fields of one section changed (None deletes one)."""
    recipe = copy.deepcopy(MINIMAL)
    for key, value in fields.items():
        if value is None:
            del recipe[section][key]
        else:
            recipe[section][key] = value
    return recipe


# ---------------------------------------------------------------------------- validation
def test_from_dict_fills_the_defaults():
    recipe = Recipe.from_dict(MINIMAL)
    assert recipe.name == "tiny" and recipe.description == ""
    assert recipe.model_class == "Autoencoder"
    assert recipe.model_arguments == {"input_shape": [6], "latent_dim": 2, "hidden_units": [4]}
    assert (recipe.data.name, recipe.data.train_split, recipe.data.test_split) == (
        "mnist_5k",
        "train",
        "test",
    )
    assert recipe.data.binarize is None and recipe.data.augment == {} and recipe.data.options == {}
    training = recipe.training
    assert training.optimizer == {"name": "adam", "learning_rate": 1e-3}
    assert (training.steps, training.epochs, training.batch_size, training.seed) == (
        10,
        None,
        64,
        0,
    )
    assert training.checkpoint_every == 1000
    assert training.steps_per_execution == DEFAULT_STEPS_PER_EXECUTION == 50
    evaluation = recipe.evaluation
    assert (evaluation.test_examples, evaluation.importance_samples) == (1000, 200)
    assert evaluation.probes is True and evaluation.ground_truth is False
    assert evaluation.corruption is None
    assert recipe.pictures == ("reconstructions", "traversal")


def test_empty_optional_sections_mean_their_defaults():
    # `evaluation:` and `description:` left empty in the YAML file.
    recipe = Recipe.from_dict({**MINIMAL, "evaluation": None, "description": None})
    assert recipe == Recipe.from_dict(MINIMAL)
    assert recipe.evaluation.test_examples == 1000 and recipe.description == ""


BAD_RECIPES = [
    ("not a mapping", [MINIMAL], "a recipe is a YAML mapping, got list"),
    ("unknown section", _recipe(trainng={"steps": 1}), "unknown section(s) ['trainng']"),
    ("no name", _recipe(name=None), "the recipe has no 'name' section"),
    ("no model", _recipe(model=None), "the recipe has no 'model' section"),
    ("no data", _recipe(data=None), "the recipe has no 'data' section"),
    ("no training", _recipe(training=None), "the recipe has no 'training' section"),
    ("model not a mapping", _recipe(model="Autoencoder"), "model must be a mapping, got str"),
    ("no model.class", _with("model", **{"class": None}), "model.class names the keras_ae class"),
    ("unknown class", _with("model", **{"class": "Autoencodr"}), "model.class: 'Autoencodr'"),
    ("model.seed", _with("model", seed=3), "model.seed"),
    ("no data.name", _with("data", name=None), "data.name names the dataset"),
    ("steps and epochs", _with("training", epochs=2), "exactly one of 'steps' and 'epochs'"),
    ("neither", _with("training", steps=None), "exactly one of 'steps' and 'epochs'"),
    ("zero steps", _with("training", steps=0), "training.steps must be a positive integer"),
    ("negative", _with("training", steps=-5), "training.steps must be a positive integer"),
    ("bool steps", _with("training", steps=True), "training.steps must be a positive integer"),
    ("float steps", _with("training", steps=2.5), "training.steps must be a positive integer"),
    ("text steps", _with("training", steps="10"), "training.steps must be a positive integer"),
    (
        "zero epochs",
        _with("training", steps=None, epochs=0),
        "training.epochs must be a positive integer",
    ),
    ("batch_size", _with("training", batch_size=0), "training.batch_size must be a positive"),
    (
        "checkpoint_every",
        _with("training", checkpoint_every=False),
        "training.checkpoint_every must be a positive",
    ),
    (
        "steps_per_execution",
        _with("training", steps_per_execution=-1),
        "training.steps_per_execution must be a positive",
    ),
    ("unknown picture", _recipe(pictures=["samples", "histogram"]), "picture(s) ['histogram']"),
    ("pictures a string", _recipe(pictures="samples"), "pictures is a list"),
    ("pictures null", {**MINIMAL, "pictures": None}, "pictures is a list"),
    ("data field", _with("data", split="train"), "unknown data field(s) ['split']"),
    ("training field", _with("training", lr=0.1), "unknown training field(s) ['lr']"),
    (
        "evaluation field",
        _recipe(evaluation={"probe": True}),
        "unknown evaluation field(s) ['probe']",
    ),
]


@pytest.mark.parametrize(
    "recipe, message", [case[1:] for case in BAD_RECIPES], ids=[case[0] for case in BAD_RECIPES]
)
def test_a_bad_recipe_is_refused_naming_what_is_wrong(recipe, message):
    with pytest.raises(RecipeError, match="^my.yaml: .*" + re.escape(message)):
        Recipe.from_dict(recipe, source="my.yaml")


def test_an_unknown_model_class_lists_the_registered_classes():
    with pytest.raises(RecipeError) as error:
        Recipe.from_dict(_with("model", **{"class": "Autoencodr"}))
    for name in keras_ae.models.model_classes():
        assert repr(name) in str(error.value)
    assert isinstance(error.value, ValueError)  # a RecipeError is a ValueError too


def test_a_model_field_typo_names_the_file_the_field_and_the_right_spelling(tmp_path):
    # sed 's/hidden_units:/hiden_units:/' zoo_configs/ae_mnist.yaml > t.yaml
    typo = tmp_path / "t.yaml"
    recipe = (ROOT / "zoo_configs" / "ae_mnist.yaml").read_text()
    typo.write_text(recipe.replace("hidden_units:", "hiden_units:"))
    with pytest.raises(RecipeError) as error:
        load_recipe(typo)
    message = str(error.value)
    assert message.startswith(f"{typo}: unknown model field(s) ['hiden_units'] for Autoencoder.")
    assert "model.hiden_units: did you mean 'hidden_units'?" in message
    assert "Autoencoder takes: class, activation, architecture," in message


def test_a_model_field_the_class_fixes_itself_is_refused_naming_the_file_and_field(tmp_path):
    # FactorVAE keeps the KL's weight at 1: a beta used to end in a bare "multiple values".
    path = tmp_path / "factor.yaml"
    recipe = yaml.safe_load((ROOT / "zoo_configs" / "factor_vae_dsprites.yaml").read_text())
    recipe["model"]["beta"] = 4.0
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    message = str(error.value)
    assert message.startswith(f"{path}: unknown model field(s) ['beta'] for FactorVAE.")
    assert "gamma" in message


def test_every_argument_a_model_class_takes_passes_the_recipe_check():
    from keras_ae.zoo.recipes import model_arguments_of

    assert "beta" in model_arguments_of(keras_ae.BetaVAE)  # its own
    assert "hidden_units" in model_arguments_of(keras_ae.BetaVAE)  # Autoencoder's, via kwargs
    assert "name" in model_arguments_of(keras_ae.VQVAE)  # keras.Model's
    for name, cls in keras_ae.models.model_classes().items():
        arguments = {key: 1 for key in model_arguments_of(cls)}  # checked by name only
        Recipe.from_dict(_with("model", **{"class": name}, **arguments))


def test_load_recipe_refuses_a_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="No recipe file at"):
        load_recipe(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="is not valid YAML"):
        load_recipe(broken)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump(_recipe(trainng={})))
    with pytest.raises(RecipeError, match=re.escape(f"{unknown}: unknown section")):
        load_recipe(unknown)


def test_evaluation_data_says_dsprites_figures_are_on_the_training_images():
    from keras_ae.zoo.recipes import evaluation_data

    dsprites = load_recipe(ROOT / "zoo_configs" / "beta_vae_dsprites.yaml").to_dict()
    assert evaluation_data(dsprites).startswith(
        "2,000 images sampled from all of dSprites, the images the model trained on"
    )
    assert "held-out" not in evaluation_data(dsprites)
    tiny = load_recipe(TINY_RECIPE).to_dict()
    assert evaluation_data(tiny, 50) == "50 held-out images of mnist_5k's test split"
    same = Recipe.from_dict(_with("data", test_split="train")).to_dict()
    assert evaluation_data(same) == "1,000 images of mnist_5k's train split, the training split"
    assert evaluation_data(None) is None and evaluation_data({"name": "no data"}) is None


# -------------------------------------------------------------------- to_dict and replace
@pytest.mark.parametrize("path", [*ZOO_RECIPES, TINY_RECIPE], ids=lambda path: path.stem)
def test_to_dict_round_trips(path):
    recipe = load_recipe(path)
    layout = recipe.to_dict()
    assert Recipe.from_dict(layout) == recipe
    assert Recipe.from_dict(layout).to_dict() == layout
    # Every default is written out, and only the one of steps and epochs that is set; the
    # selection section only when the recipe chooses its seed.
    assert ("selection" in layout) == (recipe.selection is not None)
    assert set(layout) - {"selection"} == {
        "name",
        "description",
        "model",
        "data",
        "training",
        "evaluation",
        "pictures",
        "paper",
    }
    assert ("steps" in layout["training"]) != ("epochs" in layout["training"])
    assert layout["training"]["steps_per_execution"] == recipe.training.steps_per_execution


def test_to_dict_writes_the_defaults_in_the_yaml_layout():
    layout = Recipe.from_dict(MINIMAL).to_dict()
    assert layout["model"] == {"class": "Autoencoder", **MINIMAL["model"]}
    assert layout["training"] == {
        "optimizer": {"name": "adam", "learning_rate": 1e-3},
        "batch_size": 64,
        "steps": 10,
        "seed": 0,
        "checkpoint_every": 1000,
        "steps_per_execution": 50,
    }
    assert "corruption" not in layout["evaluation"]
    assert layout["pictures"] == ["reconstructions", "traversal"]


def test_replace_changes_one_field_of_a_section():
    recipe = Recipe.from_dict(_with("data", augment={"shift": 2}))
    smaller = recipe.replace(training={"batch_size": 32})
    assert smaller.training.batch_size == 32 and recipe.training.batch_size == 64
    assert smaller.training.steps == 10 and smaller.training.optimizer == recipe.training.optimizer
    assert (smaller.data, smaller.evaluation, smaller.model_arguments) == (
        recipe.data,
        recipe.evaluation,
        recipe.model_arguments,
    )
    other_data = recipe.replace(data={"name": "fashion_mnist"})
    assert other_data.data.name == "fashion_mnist" and other_data.data.augment == {"shift": 2}
    assert recipe.replace(pictures=("kl",)).pictures == ("kl",)


# ---------------------------------------------------------------------------- fingerprint
def test_the_fingerprint_ignores_how_long_and_how_fast_training_runs():
    recipe = Recipe.from_dict(MINIMAL)
    fingerprint = recipe.fingerprint()
    assert re.fullmatch("[0-9a-f]{16}", fingerprint)
    for training in (
        {"steps": 5000},
        {"steps": None, "epochs": 3},
        {"checkpoint_every": 7},
        {"steps_per_execution": 1},
    ):
        assert recipe.replace(training=training).fingerprint() == fingerprint, training
    # The order of the model's arguments does not matter either.
    reordered = _recipe(model=dict(reversed(list(MINIMAL["model"].items()))))
    assert Recipe.from_dict(reordered).fingerprint() == fingerprint


def test_the_fingerprint_changes_with_the_model_data_and_optimizer():
    recipe = Recipe.from_dict(MINIMAL)
    changed = [
        recipe.replace(model_class="VAE"),
        recipe.replace(model_arguments={**recipe.model_arguments, "latent_dim": 3}),
        recipe.replace(data={"name": "fashion_mnist"}),
        recipe.replace(data={"augment": {"shift": 2}}),
        recipe.replace(training={"optimizer": {"name": "adam", "learning_rate": 2e-3}}),
        recipe.replace(training={"batch_size": 32}),
        recipe.replace(training={"seed": 1}),
    ]
    fingerprints = {candidate.fingerprint() for candidate in changed}
    assert len(fingerprints) == len(changed)
    assert recipe.fingerprint() not in fingerprints


def test_the_fingerprint_ignores_what_the_finished_model_is_evaluated_on():
    recipe = Recipe.from_dict(MINIMAL)
    for evaluation_only in (
        recipe.replace(data={"test_split": "train[:10%]"}),
        recipe.replace(evaluation={"test_examples": 7, "probes": False}),
    ):
        assert evaluation_only.fingerprint() == recipe.fingerprint()
    # The validation split chooses the weights the preset keeps, so it counts.
    validated = recipe.replace(data={"validation_split": "train[-500:]"})
    assert validated.fingerprint() != recipe.fingerprint()


def test_fingerprint_version_1_is_the_hash_older_checkpoints_hold():
    # Computed by keras_ae before version 2 (commit bb43d4c for MINIMAL; for the tiny recipe as it
    # is now, with its validation split, by the code of the full-MNIST runs, 78c4cf5):
    # checkpoints that record no fingerprint_version hold these, and must still resume.
    recipe = Recipe.from_dict(MINIMAL)
    assert recipe.fingerprint(1) == "e10b7b0ac11a0398"
    assert load_recipe(TINY_RECIPE).fingerprint(1) == "eb55799e023def2e"
    # Version 1 hashed the test split; version 2 does not.
    other_test = recipe.replace(data={"test_split": "train[:10%]"})
    assert other_test.fingerprint(1) != recipe.fingerprint(1)
    assert recipe.fingerprint(2) == recipe.fingerprint() != recipe.fingerprint(1)
    with pytest.raises(RecipeError, match="Unknown fingerprint version 3"):
        recipe.fingerprint(3)


def test_steps_per_execution_does_not_block_a_resume():
    recipe = yaml.safe_load(TINY_RECIPE.read_text())
    slow = Recipe.from_dict(
        {**recipe, "training": {**recipe["training"], "steps_per_execution": 1}}
    )
    fast = Recipe.from_dict(
        {**recipe, "training": {**recipe["training"], "steps_per_execution": 50, "steps": 400}}
    )
    assert slow.fingerprint() == fast.fingerprint()


# ------------------------------------------------------------------ the zoo and the model
@pytest.mark.parametrize("path", ZOO_RECIPES, ids=lambda path: path.stem)
def test_every_zoo_recipe_loads(path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert recipe.model_cls is keras_ae.models.model_classes()[recipe.model_class]
    optimizer = recipe.optimizer()
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    expected = recipe.training.optimizer.get("learning_rate")
    if expected is not None:
        assert float(optimizer.learning_rate) == pytest.approx(expected)


def test_build_model_gives_the_named_class_compiled_with_the_recipes_optimizer():
    recipe = Recipe.from_dict(
        {
            **_recipe(model={**MINIMAL["model"], "class": "SparseAutoencoder", "rho": 0.2}),
            "training": {
                "steps": 1,
                "seed": 7,
                "optimizer": {"name": "sgd", "learning_rate": 0.05},
            },
        }
    )
    model = recipe.build_model()
    assert type(model) is keras_ae.SparseAutoencoder
    assert (model.rho, model.latent_dim, model.seed) == (0.2, 2, 7)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    history = model.fit(np.full((8, 6), 0.5, "float32"), batch_size=8, epochs=1, verbose=0)
    assert set(history.history) == set(model.term_names)


def test_a_bad_optimizer_is_a_recipe_error():
    # A nameless optimizer is refused when the recipe is read (see the test below); a name Keras
    # does not know, when the optimizer is made.
    unknown = Recipe.from_dict(_with("training", optimizer={"name": "adamm"}))
    with pytest.raises(RecipeError, match="training.optimizer 'adamm'"):
        unknown.optimizer()


@pytest.mark.parametrize(
    ("section", "field", "value", "named"),
    [
        ("training", "optimizer", "adam", "training.optimizer"),
        ("training", "optimizer", {"learning_rate": 0.1}, "training.optimizer"),
        ("evaluation", "test_examples", 0, "evaluation.test_examples"),
        ("evaluation", "importance_samples", 2.5, "evaluation.importance_samples"),
        ("evaluation", "probes", "yes", "evaluation.probes"),
        ("evaluation", "corruption", {"kind": "masking"}, "evaluation.corruption"),
    ],
)
def test_bad_optimizer_and_evaluation_fields_are_named(section, field, value, named):
    recipe = copy.deepcopy(MINIMAL)
    recipe.setdefault(section, {})[field] = value
    with pytest.raises(RecipeError, match=named):
        Recipe.from_dict(recipe)


# -------------------------------------------------------------------------- paper rows
def test_paper_rows_are_checked_field_by_field():
    row = {"source": "S", "measure": "M", "figure": 3.0, "setting": "theirs", "ours": "ours"}
    assert Recipe.from_dict(_recipe(paper=[row])).paper == (row,)
    with pytest.raises(RecipeError, match=r"paper\[0\] has unknown field\(s\) \['figur'\]"):
        Recipe.from_dict(_recipe(paper=[{**row, "figur": 1}]))
    with pytest.raises(RecipeError, match=r"lacks \['ours'\]"):
        Recipe.from_dict(_recipe(paper=[{k: v for k, v in row.items() if k != "ours"}]))
    with pytest.raises(RecipeError, match="paper is a list of rows"):
        Recipe.from_dict(_recipe(paper={"source": "S"}))


@pytest.mark.parametrize("path", [p for p in ZOO_RECIPES if p.stem.endswith("_mnist")], ids=str)
def test_every_mnist_recipe_sets_a_paper_beside_its_own_metric(path):
    recipe = load_recipe(path)
    assert recipe.paper, f"{path.name} has no paper row for its card"
    assert any(row.get("metric") for row in recipe.paper)
