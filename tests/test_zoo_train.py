"""Training from a recipe: chunking, checkpoints and steps per execution (the fingerprint a
checkpoint must agree with is tested in test_recipes.py)."""

import json
from pathlib import Path

import numpy as np
import pytest
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


def test_every_checkpoint_records_the_kl_of_each_latent_on_fixed_training_images(tmp_path):
    from keras_ae import datasets
    from keras_ae.evaluation.likelihood import kl_per_latent
    from keras_ae.zoo.train import KL_PROBE_EXAMPLES

    # No validation split: the model returned is the last checkpoint's, not the best one's.
    recipe = _tiny_recipe(steps=20, checkpoint_every=10).replace(data={"validation_split": None})
    model, state = fit_recipe(recipe, tmp_path, verbose=0)
    kl = [entry["kl_per_latent"] for entry in state["history"]]
    assert [len(values) for values in kl] == [4, 4]
    assert kl[0] != kl[1]
    images = datasets.load("mnist_5k", "train[:-500]", num_examples=KL_PROBE_EXAMPLES, seed=0)
    np.testing.assert_allclose(kl[1], kl_per_latent(model, images), rtol=1e-5)


def test_a_checkpoint_resumes_after_the_test_split_changes_not_the_validation_split(tmp_path):
    import pytest

    recipe = _tiny_recipe(steps=10, checkpoint_every=10, steps_per_execution=5)
    fit_recipe(recipe, tmp_path, verbose=0)
    state = json.loads((tmp_path / "checkpoints/tiny_vae/state.json").read_text())
    assert state["fingerprint_version"] == recipes.FINGERPRINT_VERSION
    # The held-out split only chooses what the finished model is evaluated on.
    longer = recipe.replace(data={"test_split": "train[:200]"}, training={"steps": 20})
    model, state = fit_recipe(longer, tmp_path, verbose=0)
    assert int(model.trained_steps.numpy()) == 20
    assert [entry["step"] for entry in state["history"]] == [10, 20]
    # The validation split chooses the weights the preset keeps: another one is refused.
    validated = longer.replace(data={"validation_split": "train[-100:]"}, training={"steps": 30})
    with pytest.raises(recipes.RecipeError, match="made from a different recipe"):
        fit_recipe(validated, tmp_path, verbose=0)


def test_a_checkpoint_of_the_version_1_fingerprint_still_resumes(tmp_path):
    import pytest

    recipe = _tiny_recipe(steps=10, checkpoint_every=10, steps_per_execution=5)
    fit_recipe(recipe, tmp_path, verbose=0)
    # state.json as keras_ae wrote it before fingerprints had versions.
    state_file = tmp_path / "checkpoints/tiny_vae/state.json"
    state = json.loads(state_file.read_text())
    del state["fingerprint_version"]
    state["fingerprint"] = recipe.fingerprint(1)
    state_file.write_text(json.dumps(state))
    model, state = fit_recipe(recipe.replace(training={"steps": 20}), tmp_path, verbose=0)
    assert int(model.trained_steps.numpy()) == 20
    assert [entry["step"] for entry in state["history"]] == [10, 20]
    # Rewritten with today's fingerprint, which then lets the test split change.
    state = json.loads(state_file.read_text())
    assert state["fingerprint"] == recipe.fingerprint()
    assert state["fingerprint_version"] == recipes.FINGERPRINT_VERSION
    # A version 1 checkpoint of another recipe is still refused.
    del state["fingerprint_version"]
    state["fingerprint"] = recipe.replace(training={"seed": 1}).fingerprint(1)
    state_file.write_text(json.dumps(state))
    with pytest.raises(recipes.RecipeError, match="made from a different recipe"):
        fit_recipe(recipe.replace(training={"steps": 30}), tmp_path, verbose=0)


def _tiny_vq_recipe(**training) -> recipes.Recipe:
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["name"] = "tiny_vq"
    recipe["model"] = {
        "class": "VQVAE",
        "input_shape": [28, 28, 1],
        "latent_dim": 8,
        "architecture": "mlp",
        "hidden_units": [32],
        "code_dim": 2,
        "num_codes": 8,
        "prior_channels": 8,
        "prior_layers": 2,
    }
    recipe["evaluation"] = {"test_examples": 100, "pca_components": 3}
    recipe["pictures"] = ["reconstructions", "samples"]
    recipe["training"].update(training)
    return recipes.Recipe.from_dict(recipe)


