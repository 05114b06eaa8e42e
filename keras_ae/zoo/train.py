"""Recipe -> fit -> evaluate -> preset: how every pretrained preset is made.

``train(recipe, out_dir)`` trains in chunks of ``checkpoint_every`` optimizer steps and saves a
checkpoint in ``out_dir/checkpoints/<name>`` (the model with its optimizer state, and the run's
bookkeeping) after each, so a rerun with the same output directory resumes where the last one
stopped. Each chunk draws its batches from a pipeline seeded with the recipe's seed and the
chunk's index, so a resumed run sees the same data as an uninterrupted one. When all steps are
done it evaluates the model on held-out data, draws its pictures and writes the preset to
``out_dir/<name>``."""

import json
import math
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from keras_ae import datasets
from keras_ae.zoo import presets, recipes

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_MODEL = "model.keras"
CHECKPOINT_STATE = "state.json"


class _Progress(keras.callbacks.Callback):
    """One progress bar over the whole run, across chunks and resumes."""

    def __init__(self, total_steps: int, done: int, verbose: int):
        super().__init__()
        self.bar = keras.utils.Progbar(total_steps, verbose=verbose, unit_name="step")
        self.done = done

    def on_train_batch_end(self, batch, logs=None):
        values = [(key, float(value)) for key, value in (logs or {}).items()]
        self.bar.update(self.done + batch + 1, values=values, finalize=False)

    def on_train_end(self, logs=None):
        self.done = int(self.model.trained_steps.numpy())


def _training_data(recipe: dict, seed: int):
    data = recipe["data"]
    pipeline = datasets.load(
        data["name"],
        split=data["train_split"],
        as_dataset=True,
        batch_size=recipe["training"]["batch_size"],
        shuffle=True,
        seed=seed,
        binarize=data["binarize"],
        **data["options"],
    )
    shift = data["augment"].get("shift", 0)
    if not shift:
        return pipeline
    # Random translations by up to `shift` pixels: with a few thousand images (mnist_5k) they
    # are what keeps the deep models from memorising the training set. Nearest-pixel sampling
    # keeps binary data binary.
    height, width = pipeline.element_spec.shape[1:3]
    translate = keras.layers.RandomTranslation(
        shift / height, shift / width, fill_mode="constant", interpolation="nearest", seed=seed
    )
    return pipeline.map(lambda x: translate(x, training=True), num_parallel_calls=2)


def total_steps(recipe: dict) -> int:
    """The optimizer steps the recipe asks for (``epochs`` converted with the split's size)."""
    training = recipe["training"]
    if "steps" in training:
        return int(training["steps"])
    steps_per_epoch = int(_training_data(recipe, 0).cardinality())
    if steps_per_epoch < 1:
        raise recipes.RecipeError("The training split's size is unknown; give training.steps.")
    return int(training["epochs"]) * steps_per_epoch


def with_overrides(
    recipe: dict, steps: int | None = None, epochs: int | None = None, dataset: str | None = None
) -> dict:
    """A copy of ``recipe`` with the command line's ``--steps``/``--epochs``/``--dataset``."""
    recipe = json.loads(json.dumps(recipe))
    if steps is not None and epochs is not None:
        raise recipes.RecipeError("Give at most one of steps and epochs.")
    if steps is not None or epochs is not None:
        recipe["training"].pop("steps", None)
        recipe["training"].pop("epochs", None)
        recipe["training"]["steps" if steps is not None else "epochs"] = steps or epochs
    if dataset is not None:
        if dataset not in datasets.DATASETS:
            raise recipes.RecipeError(
                f"Unknown dataset {dataset!r}; expected one of {list(datasets.DATASETS)}."
            )
        recipe["data"]["name"] = dataset
    return recipes.validate(recipe)


def _atomic_save(model, state: dict, checkpoint: Path) -> None:
    checkpoint.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=checkpoint) as staging:
        model.save(Path(staging) / CHECKPOINT_MODEL)
        (Path(staging) / CHECKPOINT_STATE).write_text(json.dumps(state, indent=2))
        # The model first: a state file never describes a model that is not on disk.
        os.replace(Path(staging) / CHECKPOINT_MODEL, checkpoint / CHECKPOINT_MODEL)
        os.replace(Path(staging) / CHECKPOINT_STATE, checkpoint / CHECKPOINT_STATE)


