"""dSprites: generation time and peak memory, cache loading, and ``tf.data`` throughput.

    .venv/bin/python benchmarks/datasets_bench.py [--smoke] [--json PATH] [--cache-dir DIR]

Generation runs in a fresh cache directory (a temporary one unless --cache-dir names an empty
one), so it really generates all 737,280 images. Peak memory is the process's peak resident set
size (``resource.getrusage``, TensorFlow's own ~0.5-1 GB included) and the peak of the Python-
and numpy-allocated memory during generation (``tracemalloc``). Throughput is the median over
repeated passes of ``batches`` shuffled float32 batches, after a warm-up pass.
"""

import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import harness

from keras_ae import datasets
from keras_ae.datasets import dsprites


def peak_rss_gb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main(argv: list[str] | None = None) -> dict:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, help="an empty directory to generate into")
    parser.add_argument("--batch-size", type=int, default=64)
    arguments = parser.parse_args(argv)
    batches = 50 if arguments.smoke else 2000
    repeats = 1 if arguments.smoke else 5
    cache_dir = arguments.cache_dir or Path(tempfile.mkdtemp(prefix="keras_ae_bench_"))
    if (cache_dir / dsprites.CACHE_FILENAME).exists():
        parser.error(f"{cache_dir} already holds a dSprites cache; give an empty directory.")
    results: dict = {"smoke": arguments.smoke, "baseline_peak_rss_gb": peak_rss_gb()}
    try:
        tracemalloc.start()
        start = time.perf_counter()
        generated = dsprites.DSprites(cache_dir=cache_dir, verbose=False)
        results["generation_seconds"] = time.perf_counter() - start
        results["generation_traced_peak_gb"] = tracemalloc.get_traced_memory()[1] / 1e9
        tracemalloc.stop()
        results["peak_rss_after_generation_gb"] = peak_rss_gb()
        results["cache_mb"] = generated.path.stat().st_size / 1e6
        del generated

        def load_cache():
            # A process reads the images once and shares them (dsprites._SHARED); forgetting
            # them makes each construction read the cache file again, which is what is timed.
            dsprites._SHARED.clear()
            return dsprites.DSprites(cache_dir=cache_dir, verbose=False)

        results["cache_load_seconds"] = harness.median_seconds(load_cache, repeats, warmup=0)
        pipeline = datasets.load(
            "dsprites", as_dataset=True, batch_size=arguments.batch_size, cache_dir=cache_dir
        ).repeat()

        def one_pass():
            for _ in pipeline.take(batches):
                pass

        seconds = harness.median_seconds(one_pass, repeats)
        results["tf_data"] = {
            "batch_size": arguments.batch_size,
            "batches_per_pass": batches,
            "images_per_second": batches * arguments.batch_size / seconds,
        }
        results["final_peak_rss_gb"] = peak_rss_gb()
    finally:
        if not arguments.cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)

    harness.print_table(
        "dSprites (737,280 images, 64x64x1)",
        ["measure", "value"],
        [
            ["generation: draw, place, pack, write (s)", results["generation_seconds"]],
            ["peak RSS before generation, TensorFlow loaded (GB)", results["baseline_peak_rss_gb"]],
            ["peak RSS after generation (GB)", results["peak_rss_after_generation_gb"]],
            [
                "peak traced allocations during generation (GB)",
                results["generation_traced_peak_gb"],
            ],
            ["cache file (MB)", results["cache_mb"]],
            ["cache load (s)", results["cache_load_seconds"]],
            [
                f"tf.data, batch {arguments.batch_size}, float32, shuffled (images/s)",
                results["tf_data"]["images_per_second"],
            ],
        ],
    )
    harness.write_json(results, arguments.json, "datasets_bench")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
