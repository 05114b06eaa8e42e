"""Choosing a recipe's seed among several by a score on a separate ground-truth sample."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from keras_ae.zoo import recipes, seed_selection
from keras_ae.zoo.model_card import model_card
from keras_ae.zoo.train import fit_recipe

RECIPE = Path(__file__).parent / "data" / "tiny_recipe.yaml"
SELECTION = {"seeds": [0, 1, 2], "steps": 10, "metric": "mig.discrete_mig", "sample_seed": 1}


def _same_weights(ours, theirs) -> bool:
    return all(np.allclose(a, b, atol=1e-6) for a, b in zip(ours, theirs, strict=True))


def _recipe(**selection) -> dict:
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["data"].pop("validation_split")
    recipe["training"].update(steps=20, checkpoint_every=10)
    recipe["evaluation"]["ground_truth"] = True
    recipe["selection"] = {**SELECTION, **selection}
    return recipe


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": [3]}, "at least two different integers"),
        ({"seeds": [1, 1]}, "at least two different integers"),
        ({"steps": 20}, "fewer than training.steps"),
        ({"sample_seed": 0}, "other than 0"),
        ({"metric": "mig"}, "'<metric>.<score>'"),
        ({"metric": "fid.score"}, "'<metric>.<score>'"),
        ({"seed": 4}, "unknown selection field"),
    ],
)
def test_a_selection_section_is_checked(change, message):
    with pytest.raises(recipes.RecipeError, match=message):
        recipes.Recipe.from_dict(_recipe(**change))


def test_a_selection_needs_ground_truth_factors():
    recipe = _recipe()
    recipe["evaluation"]["ground_truth"] = False
    with pytest.raises(recipes.RecipeError, match="evaluation.ground_truth: true"):
        recipes.Recipe.from_dict(recipe)


def test_the_best_seed_trains_on_from_its_own_checkpoint_and_every_score_is_kept(
    tmp_path, monkeypatch
):
    recipe = recipes.Recipe.from_dict(_recipe())
    assert recipes.Recipe.from_dict(recipe.to_dict()) == recipe
    scores = {0: 0.1, 1: 0.5, 2: 0.3}
    scored = []

    def score(model, recipe_scored, ground_truth=None):
        # Which candidate this is, from the seed its checkpoint was trained with.
        seed = int(np.argmax([_same_weights(model.get_weights(), w) for w in weights]))
        scored.append(seed)
        return scores[seed]

    # Each candidate's weights after its 10 steps, trained alone, identify it.
    weights = []
    for seed in (0, 1, 2):
        candidate = seed_selection.candidate_recipe(recipe, seed)
        model, _ = fit_recipe(candidate, tmp_path / f"alone{seed}", verbose=0)
        weights.append(model.get_weights())
    monkeypatch.setattr(seed_selection, "score_model", score)

    model, state = fit_recipe(recipe, tmp_path / "run", verbose=0)
    assert scored == [0, 1, 2]
    assert state["seed"] == 1 and state["seed_selection"]["chosen"] == 1
    assert [c["score"] for c in state["seed_selection"]["candidates"]] == [0.1, 0.5, 0.3]
    assert int(model.trained_steps.numpy()) == 20
    # The run went on from seed 1's candidate: its first checkpoint is the candidate's.
    candidate_state = json.loads(
        (tmp_path / "run/checkpoints/tiny_vae.seed1/state.json").read_text()
    )
    assert state["history"][0] == candidate_state["history"][0]
    assert [entry["step"] for entry in state["history"]] == [10, 20]
    # The same seed, trained 20 steps in one go, gives the same weights.
    alone, _ = fit_recipe(recipe.replace(training={"seed": 1}, selection=None), tmp_path / "one")
    for ours, reference in zip(model.get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)

    # Run again: nothing is retrained or rescored.
    model, state = fit_recipe(recipe, tmp_path / "run", verbose=0)
    assert scored == [0, 1, 2] and state["seed"] == 1

    # A different selection must not reuse these candidates' scores.
    other = recipes.Recipe.from_dict(_recipe(sample_seed=2))
    with pytest.raises(recipes.RecipeError, match="another recipe or selection section"):
        fit_recipe(other, tmp_path / "run", verbose=0)

    card = model_card(
        {
            "name": "tiny_vae",
            "class_name": "VAE",
            "parameter_count": 1,
            "keras_ae_version": "0",
            "keras_version": "3",
            "weights_sha256": "0",
            "seed": state["seed"],
            "seed_selection": state["seed_selection"],
        },
        "tiny_vae",
    )
    assert "## How the seed was chosen" in card and "| 1 | 0.5 | chosen |" in card


def test_a_run_killed_between_candidates_resumes_the_selection(tmp_path, monkeypatch):
    recipe = recipes.Recipe.from_dict(_recipe(seeds=[0, 1]))
    calls = []

    def score(model, recipe_scored, ground_truth=None):
        calls.append(len(calls))
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed while scoring the second candidate
        return 0.2

    monkeypatch.setattr(seed_selection, "score_model", score)
    with pytest.raises(KeyboardInterrupt):
        fit_recipe(recipe, tmp_path, verbose=0)
    record = json.loads((tmp_path / "checkpoints/tiny_vae.selection.json").read_text())
    assert [c["seed"] for c in record["candidates"]] == [0]
    assert not (tmp_path / "checkpoints/tiny_vae").exists()
    monkeypatch.setattr(seed_selection, "score_model", lambda *args, **kwargs: 0.7)
    model, state = fit_recipe(recipe, tmp_path, verbose=0)
    # Seed 1's 10 steps were kept; it was scored once more and chosen.
    assert state["seed"] == 1 and int(model.trained_steps.numpy()) == 20


def test_candidates_are_scored_on_the_selection_sample(tiny_factors):
    recipe = recipes.Recipe.from_dict(_recipe())

    class Decoding:
        # One latent per factor: the index of its one-hot block's hot pixel.
        def encode(self, x):
            return np.stack([x[:, :4].argmax(1), x[:, 4:].argmax(1)], axis=1)

    class Mixing:
        def encode(self, x):
            codes = Decoding().encode(x)
            return np.stack([codes.sum(1), codes.sum(1)], axis=1)

    assert seed_selection.score_model(Decoding(), recipe, ground_truth=tiny_factors) > 0.9
    assert seed_selection.score_model(Mixing(), recipe, ground_truth=tiny_factors) < 0.1


def test_candidates_trained_in_processes_of_their_own_are_scored_not_retrained(
    tmp_path, monkeypatch, capsys
):
    from keras_ae import cli

    recipe = recipes.Recipe.from_dict(_recipe(seeds=[0, 1]))
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe.to_dict()))
    out = tmp_path / "run"
    # As `keras-ae train RECIPE --candidate SEED` would run in two processes at once.
    for seed in (0, 1):
        assert (
            cli.main(["train", str(recipe_file), "--out", str(out), "--candidate", str(seed)]) == 0
        )
    assert "scores them and trains the best one on" in capsys.readouterr().out
    candidates = [
        json.loads((out / f"checkpoints/tiny_vae.seed{seed}/state.json").read_text())
        for seed in (0, 1)
    ]
    assert [c["trained_steps"] for c in candidates] == [10, 10]
    assert not (out / "checkpoints/tiny_vae.selection.json").exists()

    trained = []
    original_fit = seed_selection.train_candidate

    def train_candidate(*args, **kwargs):
        model, state = original_fit(*args, **kwargs)
        trained.append(state["wall_time_seconds"])
        return model, state

    monkeypatch.setattr(seed_selection, "train_candidate", train_candidate)
    monkeypatch.setattr(seed_selection, "score_model", lambda model, *a, **k: 0.4)
    model, state = fit_recipe(recipe, out, verbose=0)
    # Both were scored; neither trained another step (their wall times stayed as they were).
    assert trained == [c["wall_time_seconds"] for c in candidates]
    assert [c["seed"] for c in state["seed_selection"]["candidates"]] == [0, 1]
    assert state["seed"] == 0 and int(model.trained_steps.numpy()) == 20


def test_a_candidate_outside_the_selection_is_refused(tmp_path, capsys):
    from keras_ae import cli

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(_recipe(seeds=[0, 1])))
    code = cli.main(["train", str(recipe_file), "--out", str(tmp_path), "--candidate", "7"])
    assert code == cli.USER_ERROR_EXIT
    assert "seed 7 is not a candidate; the selection's seeds are [0, 1]" in capsys.readouterr().err
    plain = _recipe()
    plain.pop("selection")
    recipe_file.write_text(yaml.safe_dump(plain))
    code = cli.main(["train", str(recipe_file), "--out", str(tmp_path), "--candidate", "0"])
    assert code == cli.USER_ERROR_EXIT
    assert "has no selection section" in capsys.readouterr().err
    assert not (tmp_path / "checkpoints").exists()


def test_a_candidate_refuses_an_evaluation_it_would_not_run(tmp_path, capsys):
    from keras_ae import cli

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(_recipe(seeds=[0, 1])))
    arguments = ["train", str(recipe_file), "--out", str(tmp_path), "--candidate", "0"]
    assert cli.main([*arguments, "--evaluate", "quick"]) == cli.USER_ERROR_EXIT
    assert "--evaluate has no effect with --candidate" in capsys.readouterr().err
    assert not (tmp_path / "checkpoints").exists()