def _resume(recipe: dict, checkpoint: Path):
    state_file = checkpoint / CHECKPOINT_STATE
    if not state_file.is_file():
        # The initial weights come from Keras' global seed: seeded, a recipe is reproducible.
        keras.utils.set_random_seed(int(recipe["training"]["seed"]))
        return recipes.build_model(recipe), {"wall_time_seconds": 0.0, "history": []}
    state = json.loads(state_file.read_text())
    if state["fingerprint"] != recipes.fingerprint(recipe):
        raise recipes.RecipeError(
            f"The checkpoint in {checkpoint} was made from a different recipe; use another "
            "--out directory, or delete the checkpoint to start afresh."
        )
    model = keras.saving.load_model(checkpoint / CHECKPOINT_MODEL)
    if int(model.trained_steps.numpy()) != state["trained_steps"]:
        raise recipes.RecipeError(f"The checkpoint in {checkpoint} is inconsistent; delete it.")
    return model, state


def set_steps_per_execution(model, steps: int) -> None:
    """Makes ``model.fit`` run ``steps`` optimizer steps per compiled call (retraced only if
    that changes)."""
    # Several steps per compiled call save Keras' per-call overhead (a few percent for the
    # conv64 models, see benchmarks/training_bench.py), but Keras rounds an epoch up to whole
    # calls, so the count must divide the chunk's steps.
    if model.steps_per_execution != steps:
        model.steps_per_execution = steps
        model.make_train_function(force=True)


