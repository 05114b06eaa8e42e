"""The data a preset is evaluated and pictured on (held-out test images; for dSprites, samples of
the training images), and the recipe that says which."""

from collections.abc import Mapping

import numpy as np

from keras_ae import datasets
from keras_ae.zoo.recipes import Recipe, RecipeError


def held_out_data(recipe: Recipe) -> dict:
    """The evaluation data: test images (and labels), training images for PCA and probes, and
    the ground truth for dSprites."""
    data, evaluation = recipe.data, recipe.evaluation
    name, n = data.name, int(evaluation.test_examples)
    binarize = "static" if data.binarize else None
    load = dict(binarize=binarize, seed=0, **data.options)
    if evaluation.ground_truth:
        # Shares its images with the training pipeline's dSprites: one copy per process.
        ground_truth = datasets.DSprites(verbose=False, **data.options)
        factors = ground_truth.sample_factors(n, np.random.RandomState(0))
        x_test = ground_truth.sample_observations_from_factors(factors, np.random.RandomState(0))
        return {"x_test": x_test, "ground_truth_data": ground_truth}
    if not evaluation.probes:
        return {"x_test": datasets.load(name, data.test_split, num_examples=n, **load)}
    x_test, y_test = datasets.load(name, data.test_split, num_examples=n, with_labels=True, **load)
    x_train, y_train = datasets.load(name, data.train_split, with_labels=True, **load)
    # Probes and PCA fit on at most 5n training images, a seeded subset.
    keep = np.random.RandomState(0).permutation(len(x_train))[: 5 * n]
    x_train, y_train = x_train[keep], y_train[keep]
    return {"x_test": x_test, "y_test": y_test, "x_train": x_train, "y_train": y_train}


def check_images_fit(model, recipe: Recipe, model_name: str | None = None) -> None:
    """Raises ``RecipeError`` when the recipe's evaluation images are not the shape ``model``
    takes, reading one image (or, for dSprites' ground truth, none) before anything else."""
    data = recipe.data
    if recipe.evaluation.ground_truth:
        shape, where = datasets.DSprites.observation_shape, "dsprites"
    else:
        one = datasets.load(data.name, data.test_split, num_examples=1, seed=0, **data.options)
        shape, where = one.shape[1:], f"{data.name}'s {data.test_split} split"
    if tuple(shape) == tuple(model.data_shape):
        return
    name = model_name or type(model).__name__
    raise RecipeError(
        f"{name} takes images of shape {tuple(model.data_shape)}, but {where} gives images of "
        f"shape {tuple(shape)}; evaluate it on a dataset of {tuple(model.data_shape)} images."
    )


def evaluation_recipe(
    recipe: Recipe | Mapping | None,
    dataset: str | None = None,
    examples: int | None = None,
    probes: bool | None = None,
) -> Recipe:
    """The recipe to evaluate a preset with: its training recipe (as recorded in its metadata),
    or, for a preset without one, a bare recipe for ``dataset``; ``dataset``, ``examples`` and
    ``probes`` override the held-out data."""
    if recipe is None:
        if dataset is None:
            raise RecipeError(
                "This preset records no recipe, so its evaluation data is unknown; pass a "
                "dataset (e.g. --dataset mnist_5k)."
            )
        recipe = {
            "name": "evaluation",
            "model": {"class": "Autoencoder"},
            "data": {"name": dataset},
            "training": {"steps": 1},
            "evaluation": {"ground_truth": dataset == "dsprites", "probes": dataset != "dsprites"},
        }
    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_dict(recipe, source="the preset's recipe")
    evaluation = {}
    if examples is not None:
        evaluation["test_examples"] = int(examples)
    if probes is not None:
        evaluation["probes"] = bool(probes)
    if dataset is not None and dataset != recipe.data.name:
        recipe = recipe.with_dataset(dataset)
        evaluation["ground_truth"] = dataset == "dsprites"
    return recipe.replace(evaluation=evaluation)
