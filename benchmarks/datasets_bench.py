"""Measure dSprites generation (time, peak memory), cache loading, and tf.data throughput.

    .venv/bin/python benchmarks/datasets_bench.py [--cache-dir DIR] [--batches N]

Generation runs in a fresh cache directory (a temporary one unless --cache-dir names an empty
one), so it really generates. Peak memory is the process's peak resident set size
(``resource.getrusage``), which includes TensorFlow's own ~0.5-1 GB, and the peak of Python-
and numpy-allocated memory during generation (``tracemalloc``).
"""

import argparse
import os
import resource
import shutil
import tempfile
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_ae import datasets  # noqa: E402
from keras_ae.datasets import dsprites  # noqa: E402


def peak_rss_gb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", help="an empty directory to generate into")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--batches", type=int, default=0, help="batches to time (default: one full epoch)"
    )
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="keras_ae_bench_")
    if (dsprites.Path(cache_dir) / dsprites.CACHE_FILENAME).exists():
        parser.error(f"{cache_dir} already holds a dSprites cache; give an empty directory.")
    try:
        print(f"baseline peak RSS (Python + TensorFlow imported): {peak_rss_gb():.2f} GB")
        tracemalloc.start()
        start = time.perf_counter()
        generated = dsprites.DSprites(cache_dir=cache_dir)
        generation_seconds = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cache_bytes = generated.path.stat().st_size
        print(f"generation (draw, place, pack, write cache): {generation_seconds:.1f} s")
        print(f"peak RSS after generation: {peak_rss_gb():.2f} GB")
        print(f"peak traced allocations during generation: {traced_peak / 1e9:.2f} GB")
        print(f"cache file: {generated.path} ({cache_bytes / 1e6:.1f} MB)")
        del generated

        start = time.perf_counter()
        loaded = dsprites.DSprites(cache_dir=cache_dir)
        print(f"cache load: {time.perf_counter() - start:.2f} s")
        del loaded

        batches = datasets.load(
            "dsprites", as_dataset=True, batch_size=args.batch_size, cache_dir=cache_dir
        )
        count = args.batches or -(-dsprites.NUM_IMAGES // args.batch_size)
        for epoch in (1, 2):
            images = 0
            start = time.perf_counter()
            for batch in batches.take(count):
                images += int(batch.shape[0])
            seconds = time.perf_counter() - start
            print(
                f"tf.data epoch {epoch} (batch {args.batch_size}, float32 64x64x1, shuffled): "
                f"{images} images in {seconds:.1f} s = {images / seconds:,.0f} images/s"
            )
        print(f"final peak RSS: {peak_rss_gb():.2f} GB")
    finally:
        if not args.cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
