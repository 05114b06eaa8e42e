"""The benchmark scripts' smoke runs (they still work), and the training benchmark's
hand-written reference beta-VAE: the same network as ours (same FLOPs per step)."""

import importlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_ae.flops import training_flops

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


def _numbers(tree) -> list[float]:
    if isinstance(tree, dict):
        return [n for value in tree.values() for n in _numbers(value)]
    if isinstance(tree, list):
        return [n for value in tree for n in _numbers(value)]
    return [float(tree)] if isinstance(tree, int | float) and not isinstance(tree, bool) else []


@pytest.mark.large
@pytest.mark.parametrize(
    "script", ["training_bench", "inference_bench", "datasets_bench", "speed_spread_bench"]
)
def test_the_smoke_run_prints_a_table_and_writes_json(script, tmp_path, capsys):
    path = tmp_path / f"{script}.json"
    returned = _script(script).main(["--smoke", "--json", str(path)])
    written = json.loads(path.read_text())
    assert written["smoke"] is True and written["machine"]["logical_cpus"] >= 1
    assert json.loads(json.dumps(returned)) == {k: v for k, v in written.items() if k != "machine"}
    numbers = _numbers(returned)
    assert numbers and all(math.isfinite(n) and n >= 0 for n in numbers)
    assert "----" in capsys.readouterr().out


def test_the_reference_beta_vae_is_the_same_network_as_ours():
    training_bench = _script("training_bench")
    model, _ = training_bench.build_from_recipe("beta_vae_dsprites")
    ours = training_flops(model.encoder, model.decoder, 64)
    reference = training_bench.PlainBetaVAE()
    assert training_flops(reference.encoder, reference.decoder, 64) == ours


def _copy_reference_weights(reference: list, variant: list) -> None:
    """Copies the reference network's weights into the variant's: split where the variant has
    two code heads for the reference's one, into the leading slice where it has more channels
    (the padded channels keep their own weights)."""
    if len(variant) == len(reference) + 2:  # two heads: kernel and bias of the fused one split
        *reference, kernel, bias = [weight.numpy() for weight in reference]
        half = kernel.shape[-1] // 2
        reference += [kernel[:, :half], bias[:half], kernel[:, half:], bias[half:]]
    assert len(variant) == len(reference)
    for target, source in zip(variant, reference, strict=True):
        value = target.numpy()
        value[tuple(slice(0, n) for n in np.shape(source))] = source
        target.assign(value)


def test_the_layout_levers_time_the_references_function():
    training_bench = _script("training_bench")
    reference = training_bench.PlainBetaVAE()
    rng = np.random.default_rng(0)
    images = (rng.random((4, 64, 64, 1)) < 0.2).astype(np.float32)
    codes = rng.normal(size=(4, 10)).astype(np.float32)
    variants = training_bench.layout_variants({"padded_channels": (4,)})
    assert len(variants) == 4
    for label, arguments in variants.items():
        variant = training_bench.PlainBetaVAE(**arguments)
        _copy_reference_weights(reference.encoder.weights, variant.encoder.weights)
        _copy_reference_weights(reference.decoder.weights, variant.decoder.weights)
        inputs = variant.padded_batch(images) if variant.input_channels > 1 else images
        assert inputs.shape[-1] == arguments.get("input_channels", 1)
        np.testing.assert_allclose(
            variant.encoder(inputs), reference.encoder(images), atol=1e-5, err_msg=label
        )
        logits = variant.decoder(codes)
        assert logits.shape[-1] == arguments.get("output_channels", 1)
        np.testing.assert_allclose(
            logits[..., :1], reference.decoder(codes), atol=1e-5, err_msg=label
        )


def test_no_benchmark_counts_the_models_in_words():
    # The models come from the registry, so a count written down ("the eight models") goes
    # stale with the next model.
    number = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen)"
    for script in sorted(BENCHMARKS.glob("*.py")):
        stale = re.findall(rf"\b{number}\s+(?:model|famil)", script.read_text(), re.I)
        assert not stale, f"{script.name} counts the models: {stale}"


def _pythae_python() -> str | None:
    """An interpreter with pythae and torch: $KERAS_AE_PYTHAE_PYTHON, else this one if it has
    them (the ``compare`` extra)."""
    import os
    import subprocess

    for python in (os.environ.get("KERAS_AE_PYTHAE_PYTHON"), sys.executable):
        if python and subprocess.run([python, "-c", "import pythae, torch"]).returncode == 0:
            return python
    return None


@pytest.mark.large
def test_the_pythae_comparison_trains_the_same_network_on_both_sides(tmp_path):
    python = _pythae_python()
    if python is None:
        pytest.skip("needs pythae and torch (the compare extra, or $KERAS_AE_PYTHAE_PYTHON)")
    path = tmp_path / "pythae_bench.json"
    results = _script("pythae_bench").main(
        ["--smoke", "--pythae-python", python, "--json", str(path)]
    )
    (ours,), (theirs,) = results["runs"]["keras_ae"], results["runs"]["pythae"]
    assert ours["parameters"] == theirs["parameters"] == 764_245
    assert ours["images_per_second"] > 0 and theirs["images_per_second"] > 0
    assert json.loads(path.read_text())["median_ratio"] == results["median_ratio"]
