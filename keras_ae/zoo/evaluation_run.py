"""A recipe's evaluation of a model: ``keras_ae.evaluation.evaluate_model`` on the recipe's
evaluation data (held-out test images; for dSprites, samples of the training images), plus the
corrupted-input errors the recipe asks for."""

from keras_ae import evaluation
from keras_ae.zoo.held_out import held_out_data
from keras_ae.zoo.recipes import Recipe, evaluation_data

#: How much of its evaluation a training run does (``keras-ae train --evaluate``): the
#: recipe's, a quick one for a smoke run, or none.
EVALUATIONS = ("full", "quick", "none")
#: The quick evaluation's sizes, at most: the recipe's ``evaluation`` fields are capped at these.
QUICK_SIZES = {
    "test_examples": 200,
    "importance_samples": 10,
    "likelihood_examples": 200,
    "sample_quality": 500,
}


def quick_recipe(recipe: Recipe) -> Recipe:
    """``recipe`` with its evaluation capped at ``QUICK_SIZES`` (held-out examples, importance
    samples, samples scored), for a smoke run's quick evaluation and pictures."""
    current = recipe.evaluation
    capped = {
        key: min(getattr(current, key), limit)
        for key, limit in QUICK_SIZES.items()
        if getattr(current, key) is not None
    }
    return recipe.replace(evaluation=capped)


def evaluate(
    model,
    recipe: Recipe,
    held_out: dict | None = None,
    verbose: bool = True,
    disentanglement: bool = True,
) -> dict:
    """The recipe's evaluation of ``model`` on its evaluation data (keras_ae.evaluation);
    without ``disentanglement``, the ground truth's metrics (minutes at their sizes) are left
    out."""
    held_out = held_out or held_out_data(recipe)
    if not disentanglement:
        held_out = {key: value for key, value in held_out.items() if key != "ground_truth_data"}
    metrics = evaluation.evaluate_model(
        model,
        held_out["x_test"],
        x_train=held_out.get("x_train"),
        y_train=held_out.get("y_train"),
        y_test=held_out.get("y_test"),
        ground_truth_data=held_out.get("ground_truth_data"),
        importance_samples=int(recipe.evaluation.importance_samples),
        pca_components=recipe.evaluation.pca_components,
        likelihood_examples=int(recipe.evaluation.likelihood_examples),
        sample_quality_samples=recipe.evaluation.sample_quality,
        random_state=0,
        verbose=False,
    )
    corruption = recipe.evaluation.corruption
    if corruption:
        errors = evaluation.corrupted_reconstruction_errors(
            model, held_out["x_test"], corruption["kind"], corruption["level"], seed=0
        )
        metrics.update({f"corrupted_input.{key}": value for key, value in errors.items()})
    if verbose:
        measured_on = evaluation_data(recipe.to_dict(), len(held_out["x_test"]))
        title = f"{recipe.name} ({type(model).__name__}), on {measured_on}"
        print(evaluation.format_table(metrics, title=title))
    return metrics
