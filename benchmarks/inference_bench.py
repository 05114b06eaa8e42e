"""Using a pretrained model: the time ``keras_ae.load`` takes beyond importing keras_ae's zoo
(``import keras_ae`` alone is light; the zoo brings Keras and TensorFlow), and
``encode`` throughput against Keras' own ``encoder.predict``.

    .venv/bin/python benchmarks/inference_bench.py [--smoke] [--json PATH]

Load times are measured in fresh Python processes (one per repeat; the median is reported),
so that nothing is cached in memory: ``import keras_ae.zoo`` first, then the first
``keras_ae.load(name)`` (the bundled preset: building the model, reading and checking the
weights, compiling), then a second load of the same preset in the same process.

``encode`` runs the model's compiled, batched embedding (the posterior mean for a VAE) over
binary images in the model's input shape; the reference is ``model.encoder.predict`` on the
same images and batch size.
"""

import json
import statistics
import subprocess
import sys

import harness
import numpy as np

_LOAD_TIMER = """
import json, time
start = time.perf_counter()
import keras_ae.zoo
imported = time.perf_counter()
keras_ae.load({name!r})
loaded = time.perf_counter()
keras_ae.load({name!r})
again = time.perf_counter()
print(json.dumps({{"import": imported - start, "load": loaded - imported,
                  "second_load": again - loaded}}))
"""


def load_seconds(name: str, repeats: int) -> dict:
    """Median seconds of ``import keras_ae.zoo``, the first load and a second one, each run in
    ``repeats`` fresh processes."""
    runs = []
    for _ in range(repeats):
        finished = subprocess.run(
            [sys.executable, "-c", _LOAD_TIMER.format(name=name)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def encode_throughput(name: str, examples: int, repeats: int, batch_size: int = 256) -> dict:
    """Images/s of ``model.encode`` and of ``model.encoder.predict`` on the same images."""
    import keras_ae

    model = keras_ae.load(name, compile=False)
    x = (np.random.default_rng(0).random((examples, *model.data_shape)) < 0.2).astype(np.float32)
    encode = harness.median_seconds(lambda: model.encode(x, batch_size=batch_size), repeats)
    predict = harness.median_seconds(
        lambda: model.encoder.predict(x, batch_size=batch_size, verbose=0), repeats
    )
    return {
        "preset": name,
        "input_shape": list(model.data_shape),
        "examples": examples,
        "batch_size": batch_size,
        "encode_images_per_second": examples / encode,
        "predict_images_per_second": examples / predict,
        "encode_over_predict": predict / encode,
    }


def main(argv: list[str] | None = None) -> dict:
    arguments = harness.parser(__doc__.splitlines()[0]).parse_args(argv)
    repeats = 1 if arguments.smoke else 5
    examples = 512 if arguments.smoke else 8192
    results: dict = {"smoke": arguments.smoke}

    results["load"] = {"preset": "beta_vae_dsprites", **load_seconds("beta_vae_dsprites", repeats)}
    load = results["load"]
    harness.print_table(
        f"keras_ae.load('beta_vae_dsprites'), median of {repeats} fresh processes",
        ["step", "seconds"],
        [
            ["import keras_ae.zoo (Keras, TensorFlow)", load["import"]],
            ["first load (beyond the import)", load["load"]],
            ["second load, same process", load["second_load"]],
        ],
    )

    results["encode"] = [
        encode_throughput(name, examples, repeats) for name in ("ae_mnist", "beta_vae_dsprites")
    ]
    harness.print_table(
        f"encode throughput, {examples} images, batch 256",
        ["preset", "input", "encode images/s", "encoder.predict images/s", "encode / predict"],
        [
            [
                r["preset"],
                "x".join(map(str, r["input_shape"])),
                r["encode_images_per_second"],
                r["predict_images_per_second"],
                r["encode_over_predict"],
            ]
            for r in results["encode"]
        ],
    )
    harness.write_json(results, arguments.json, "inference_bench")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
