"""SIGKILL at the worst moments of ``save_preset``, of a training checkpoint and of ``publish``.
The process is killed from inside, at an exact step (a patched call that kills it), so each
case is deterministic. Afterwards the next run finds the old state or the new one, never a mix,
and a resumed training run ends with the same weights as an uninterrupted one. The fast tier
kills each operation at one moment; the large tier (and ``make reliability``) at every one."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from _cases import survives

import keras_ae

RECIPE = Path(__file__).parent.parent / "data" / "tiny_recipe.yaml"
X = np.random.default_rng(0).random((8, 4, 4, 1)).astype("float32")

# Kills the process at the ``at``-th call of ``module.name``, before the call does anything.
_KILL_HOOK = """
import os, signal, importlib
def kill_at(module, name, at):
    module = importlib.import_module(module)
    original, calls = getattr(module, name), [0]
    def hooked(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    setattr(module, name, hooked)
"""


# Every process of a test gets the same threading: with another number of intra-op threads,
# TensorFlow may sum a matmul in another order, and a run resumed in this process differed
# from one checkpointed in a child by 6e-7 (CI, stop 31). The environment is read at each call
# because the fixtures isolate the caches through os.environ.
def _run_script(body: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _KILL_HOOK + textwrap.dedent(body)],
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _run_until_killed(body: str, tmp_path: Path) -> None:
    result = _run_script(body, tmp_path)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]


def _train_to_the_end(recipe_file: Path, out: Path) -> list[np.ndarray]:
    """Trains (or resumes) ``recipe_file`` under ``out`` in a child process; its final weights."""
    weights_file = out.parent / f"{out.name}_weights.npz"
    result = _run_script(
        f"""
        import numpy as np
        from keras_ae.zoo import recipes
        from keras_ae.zoo.train import fit_recipe
        model, _ = fit_recipe(recipes.load_recipe({str(recipe_file)!r}), {str(out)!r}, verbose=0)
        np.savez({str(weights_file)!r}, *model.get_weights())
        """,
        out.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(weights_file) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _tiny(seed: int) -> keras_ae.VAE:
    return keras_ae.VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_units=(8,), seed=seed)


@pytest.mark.parametrize(
    ("moment", "module", "name", "at"),
    [
        (
            "while the new weights are written",
            "keras_ae.zoo.preset_directory",
            "_save_model_weights",
            1,
        ),
        pytest.param("after the old copy is set aside", "os", "rename", 2, marks=pytest.mark.large),
        pytest.param(
            "before the old copy is deleted", "shutil", "rmtree", 1, marks=pytest.mark.large
        ),
    ],
)
def test_a_killed_save_preset_leaves_the_old_preset_or_the_new(tmp_path, moment, module, name, at):
    keras.utils.set_random_seed(1)
    old = _tiny(1)
    keras_ae.save_preset(old, tmp_path / "preset")
    old_codes = old.encode(X)
    _run_until_killed(
        f"""
        kill_at({module!r}, {name!r}, {at})
        import keras, keras_ae
        keras.utils.set_random_seed(2)
        model = keras_ae.VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_units=(8,), seed=2)
        keras_ae.save_preset(model, "preset", overwrite=True)
        """,
        tmp_path,
    )

    def old_or_new_and_saving_again_works():
        codes = keras_ae.load(tmp_path / "preset").encode(X)
        is_old = np.array_equal(codes, old_codes)
        keras_ae.save_preset(_tiny(3), tmp_path / "preset", overwrite=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["preset"], "leftovers remain"
        return is_old

    survives("interruptions", f"save_preset killed {moment}", old_or_new_and_saving_again_works)


def _tiny_recipe() -> dict:
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["training"].update(steps=12, checkpoint_every=4, steps_per_execution=1)
    return recipe


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[np.ndarray]:
    directory = tmp_path_factory.mktemp("whole")
    recipe_file = directory / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(_tiny_recipe()))
    return _train_to_the_end(recipe_file, directory / "run")


@pytest.mark.parametrize(
    ("moment", "name", "at"),
    [
        # os.replace's calls per checkpoint: the model file, then state.json.
        pytest.param(
            "while the second checkpoint's model is written",
            "keras.Model.save",
            2,
            marks=pytest.mark.large,
        ),
        ("between the second checkpoint's model and its state", "os.replace", 4),
    ],
)
def test_a_run_killed_while_checkpointing_resumes_to_the_same_weights(
    tmp_path, uninterrupted, moment, name, at
):
    module, attribute = name.rsplit(".", 1)
    hook = (
        f"kill_at({module!r}, {attribute!r}, {at})"
        if module == "os"
        else textwrap.dedent(f"""
        import keras
        original, calls = keras.Model.save, [0]
        def save(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == {at}:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, *args, **kwargs)
        keras.Model.save = save
        """)
    )
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(_tiny_recipe()))
    _run_until_killed(
        hook
        + textwrap.dedent(f"""
        from keras_ae.zoo import recipes
        from keras_ae.zoo.train import fit_recipe
        fit_recipe(recipes.load_recipe({str(recipe_file)!r}), "run", verbose=0)
        """),
        tmp_path,
    )

    def resumes_to_the_uninterrupted_weights():
        state = json.loads((tmp_path / "run/checkpoints/tiny_vae/state.json").read_text())
        assert state["trained_steps"] in (4, 8)
        resumed_weights = _train_to_the_end(recipe_file, tmp_path / "run")
        for resumed, whole in zip(resumed_weights, uninterrupted, strict=True):
            np.testing.assert_array_equal(resumed, whole)

    survives("interruptions", f"training killed {moment}", resumes_to_the_uninterrupted_weights)


def test_a_publish_killed_mid_upload_leaves_the_preset_and_publishes_on_retry(tmp_path, fake_hub):
    keras_ae.save_preset(_tiny(1), tmp_path / "preset")
    before = {p.name: p.read_bytes() for p in (tmp_path / "preset").iterdir()}
    _run_until_killed(
        """
        import huggingface_hub
        class KilledApi:
            def __init__(self, *args, **kwargs):
                pass
            def create_repo(self, *args, **kwargs):
                pass
            def upload_folder(self, **kwargs):
                os.kill(os.getpid(), signal.SIGKILL)
        huggingface_hub.HfApi = KilledApi
        import keras_ae
        keras_ae.publish("preset", "hf://keras-ae-test/tiny")
        """,
        tmp_path,
    )

    def preset_unchanged_and_retry_publishes():
        after = {p.name: p.read_bytes() for p in (tmp_path / "preset").iterdir()}
        assert after == before
        handle = keras_ae.publish(tmp_path / "preset", "hf://keras-ae-test/tiny")
        assert handle == "hf://keras-ae-test/tiny@0123abcd"
        assert [call[0] for call in fake_hub] == ["HfApi", "create_repo", "upload_folder"]

    survives("interruptions", "publish killed mid-upload", preset_unchanged_and_retry_publishes)
