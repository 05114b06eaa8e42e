"""Recipe -> fit -> evaluate -> preset: how every pretrained preset is made.

``train(recipe, out_dir)`` trains in chunks of ``checkpoint_every`` optimizer steps and saves a
checkpoint in ``out_dir/checkpoints/<name>`` (the model with its optimizer state, and the run's
bookkeeping) after each, so a rerun with the same output directory resumes where the last one
stopped. Each chunk draws its batches from a pipeline seeded with the recipe's seed and the
chunk's index, so a resumed run sees the same data as an uninterrupted one.

With ``data.validation_split``, each checkpoint also scores the stage's objective on that split
(carved from the training images, never the test set) and keeps the best-scoring weights; the
last stage's best weights become the preset, so the stopping step is chosen on validation data.
When all steps are done it evaluates the model on its evaluation data (held-out test images;
for dSprites, samples of the training images), draws its pictures and writes the preset to
``out_dir/<name>``."""

import dataclasses
import json
import math
import os
import tempfile
import time
from pathlib import Path

import keras

from keras_ae import datasets
from keras_ae.divergence import DivergenceError
from keras_ae.evaluation.likelihood import kl_per_latent
from keras_ae.models.registry import model_info
from keras_ae.models.stages import Stage
from keras_ae.zoo import preset_directory
from keras_ae.zoo.evaluation_run import EVALUATIONS, evaluate, quick_recipe
from keras_ae.zoo.held_out import held_out_data
from keras_ae.zoo.pictures import draw_pictures
from keras_ae.zoo.recipes import (
    FINGERPRINT_VERSION,
    Recipe,
    RecipeError,
    evaluation_data,
    load_recipe,
)

CHECKPOINT_DIR = "checkpoints"
#: Test inputs saved with each preset, with the trained model's outputs (preset's golden.npz).
GOLDEN_EXAMPLES = 8
CHECKPOINT_STATE = "state.json"
# Checkpoints written before the state named its model file hold this one.
_LEGACY_MODEL = "model.keras"
#: Training images (a seed-0 subset of the training split) on which every checkpoint of a model with
#: a posterior records its KL per latent, so a preset's history shows when each latent switched
#: on (Burgess et al.'s picture for the capacity VAE).
KL_PROBE_EXAMPLES = 1024


class TrainingDivergedError(RecipeError, DivergenceError):
    """The loss or a weight became NaN or infinite (``fit``'s ``DivergenceError``); the last
    checkpoint, from before, is kept."""


class _Progress(keras.callbacks.Callback):
    """One progress bar over the whole run, across chunks and resumes."""

    def __init__(self, stage: "_Stage", done: int, verbose: int):
        super().__init__()
        self.stage = stage
        self.bar = keras.utils.Progbar(stage.target, verbose=verbose, unit_name="step")
        self.done = done

    def on_train_batch_end(self, batch, logs=None):
        values = [(key, float(value)) for key, value in (logs or {}).items()]
        self.bar.update(self.done + batch + 1, values=values, finalize=False)

    def on_train_end(self, logs=None):
        self.done = self.stage.done(self.model)


@dataclasses.dataclass(frozen=True)
class _Stage:
    """One stage of the model's ``stages`` table, with the steps the recipe asks of it."""

    stage: Stage
    target: int
    # Offsets the stage's seeds, so that a later stage's chunks do not reuse the first's.
    seed_offset: int = 0

    def __getattr__(self, name):
        # name, fit_method, evaluate_method, counter, objective, step_key: the table's.
        return getattr(self.stage, name)

    def done(self, model) -> int:
        return int(getattr(model, self.stage.counter).numpy())


def _stages(recipe: "Recipe", model, target: int) -> list[_Stage]:
    """The model's stages that the recipe gives steps: the first ``target``, each later one
    its ``training`` field's (none when the field is not set)."""
    stages = [_Stage(model.stages[0], target)]
    for stage in model.stages[1:]:
        steps = getattr(recipe.training, stage.steps_field)
        if steps:
            stages.append(_Stage(stage, steps, seed_offset=target))
    return stages