@pytest.mark.large
def test_a_learned_prior_trains_after_the_autoencoder_and_resumes_exactly(tmp_path):
    recipe = _tiny_vq_recipe(steps=6, prior_steps=6, checkpoint_every=3, steps_per_execution=1)
    whole, state = fit_recipe(recipe, tmp_path / "whole", verbose=0)
    assert int(whole.trained_steps.numpy()) == 6 and int(whole.prior_trained_steps.numpy()) == 6
    assert [entry.get("step", entry.get("prior_step")) for entry in state["history"]] == [3, 6] * 2
    # The tiny recipe scores each checkpoint on its validation split.
    assert set(state["history"][-1]) == {"prior_step", "prior_nll", "validation_prior_nll"}

    # Stopped after the first prior chunk, then resumed from its checkpoint.
    fit_recipe(recipe.replace(training={"prior_steps": 3}), tmp_path / "split", verbose=0)
    resumed, _ = fit_recipe(recipe, tmp_path / "split", verbose=0)
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.large
def test_the_vq_preset_reports_its_codebook_and_a_pca_of_the_size_asked(tmp_path):
    import json

    from keras_ae.zoo.train import train

    recipe = _tiny_vq_recipe(steps=4, prior_steps=2, checkpoint_every=2)
    preset = train(recipe, tmp_path, verbose=0)
    metadata = json.loads((preset / "metadata.json").read_text())
    metrics = metadata["metrics"]
    assert metrics["pca.n_components"] == 3
    assert 1.0 <= metrics["codebook.perplexity"] <= 8.0
    assert 0.0 < metrics["codebook.usage"] <= 1.0
    assert metrics["codebook.prior_nll"] > 0
    assert (preset / "samples.png").is_file()


def test_prior_steps_are_refused_for_a_model_without_a_prior():
    import pytest

    with pytest.raises(recipes.RecipeError, match="prior_steps gives the steps of a later"):
        _tiny_recipe(prior_steps=5)


TFDS_RECIPE = Path(__file__).parent / "data" / "tiny_tfds_recipe.yaml"


def test_keras_ae_train_runs_a_recipe_on_a_tfds_dataset(tmp_path, capsys):
    import json

    from keras_ae.cli import main

    assert main(["train", str(TFDS_RECIPE), "--out", str(tmp_path), "--steps", "3"]) == 0
    metadata = json.loads((tmp_path / "tiny_tfds_vae" / "metadata.json").read_text())
    assert metadata["dataset"] == {"name": "tfds:keras_ae_dsprites/small", "split": "train"}
    assert metadata["history"][-1]["step"] == 3
    # A dataset whose images do not fit the model is refused before training, naming both.
    other = ["--dataset", "tfds:keras_ae_dsprites/small", "--out", str(tmp_path / "other")]
    recipe = yaml.safe_load(TFDS_RECIPE.read_text())
    recipe["model"]["input_shape"] = [28, 28, 1]
    mismatched = tmp_path / "mismatched.yaml"
    mismatched.write_text(yaml.safe_dump(recipe))
    capsys.readouterr()
    assert main(["train", str(mismatched), *other]) == 2
    error = capsys.readouterr().err
    assert "(64, 64, 1)" in error and "model.input_shape [28, 28, 1]" in error


def test_training_pipelines_of_tfds_names_are_images_in_0_1():
    from keras_ae.zoo.train import _training_data

    recipe = recipes.Recipe.from_dict(yaml.safe_load(TFDS_RECIPE.read_text()))
    batch = next(iter(_training_data(recipe, seed=0)))
    assert batch.shape == (32, 64, 64, 1) and batch.dtype == "float32"
    assert set(np.unique(batch.numpy())) == {0.0, 1.0}


def test_keras_ae_train_evaluates_quickly_or_not_at_all(tmp_path, monkeypatch, capsys):
    import pytest

    from keras_ae.cli import main
    from keras_ae.zoo import evaluation_run, train

    recipe = yaml.safe_load(TFDS_RECIPE.read_text())
    recipe["evaluation"].update(test_examples=300, importance_samples=50)
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe))
    # The ground truth's metrics take minutes; a quick evaluation must leave them out. A stand-in
    # ground truth (which evaluate_model could not use) shows whether it gets through.
    real_held_out = train.held_out_data
    monkeypatch.setattr(
        train, "held_out_data", lambda r: {**real_held_out(r), "ground_truth_data": object()}
    )
    calls = []
    real_evaluate_model = evaluation_run.evaluation.evaluate_model

    def recording_evaluate_model(model, x_test, **kwargs):
        calls.append((len(x_test), kwargs))
        return real_evaluate_model(model, x_test, **kwargs)

    monkeypatch.setattr(evaluation_run.evaluation, "evaluate_model", recording_evaluate_model)

    def run(evaluation: str) -> dict:
        out = tmp_path / evaluation
        arguments = ["train", str(recipe_file), "--out", str(out), "--steps", "3"]
        assert main([*arguments, "--evaluate", evaluation]) == 0
        preset = out / "tiny_tfds_vae"
        assert "smoke run" in (preset / "README.md").read_text()
        assert (preset / "reconstructions.png").is_file()  # the pictures are drawn all the same
        return json.loads((preset / "metadata.json").read_text())

    metadata = run("none")
    assert calls == [] and metadata["metrics"] == {}
    assert metadata["evaluation_mode"] == "none" and metadata["history"][-1]["step"] == 3

    metadata = run("quick")
    [(examples, arguments)] = calls
    assert examples == 200 and arguments["importance_samples"] == 10
    assert arguments["ground_truth_data"] is None
    assert metadata["evaluation_mode"] == "quick" and metadata["metrics"]["elbo.elbo"] < 0
    # The recipe recorded is the one trained, with its own evaluation.
    assert metadata["recipe"]["evaluation"]["test_examples"] == 300

    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        main(["train", str(recipe_file), "--evaluate", "fast"])
    assert refused.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_the_command_lines_evaluations_are_the_trainings():
    from keras_ae.cli import build_parser
    from keras_ae.zoo.evaluation_run import EVALUATIONS

    commands = next(a for a in build_parser()._actions if a.dest == "command")
    option = next(a for a in commands.choices["train"]._actions if a.dest == "evaluate")
    assert tuple(option.choices) == EVALUATIONS
    # No default in the parser, so that --candidate can refuse an --evaluate given explicitly;
    # command_train falls back to the full evaluation.
    assert option.default is None and "full" in EVALUATIONS and "(default)" in option.help