def fit_recipe(recipe: dict, out_dir: str | os.PathLike, verbose: int = 1):
    """Trains (or resumes training) to the recipe's step count, checkpointing under
    ``out_dir/checkpoints/<name>``. Returns the model and the run's state (history, wall
    time)."""
    checkpoint = Path(out_dir) / CHECKPOINT_DIR / recipe["name"]
    model, state = _resume(recipe, checkpoint)
    target = total_steps(recipe)
    done = int(model.trained_steps.numpy())
    if done > target:
        raise recipes.RecipeError(
            f"The checkpoint in {checkpoint} has {done} steps, more than the {target} asked for."
        )
    seed = int(recipe["training"]["seed"])
    chunk = int(recipe["training"]["checkpoint_every"])
    per_execution = int(recipe["training"]["steps_per_execution"])
    progress = _Progress(target, done, verbose)
    while done < target:
        keras.utils.set_random_seed(seed + done)
        steps = min(chunk, target - done)
        set_steps_per_execution(model, math.gcd(steps, per_execution))
        started = time.perf_counter()
        data = _training_data(recipe, seed + done // chunk).repeat()
        history = model.fit(
            data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0, callbacks=[progress]
        )
        done = int(model.trained_steps.numpy())
        state["wall_time_seconds"] += time.perf_counter() - started
        state["history"].append(
            {"step": done, **{key: float(values[-1]) for key, values in history.history.items()}}
        )
        state.update(fingerprint=recipes.fingerprint(recipe), trained_steps=done)
        _atomic_save(model, state, checkpoint)
    if verbose:
        progress.bar.update(done, finalize=True)
    return model, state


def held_out_data(recipe: dict) -> dict:
    """The evaluation data: test images (and labels), training images for PCA and probes, and
    the ground truth for dSprites."""
    data, evaluation = recipe["data"], recipe["evaluation"]
    name, n = data["name"], int(evaluation["test_examples"])
    binarize = "static" if data["binarize"] else None
    load = dict(binarize=binarize, seed=0, **data["options"])
    if evaluation["ground_truth"]:
        ground_truth = datasets.DSprites(verbose=False, **data["options"])
        factors = ground_truth.sample_factors(n, np.random.RandomState(0))
        x_test = ground_truth.sample_observations_from_factors(factors, np.random.RandomState(0))
        return {"x_test": x_test, "ground_truth_data": ground_truth}
    if not evaluation["probes"]:
        return {"x_test": datasets.load(name, data["test_split"], num_examples=n, **load)}
    x_test, y_test = datasets.load(
        name, data["test_split"], num_examples=n, with_labels=True, **load
    )
    x_train, y_train = datasets.load(name, data["train_split"], with_labels=True, **load)
    # Probes and PCA fit on at most 5n training images, a seeded subset.
    keep = np.random.RandomState(0).permutation(len(x_train))[: 5 * n]
    x_train, y_train = x_train[keep], y_train[keep]
    return {"x_test": x_test, "y_test": y_test, "x_train": x_train, "y_train": y_train}


def evaluation_recipe(
    recipe: dict | None, dataset: str | None = None, examples: int | None = None
) -> dict:
    """The recipe to evaluate a preset with: its training recipe, or, for a preset without one,
    a bare recipe for ``dataset``; ``dataset`` and ``examples`` override the held-out data."""
    if recipe is None:
        if dataset is None:
            raise recipes.RecipeError(
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
    recipe = json.loads(json.dumps(recipe))
    if examples is not None:
        recipe["evaluation"]["test_examples"] = int(examples)
    if dataset is not None and dataset != recipe["data"]["name"]:
        recipe = with_overrides(recipe, dataset=dataset)
        recipe["evaluation"]["ground_truth"] = dataset == "dsprites"
    return recipes.validate(recipe)


def draw_pictures(model, recipe: dict, held_out: dict, directory: Path) -> dict[str, Path]:
    """The recipe's pictures of ``model`` as files in ``directory``: ``{file name: path}``."""
    from keras_ae import plotting

    x = held_out["x_test"]
    shown = plotting.spread_of_examples(x)
    is_vae = hasattr(model, "posterior")
    drawn = {}

    def path(name: str) -> Path:
        drawn[name] = directory / name
        return drawn[name]

    for picture in recipe["pictures"]:
        if picture == "reconstructions":
            plotting.reconstruction_grid(model, shown, path=path("reconstructions.png"))
        elif picture == "traversal":
            reference = x
            plotting.latent_traversal(
                model, shown[0], reference=reference, path=path("traversal.png")
            )
            plotting.traversal_gif(model, shown[0], path("traversal.gif"), reference=reference)
        elif picture == "samples" and is_vae:
            plotting.sample_grid(model, path=path("samples.png"))
        elif picture == "filters":
            plotting.encoder_filters(model, path=path("filters.png"))
        elif picture == "kl" and is_vae:
            plotting.kl_bar_chart(plotting.kl_per_latent(model, x[:1000]), path=path("kl.png"))
        elif picture == "latent_map" and "y_test" in held_out:
            codes = model.encode(x)
            plotting.latent_scatter(codes, held_out["y_test"], path=path("latent_map.png"))
    return drawn


def evaluate(model, recipe: dict, held_out: dict | None = None, verbose: bool = True) -> dict:
    """The recipe's evaluation of ``model`` on its held-out data (keras_ae.evaluation)."""
    from keras_ae import evaluation

    held_out = held_out or held_out_data(recipe)
    metrics = evaluation.evaluate_model(
        model,
        held_out["x_test"],
        x_train=held_out.get("x_train"),
        y_train=held_out.get("y_train"),
        y_test=held_out.get("y_test"),
        ground_truth_data=held_out.get("ground_truth_data"),
        importance_samples=int(recipe["evaluation"]["importance_samples"]),
        random_state=0,
        verbose=False,
    )
    corruption = recipe["evaluation"].get("corruption")
    if corruption:
        errors = evaluation.corrupted_reconstruction_errors(
            model, held_out["x_test"], corruption["kind"], corruption["level"], seed=0
        )
        metrics.update({f"corrupted_input.{key}": value for key, value in errors.items()})
    if verbose:
        print(evaluation.format_table(metrics, title=f"{recipe['name']} ({type(model).__name__})"))
    return metrics


def train(
    recipe: dict | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    dataset: str | None = None,
    verbose: int = 1,
) -> Path:
    """Trains a recipe (resuming from ``out_dir``'s checkpoint), evaluates the model, draws its
    pictures, and writes the preset ``out_dir/<name>``; returns the preset's path."""
    if not isinstance(recipe, dict):
        recipe = recipes.load_recipe(recipe)
    recipe = with_overrides(recipes.validate(recipe), steps, epochs, dataset)
    out_dir = Path(out_dir)
    model, state = fit_recipe(recipe, out_dir, verbose=verbose)
    held_out = held_out_data(recipe)
    metrics = evaluate(model, recipe, held_out, verbose=bool(verbose))
    with tempfile.TemporaryDirectory() as scratch:
        pictures = draw_pictures(model, recipe, held_out, Path(scratch))
        data = recipe["data"]
        metadata = {
            "name": recipe["name"],
            "description": recipe["description"],
            "recipe": recipe,
            "dataset": {"name": data["name"], "split": data["train_split"]},
            "evaluation_split": data["test_split"],
            "seed": recipe["training"]["seed"],
            "wall_time_seconds": round(state["wall_time_seconds"], 1),
            "history": state["history"],
            "metrics": metrics,
        }
        return presets.save_preset(
            model, out_dir / recipe["name"], metadata, pictures=pictures, overwrite=True
        )
