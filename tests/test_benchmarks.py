"""The benchmark scripts' smoke runs (they still work) and their FLOP counting."""

import importlib
import json
import math
import sys
from pathlib import Path

import keras
import pytest

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


@pytest.mark.slow
@pytest.mark.parametrize("script", ["training_bench", "inference_bench", "datasets_bench"])
def test_the_smoke_run_prints_a_table_and_writes_json(script, tmp_path, capsys):
    path = tmp_path / f"{script}.json"
    returned = _script(script).main(["--smoke", "--json", str(path)])
    written = json.loads(path.read_text())
    assert written["smoke"] is True and written["machine"]["logical_cpus"] >= 1
    assert json.loads(json.dumps(returned)) == {k: v for k, v in written.items() if k != "machine"}
    numbers = _numbers(returned)
    assert numbers and all(math.isfinite(n) and n >= 0 for n in numbers)
    assert "----" in capsys.readouterr().out


def test_training_flops_counts_forward_and_both_gradients():
    training_bench = _script("training_bench")
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    # 12 + 12 multiply-adds forward; 2 FLOPs each for the forward pass, the weights' gradients
    # and the inputs' gradients, but no input gradient for the first layer.
    assert training_bench.training_flops(encoder, decoder, batch_size=10) == 10 * (6 * 24 - 2 * 12)


def test_the_conv64_count_agrees_with_tensorflows_own():
    training_bench = _script("training_bench")
    model, _ = training_bench.build_from_recipe("beta_vae_dsprites")
    batch = training_bench.example_batch(model, 64)
    ours = training_bench.training_flops(model.encoder, model.decoder, 64)
    reference = training_bench.PlainBetaVAE()
    assert training_bench.training_flops(reference.encoder, reference.decoder, 64) == ours
    tensorflows = training_bench.tensorflow_flops(model, batch)
    if tensorflows is None:
        pytest.skip("TensorFlow's v1 profiler is not available")
    # TensorFlow also counts the elementwise ops (activations, loss, optimizer): a few percent.
    assert ours <= tensorflows <= 1.05 * ours