def test_a_new_two_stage_model_trains_from_a_recipe_with_no_edit_to_the_trainer(tmp_path):
    """A model class declares a second stage in its ``stages`` table alone; the trainer runs
    it, counts it, scores it on validation data and checkpoints it."""
    import keras
    import tensorflow as tf

    import keras_ae
    from keras_ae.models import registry
    from keras_ae.models.stages import Objective, Stage

    @registry.register_model(title="two-stage test model", loss_summary="test only")
    @keras.saving.register_keras_serializable(package="keras_ae")
    class TwoStageTestModel(keras_ae.Autoencoder):
        """An autoencoder, then a head that learns to predict each code's reconstruction
        error, trained in a second stage with the autoencoder frozen."""

        stages = (
            Stage("autoencoder"),
            Stage(
                "calibrate",
                fit_method="fit_calibration",
                evaluate_method="evaluate_calibration",
                counter="calibration_steps",
                objectives=(Objective("calibration_loss", "head_optimizer", "head"),),
                terms=("calibration_loss",),
                steps_field="prior_steps",
            ),
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.head = keras.Sequential([keras.Input((self.latent_dim,)), keras.layers.Dense(1)])
            self.head_optimizer = keras.optimizers.Adam(1e-2)
            self.calibration_steps = self.add_weight(
                shape=(), dtype="int64", initializer="zeros", trainable=False, name="calibration"
            )

        def loss_terms(self, x, training=False):
            if self.stage.name != "calibrate":
                return super().loss_terms(x, training)
            code = tf.stop_gradient(self.encoder(x, training=False))
            error = tf.stop_gradient(self.reconstruction_nll(x, self.decoder(code)))
            predicted = self.head(code, training=training)[:, 0]
            return {"calibration_loss": tf.reduce_mean(tf.square(predicted - error / 100.0))}

        def fit_calibration(self, x=None, y=None, *args, **kwargs):
            return self.fit_stage("calibrate", x, y, *args, **kwargs)

        def evaluate_calibration(self, x=None, y=None, *args, **kwargs):
            return self.evaluate_stage("calibrate", x, y, *args, **kwargs)

    try:
        recipe = yaml.safe_load(RECIPE.read_text())
        recipe["model"] = {
            "class": "TwoStageTestModel",
            "input_shape": [28, 28, 1],
            "latent_dim": 4,
            "hidden_units": [16],
        }
        recipe["training"].update(steps=4, prior_steps=4, checkpoint_every=2, steps_per_execution=1)
        recipe = recipes.Recipe.from_dict(recipe)
        model, state = fit_recipe(recipe, tmp_path, verbose=0)
        assert int(model.trained_steps.numpy()) == 4
        assert int(model.calibration_steps.numpy()) == 4
        steps = [entry.get("step", entry.get("calibrate_step")) for entry in state["history"]]
        assert steps == [2, 4, 2, 4]
        assert set(state["history"][-1]) == {
            "calibrate_step",
            "calibration_loss",
            "validation_calibration_loss",
        }
        assert state["stopping_step"].keys() == {"calibration_steps"}
        # The checkpoint resumes: asked for two more steps of the second stage, it trains them.
        longer = recipe.replace(training={"prior_steps": 6})
        resumed, _ = fit_recipe(longer, tmp_path, verbose=0)
        assert int(resumed.calibration_steps.numpy()) == 6
    finally:
        registry._REGISTRY.pop("TwoStageTestModel", None)
