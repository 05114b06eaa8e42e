"""What every benchmark script shares: timing, the machine's matmul peak, tables and JSON.

Timings are medians over ``repeats`` runs after ``warmup`` untimed ones. Each script compares
things measured in its own process, so that a busy or throttled machine shifts both sides of
a ratio alike.
"""

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_OUT = Path("out") / "benchmarks"


def parser(description: str) -> argparse.ArgumentParser:
    """The options every script takes: ``--smoke`` and ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds on tiny sizes, to check that the script works (numbers meaningless)",
    )
    parser.add_argument("--json", type=Path, help="where to write the results (default: out/)")
    return parser


def median_seconds(run: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """The median wall time of ``run()`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_times(runs: dict, repeats: int = 5, warmup: int = 1) -> dict[object, list[float]]:
    """Wall times in seconds of each of ``runs`` (label -> callable), timed in rounds of one
    call each. This machine is throttled now and then to half speed for seconds at a time; in
    rounds, a throttled stretch hits neighbouring calls alike, so per-round ratios stay true."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[object, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    return times


def interleaved_wall_and_cpu_times(
    runs: dict, repeats: int = 5, warmup: int = 1
) -> dict[object, dict[str, list[float]]]:
    """``interleaved_times``, with the process's CPU time of each call beside its wall time:
    ``{label: {"wall": [...], "cpu": [...]}}`` seconds. On a machine that other jobs load, the
    CPU time (every thread of this process) is the steadier measure of the work a call does."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times = {label: {"wall": [], "cpu": []} for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            times[label]["cpu"].append(time.process_time() - cpu)
            times[label]["wall"].append(time.perf_counter() - wall)
    return times


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median over rounds of ``numerator / denominator`` timed in the same round."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def matmul_seconds(n: int) -> tuple[Callable[[], object], float]:
    """A call of a float32 ``n x n`` matmul (``tf.linalg.matmul``) and its FLOPs, ``2 n^3``."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32, seed=1)
    b = tf.random.normal((n, n), dtype=tf.float32, seed=2)
    product = tf.function(lambda a, b: tf.reduce_sum(tf.linalg.matmul(a, b)))
    return (lambda: product(a, b).numpy()), 2.0 * n**3


def matmul_flops_per_second(
    sizes: Sequence[int] = (1024, 2048, 4096), repeats: int = 5
) -> dict[str, float]:
    """The machine's float32 matmul rate: ``tf.linalg.matmul`` of square matrices, the best
    median over ``sizes`` (FLOPs counted as ``2 n^3``). Returns ``{"n": ..., "flops": ...}``
    for each size and ``"peak"``."""
    results: dict[str, float] = {}
    for n in sizes:
        run, flops = matmul_seconds(n)
        results[str(n)] = flops / median_seconds(run, repeats)
    results["peak"] = max(results.values())
    return results


def machine() -> dict:
    """The facts a reader needs to compare these numbers with another machine's."""
    import keras
    import tensorflow as tf

    model_name = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model_name,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """A plain-text table: numbers right-aligned with at most 3 significant decimals."""

    def cell(value) -> str:
        if isinstance(value, float):
            if value >= 100:
                return f"{value:,.0f}"
            return f"{value:.3g}" if value < 10 else f"{value:.1f}"
        return str(value)

    text = [[cell(value) for value in row] for row in rows]
    widths = [max(len(c), *(len(row[i]) for row in text)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row_text, row in zip(text, rows, strict=True):
        cells = [
            text.rjust(width) if isinstance(value, int | float) else text.ljust(width)
            for text, value, width in zip(row_text, row, widths, strict=True)
        ]
        print("  ".join(cells).rstrip())


def write_json(results: dict, path: Path | None, script: str) -> Path:
    """Writes ``results`` (with the machine's facts) to ``path`` or ``out/benchmarks/``."""
    path = path or DEFAULT_OUT / f"{script}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    print(f"\nwrote {path}")
    return path
