"""A recipe's evaluation of a model: ``keras_ae.evaluation.evaluate_model`` on the recipe's
evaluation data (held-out test images; for dSprites, samples of the training images), plus the
corrupted-input errors the recipe asks for."""

from keras_ae import evaluation
from keras_ae.zoo.held_out import held_out_data
from keras_ae.zoo.recipes import Recipe, evaluation_data


def evaluate(model, recipe: Recipe, held_out: dict | None = None, verbose: bool = True) -> dict:
    """The recipe's evaluation of ``model`` on its evaluation data (keras_ae.evaluation)."""
    held_out = held_out or held_out_data(recipe)
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