def _training_data(recipe: Recipe, seed: int):
    data = recipe.data
    pipeline = datasets.load(
        data.name,
        split=data.train_split,
        as_dataset=True,
        batch_size=recipe.training.batch_size,
        shuffle=True,
        seed=seed,
        binarize=data.binarize,
        **data.options,
    )
    check_image_shape(recipe, tuple(pipeline.element_spec.shape[1:]))
    shift = data.augment.get("shift", 0)
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


def _validation_images(recipe: Recipe):
    """The validation split as numpy images, binarised once (seed 0) for binary models."""
    data = recipe.data
    binarize = "static" if data.binarize else None
    return datasets.load(data.name, data.validation_split, binarize=binarize, **data.options)


def _kl_probe_images(recipe: Recipe, model, stage: "_Stage", first_stage: str):
    """The fixed training images of the per-latent KL record, or None when there is nothing to
    record: the model has no posterior, or the stage is not its first (the one that trains the
    posterior), or that stage has no steps left."""
    if stage.name != first_stage or not model_info(model).has_posterior:
        return None
    if stage.done(model) >= stage.target:
        return None
    data = recipe.data
    binarize = "static" if data.binarize else None
    # A seeded numpy subset, not the shuffled pipeline: the same images after a resume.
    return datasets.load(
        data.name,
        data.train_split,
        num_examples=KL_PROBE_EXAMPLES,
        seed=0,
        binarize=binarize,
        **data.options,
    )


def _best_file(stage: "_Stage", step: int) -> str:
    return f"best-{stage.name}-{step}.weights.h5"


def _score_validation(model, recipe: Recipe, stage: "_Stage", images, state: dict, checkpoint):
    """Scores the stage's objective on the validation images, records it in the last history
    entry and, when it is the best so far, saves the weights as that stage's best."""
    scores = getattr(model, stage.evaluate_method)(
        images, batch_size=recipe.training.batch_size, verbose=0, return_dict=True
    )
    value = float(scores[stage.objective])
    step = stage.done(model)
    state["history"][-1][f"validation_{stage.objective}"] = value
    best = state.setdefault("best", {}).get(stage.name)
    if best is not None and not value < best["value"]:
        return None
    name = _best_file(stage, step)
    checkpoint.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=checkpoint) as staging:
        model.save_weights(Path(staging) / name)
        os.replace(Path(staging) / name, checkpoint / name)
    state["best"][stage.name] = {"step": step, "value": value, "file": name}
    return best


def check_image_shape(recipe: Recipe, image_shape: tuple) -> None:
    """Raises ``RecipeError`` when the dataset's images are not the model's input shape."""
    expected = recipe.model_arguments.get("input_shape")
    if expected is None or tuple(image_shape) == tuple(expected):
        return
    raise RecipeError(
        f"{recipe.name}: data {recipe.data.name!r} gives images of shape {tuple(image_shape)}, "
        f"but the model expects model.input_shape {list(expected)}. Set model.input_shape to "
        f"{list(image_shape)}, or choose a dataset of {tuple(expected)} images."
    )


def total_steps(recipe: Recipe) -> int:
    """The optimizer steps the recipe asks for (``epochs`` converted with the split's size)."""
    if recipe.training.steps is not None:
        return recipe.training.steps
    steps_per_epoch = int(_training_data(recipe, 0).cardinality())
    if steps_per_epoch < 1:
        raise RecipeError("The training split's size is unknown; give training.steps.")
    return recipe.training.epochs * steps_per_epoch


