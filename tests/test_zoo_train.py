"""Training from a recipe: chunking, checkpoints and steps per execution (the fingerprint a
checkpoint must agree with is tested in test_recipes.py)."""

from pathlib import Path

import numpy as np
import yaml

from keras_ae.zoo import recipes
from keras_ae.zoo.train import fit_recipe

RECIPE = Path(__file__).parent / "data" / "tiny_recipe.yaml"


def _tiny_recipe(**training) -> recipes.Recipe:
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["training"].update(training)
    return recipes.Recipe.from_dict(recipe)


def test_steps_per_execution_changes_the_speed_not_the_result(tmp_path):
    # 25 steps in chunks of 10: the last chunk (5) is not a multiple of 4, so fit_recipe must
    # fall back to a divisor rather than let Keras round the epoch up.
    runs = {}
    for per_execution in (1, 4):
        recipe = _tiny_recipe(steps=25, checkpoint_every=10, steps_per_execution=per_execution)
        model, state = fit_recipe(recipe, tmp_path / str(per_execution), verbose=0)
        assert int(model.trained_steps.numpy()) == 25
        assert [entry["step"] for entry in state["history"]] == [10, 20, 25]
        runs[per_execution] = model.get_weights()
    for slow, fast in zip(runs[1], runs[4], strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-6)
