"""Choosing a recipe's training seed honestly: each candidate seed trains briefly, each is scored
on a ground-truth sample of its own (never the sample the card's figures are measured on), and
the best one trains on from its own checkpoint.

Candidates can also train in processes of their own, at the same time (``keras-ae train RECIPE
--candidate SEED``, one per core); the run that follows scores them and trains on.

A recipe's ``selection`` section (``keras_ae.zoo.recipes.SelectionSpec``) asks for it. Under
``out_dir/checkpoints``, candidate ``k`` trains in ``<name>.seed<k>/`` and every finished score
goes into ``<name>.selection.json`` at once, so a killed run resumes without retraining or
rescoring a candidate; the chosen candidate's checkpoint is copied to ``<name>/``, the run's own.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from keras_ae.zoo.recipes import Recipe, RecipeError

SELECTION_RECORD = "{name}.selection.json"
CANDIDATE_CHECKPOINT = "{name}.seed{seed}"


def candidate_recipe(recipe: Recipe, seed: int) -> Recipe:
    """The recipe that candidate ``seed`` trains: the recipe with that seed, for the selection's
    steps, with no selection of its own."""
    return recipe.replace(
        training={"seed": int(seed), "steps": recipe.selection.steps, "epochs": None},
        selection=None,
    )


def train_candidate(recipe: Recipe, out_dir: str | os.PathLike, seed: int, verbose: int = 1):
    """Trains (or resumes) candidate ``seed`` of the recipe's selection in its own checkpoint,
    without scoring it; returns the model and its run's state. Candidates trained this way in
    separate processes are not trained again by ``select_seed``, only scored."""
    from keras_ae.zoo.train import CHECKPOINT_DIR, fit_recipe

    if recipe.selection is None:
        raise RecipeError(f"{recipe.name}: the recipe has no selection section, so no candidates.")
    if seed not in recipe.selection.seeds:
        raise RecipeError(
            f"{recipe.name}: seed {seed} is not a candidate; the selection's seeds are "
            f"{list(recipe.selection.seeds)}."
        )
    candidate = candidate_recipe(recipe, seed)
    if verbose:
        print(f"{recipe.name}: candidate seed {seed}, {candidate.training.steps} steps")
    directory = (
        Path(out_dir) / CHECKPOINT_DIR / CANDIDATE_CHECKPOINT.format(name=recipe.name, seed=seed)
    )
    return fit_recipe(candidate, out_dir, verbose=verbose, checkpoint=directory)


def score_model(model, recipe: Recipe, ground_truth=None) -> float:
    """The selection metric of ``model`` on a sample of ``ground_truth`` (default: dSprites)
    drawn with the selection's ``sample_seed``."""
    from keras_ae import datasets
    from keras_ae.evaluation.disentanglement import METRICS, FactorRepresentation

    metric = recipe.selection.metric
    prefix, _, key = metric.partition(".")
    if ground_truth is None:
        ground_truth = datasets.DSprites(verbose=False, **recipe.data.options)
    represent = FactorRepresentation(ground_truth, model.encode)
    scores = METRICS[prefix](
        ground_truth, represent, np.random.RandomState(recipe.selection.sample_seed)
    )
    if key not in scores:
        raise RecipeError(
            f"{recipe.name}: selection.metric {metric!r}: {prefix} gives "
            f"{sorted(f'{prefix}.{name}' for name in scores)}."
        )
    return float(scores[key])


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as file:
        file.write(text)
    os.replace(file.name, path)


def _read_record(path: Path, recipe: Recipe) -> dict:
    """The selection so far, or a new one; refuses a record made for another selection or
    recipe, which must not be mixed with this one's candidates."""
    selection = {
        "metric": recipe.selection.metric,
        "sample_seed": recipe.selection.sample_seed,
        "steps": recipe.selection.steps,
        "seeds": list(recipe.selection.seeds),
        "fingerprint": recipe.replace(training={"seed": 0}).fingerprint(),
        "candidates": [],
    }
    if not path.is_file():
        return selection
    record = json.loads(path.read_text())
    settings = [key for key in selection if key != "candidates"]
    if any(record.get(key) != selection[key] for key in settings):
        raise RecipeError(
            f"{path} records a seed selection for another recipe or selection section; use "
            "another --out directory, or delete it (and its candidates' checkpoints) to start "
            "the selection afresh."
        )
    return record


def select_seed(recipe: Recipe, out_dir: str | os.PathLike, verbose: int = 1) -> tuple[int, dict]:
    """Trains and scores every candidate seed not yet scored, copies the best one's checkpoint
    to the run's own and returns ``(chosen seed, the record)``. The record (saved in the
    preset's metadata as ``seed_selection``) lists every candidate's score."""
    from keras_ae.zoo.train import CHECKPOINT_DIR

    checkpoints = Path(out_dir) / CHECKPOINT_DIR
    checkpoints.mkdir(parents=True, exist_ok=True)
    record_path = checkpoints / SELECTION_RECORD.format(name=recipe.name)
    record = _read_record(record_path, recipe)
    scored = {candidate["seed"] for candidate in record["candidates"]}
    for seed in recipe.selection.seeds:
        if seed in scored:
            continue
        model, state = train_candidate(recipe, out_dir, seed, verbose=verbose)
        score = score_model(model, recipe)
        if verbose:
            print(f"{recipe.name}: seed {seed} scores {recipe.selection.metric} = {score:.4f}")
        wall_time = round(state["wall_time_seconds"], 1)
        record["candidates"].append({"seed": seed, "score": score, "wall_time_seconds": wall_time})
        _write_atomically(record_path, json.dumps(record, indent=2))
    # The highest score; a tie goes to the seed listed first.
    order = {seed: index for index, seed in enumerate(recipe.selection.seeds)}
    best = max(record["candidates"], key=lambda item: (item["score"], -order[item["seed"]]))
    record["chosen"] = best["seed"]
    _write_atomically(record_path, json.dumps(record, indent=2))
    run_checkpoint = checkpoints / recipe.name
    if not run_checkpoint.exists():
        source = checkpoints / CANDIDATE_CHECKPOINT.format(name=recipe.name, seed=best["seed"])
        # Copied aside and renamed into place: a kill mid-copy leaves no partial checkpoint
        # that would pass for the run's own.
        staging = Path(tempfile.mkdtemp(dir=checkpoints, prefix=f".{recipe.name}."))
        shutil.copytree(source, staging / "copy")
        os.replace(staging / "copy", run_checkpoint)
        staging.rmdir()
    return best["seed"], {key: value for key, value in record.items() if key != "fingerprint"}