def with_overrides(
    recipe: Recipe, steps: int | None = None, epochs: int | None = None, dataset: str | None = None
) -> Recipe:
    """``recipe`` with the command line's ``--steps``/``--epochs``/``--dataset``."""
    if steps is not None and epochs is not None:
        raise RecipeError("Give at most one of steps and epochs.")
    for name, value in (("steps", steps), ("epochs", epochs)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise RecipeError(f"{name} must be a positive integer, got {value!r}.")
    if steps is not None or epochs is not None:
        recipe = recipe.replace(training={"steps": steps, "epochs": epochs})
    return recipe if dataset is None else recipe.with_dataset(dataset)


def _model_file(state: dict) -> str:
    return state.get("model_file", _LEGACY_MODEL)


def _atomic_save(model, state: dict, checkpoint: Path) -> None:
    """Writes ``model`` under a new name, then ``state.json`` naming it (one atomic rename),
    then deletes the model it replaces. A kill at any point leaves a ``state.json`` that names
    a whole model of the same step: the old pair or the new one, never a mix."""
    checkpoint.mkdir(parents=True, exist_ok=True)
    old_model = _model_file(state)
    # One history entry per checkpoint, so the count names each checkpoint's model uniquely.
    state["model_file"] = f"model-{len(state['history'])}.keras"
    with tempfile.TemporaryDirectory(dir=checkpoint) as staging:
        model.save(Path(staging) / state["model_file"])
        (Path(staging) / CHECKPOINT_STATE).write_text(json.dumps(state, indent=2))
        os.replace(Path(staging) / state["model_file"], checkpoint / state["model_file"])
        os.replace(Path(staging) / CHECKPOINT_STATE, checkpoint / CHECKPOINT_STATE)
    if old_model != state["model_file"]:
        (checkpoint / old_model).unlink(missing_ok=True)


def _remove_strays(checkpoint: Path, state: dict) -> None:
    # A run killed between writing a model (or best weights) and naming it in state.json leaves
    # that file behind; nothing names it, so it goes.
    named = {_model_file(state), *(best["file"] for best in state.get("best", {}).values())}
    for path in [*checkpoint.glob("model*.keras"), *checkpoint.glob("best-*.weights.h5")]:
        if path.name not in named:
            path.unlink(missing_ok=True)


def _resume(recipe: Recipe, checkpoint: Path):
    state_file = checkpoint / CHECKPOINT_STATE
    if not state_file.is_file():
        # The initial weights come from Keras' global seed: seeded, a recipe is reproducible.
        keras.utils.set_random_seed(recipe.training.seed)
        return recipe.build_model(), {"wall_time_seconds": 0.0, "history": []}
    state = json.loads(state_file.read_text())
    # A checkpoint written before the fingerprint had versions records version 1's.
    if state["fingerprint"] != recipe.fingerprint(state.get("fingerprint_version", 1)):
        raise RecipeError(
            f"The checkpoint in {checkpoint} was made from a different recipe; use another "
            "--out directory, or delete the checkpoint to start afresh."
        )
    _remove_strays(checkpoint, state)
    model = keras.saving.load_model(checkpoint / _model_file(state))
    recorded = {
        stage.counter: state[stage.counter] for stage in model.stages if stage.counter in state
    }
    if any(int(getattr(model, key).numpy()) != value for key, value in recorded.items()):
        raise RecipeError(f"The checkpoint in {checkpoint} is inconsistent; delete it.")
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


def fit_recipe(
    recipe: Recipe,
    out_dir: str | os.PathLike,
    verbose: int = 1,
    checkpoint: str | os.PathLike | None = None,
):
    """Trains (or resumes training) to the recipe's step counts, checkpointing under
    ``checkpoint`` (default ``out_dir/checkpoints/<name>``): the model's stages in order
    (``model.stages``), the first for the recipe's steps, each later one for its own
    ``training`` field's. A recipe with a ``selection``
    section first chooses its seed (``keras_ae.zoo.seed_selection``). Returns the model and the
    run's state (history, wall time, the seed trained and how it was chosen)."""
    selection = None
    if recipe.selection is not None:
        from keras_ae.zoo.seed_selection import select_seed

        seed, selection = select_seed(recipe, out_dir, verbose=verbose)
        recipe = recipe.replace(training={"seed": seed}, selection=None)
    checkpoint = Path(checkpoint or Path(out_dir) / CHECKPOINT_DIR / recipe.name)
    model, state = _resume(recipe, checkpoint)
    state["seed"] = recipe.training.seed
    if selection is not None:
        state["seed_selection"] = selection
    stages = _stages(recipe, model, total_steps(recipe))
    for stage in stages:
        done = stage.done(model)
        if done > stage.target:
            raise RecipeError(
                f"The checkpoint in {checkpoint} has {done} {stage.name} steps, more than the "
                f"{stage.target} asked for."
            )
        _train_stage(model, recipe, stage, state, checkpoint, verbose, stages[0].name)
    best = state.get("best", {}).get(stages[-1].name)
    if best is not None:
        # Earlier stages' best weights are not restored: a later stage was trained on top of
        # their last weights (a learned prior on the final codes).
        model.load_weights(checkpoint / best["file"])
        state["stopping_step"] = {stages[-1].counter: best["step"]}
    return model, state


def _train_stage(
    model, recipe: Recipe, stage: _Stage, state: dict, checkpoint: Path, verbose, first_stage: str
):
    seed = recipe.training.seed + stage.seed_offset
    chunk = recipe.training.checkpoint_every
    per_execution = recipe.training.steps_per_execution
    done = stage.done(model)
    progress = _Progress(stage, done, verbose)
    validation = _validation_images(recipe) if recipe.data.validation_split else None
    kl_probe = _kl_probe_images(recipe, model, stage, first_stage)
    while done < stage.target:
        keras.utils.set_random_seed(seed + done)
        steps = min(chunk, stage.target - done)
        set_steps_per_execution(model, math.gcd(steps, per_execution))
        started = time.perf_counter()
        data = _training_data(recipe, seed + done // chunk).repeat()
        try:
            history = getattr(model, stage.fit_method)(
                data,
                steps_per_epoch=steps,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[progress],
            )
        except DivergenceError as error:
            # fit put back the weights from before the bad step; the checkpoint stays as the
            # last good state on disk.
            raise TrainingDivergedError(
                f"Training ({stage.name}) diverged at step {error.step} "
                f"({', '.join(error.terms) or 'a weight'} NaN or infinite); it stopped there. "
                f"The checkpoint in {checkpoint} (step {done}) was kept. Lower "
                "training.optimizer's learning_rate, add gradient clipping (e.g. clipnorm: "
                "1.0), or check the data."
            ) from error
        done = stage.done(model)
        state["wall_time_seconds"] += time.perf_counter() - started
        state["history"].append(
            {
                stage.step_key: done,
                **{key: float(values[-1]) for key, values in history.history.items()},
            }
        )
        if kl_probe is not None:
            state["history"][-1]["kl_per_latent"] = kl_per_latent(model, kl_probe).tolist()
        state.update(
            {
                "fingerprint": recipe.fingerprint(),
                "fingerprint_version": FINGERPRINT_VERSION,
                stage.counter: done,
            }
        )
        replaced_best = None
        if validation is not None:
            replaced_best = _score_validation(model, recipe, stage, validation, state, checkpoint)
        _atomic_save(model, state, checkpoint)
        if replaced_best is not None:
            (checkpoint / replaced_best["file"]).unlink(missing_ok=True)
    if verbose:
        progress.bar.update(done, finalize=True)


def _scikit_learn_version() -> str:
    import sklearn

    return sklearn.__version__


def _checkpoint_state(recipe: Recipe, out_dir: Path) -> dict | None:
    """The recipe's checkpoint state under ``out_dir``, or None when there is none."""
    state_file = out_dir / CHECKPOINT_DIR / recipe.name / CHECKPOINT_STATE
    return json.loads(state_file.read_text()) if state_file.is_file() else None


def _preset_is_current(recipe: Recipe, preset: Path) -> bool:
    """Whether ``preset`` was written by a finished run of exactly this recipe (same model,
    data, training length and evaluation), so that running it again would only redo it."""
    metadata_file = preset / preset_directory.METADATA_FILE
    if not metadata_file.is_file():
        return False
    try:
        metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return metadata.get("recipe") == recipe.to_dict()


def train(
    recipe: Recipe | dict | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    dataset: str | None = None,
    verbose: int = 1,
    evaluation: str = "full",
) -> Path:
    """Trains a recipe (resuming from ``out_dir``'s checkpoint), evaluates the model, draws its
    pictures, and writes the preset ``out_dir/<name>``; returns the preset's path.

    ``evaluation`` is ``"full"`` (the recipe's evaluation), ``"quick"`` (a smoke run's: at
    most ``QUICK_SIZES`` held-out examples and samples, no disentanglement metrics) or
    ``"none"`` (no metrics; the pictures are drawn on the quick held-out data). The metadata
    of a preset not fully evaluated says so (``evaluation_mode``), and so does its card.

    A preset already written from this very recipe is returned as it is (delete it to have it
    evaluated and written again); a finished checkpoint without one is evaluated, and says so.
    """
    if evaluation not in EVALUATIONS:
        raise RecipeError(f"evaluation must be one of {EVALUATIONS}, got {evaluation!r}.")
    if isinstance(recipe, dict):
        recipe = Recipe.from_dict(recipe)
    elif not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    recipe = with_overrides(recipe, steps, epochs, dataset)
    out_dir = Path(out_dir)
    preset = out_dir / recipe.name
    if _preset_is_current(recipe, preset):
        if verbose:
            print(
                f"{recipe.name} is already trained and its preset {preset} was written from this "
                "recipe: nothing to do. To evaluate it again: keras-ae eval "
                f"{preset}; to rewrite the preset, delete it and rerun."
            )
        return preset
    before = _checkpoint_state(recipe, out_dir)
    model, state = fit_recipe(recipe, out_dir, verbose=verbose)
    if verbose and before is not None and before.get("history") == state["history"]:
        print(
            f"{recipe.name}: training was already done ({before['trained_steps']} steps, "
            f"checkpoint in {out_dir / CHECKPOINT_DIR / recipe.name}); evaluating the model and "
            "writing its preset."
        )
    evaluated = recipe if evaluation == "full" else quick_recipe(recipe)
    held_out = held_out_data(evaluated)
    metrics = {}
    if evaluation != "none":
        metrics = evaluate(
            model,
            evaluated,
            held_out,
            verbose=bool(verbose),
            disentanglement=evaluation == "full",
        )
    with tempfile.TemporaryDirectory() as scratch:
        pictures = draw_pictures(
            model, evaluated, held_out, Path(scratch), history=state["history"]
        )
        metadata = {
            "name": recipe.name,
            "description": recipe.description,
            "recipe": recipe.to_dict(),
            "dataset": {"name": recipe.data.name, "split": recipe.data.train_split},
            # dSprites' ground truth is sampled from all of it: it has no test split.
            "evaluation_split": recipe.data.train_split
            if recipe.evaluation.ground_truth
            else recipe.data.test_split,
            "evaluation_data": evaluation_data(recipe.to_dict(), len(held_out["x_test"])),
            "seed": state["seed"],
            **({"seed_selection": state["seed_selection"]} if "seed_selection" in state else {}),
            "wall_time_seconds": round(state["wall_time_seconds"], 1),
            "history": state["history"],
            **({"stopping_step": state["stopping_step"]} if "stopping_step" in state else {}),
            **({"evaluation_mode": evaluation} if evaluation != "full" else {}),
            "metrics": metrics,
            # MIG's values changed between scikit-learn versions (disentanglement_lib issue 33).
            **({"scikit_learn_version": _scikit_learn_version()} if metrics else {}),
        }
        return preset_directory.save_preset(
            model,
            out_dir / recipe.name,
            metadata,
            pictures=pictures,
            golden_inputs=held_out["x_test"][:GOLDEN_EXAMPLES],
            overwrite=True,
        )
