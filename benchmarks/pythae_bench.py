"""keras-ae against pythae (PyTorch): the conv64 beta-VAE's training speed, each run in its own
process, the two alternating.

    .venv/bin/python benchmarks/pythae_bench.py [--pairs 8] [--steps 150] [--pythae-python PATH]
        [--smoke] [--json PATH]

pythae is an optional extra (``pip install -e ".[compare]"``: pythae and PyTorch's CPU build),
so the library itself never depends on PyTorch; ``--pythae-python`` names another environment's
interpreter that has them. Both sides train the same network (Burgess et al.'s conv64, 10
latents, 764,245 parameters; kernel 4, stride 2, padding 1 in PyTorch is Keras' "same" here) on
the same binary 64x64 images at batch 64 with Adam, each through its own training loop:
keras-ae's ``fit`` as ``keras-ae train`` runs it (the recipe's steps per execution, batches
from a ``tf.data`` pipeline without autotuning; ``BENCH_KERAS_INPUT=numpy`` in the environment
feeds the array instead), pythae's ``TrainingPipeline``. A run trains two epochs of
``--steps`` steps and times the second, so tracing and first-call costs are left out. Runs
alternate (keras-ae first in even pairs, pythae first in odd ones) because this machine's
speed drifts over minutes; in one process, PyTorch's threads slowed the TensorFlow round
after them, so every run has a process of its own.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

BATCH_SIZE = 64
LATENT_DIM = 10
BETA = 4.0
LEARNING_RATE = 1e-4
RECIPE = Path(__file__).resolve().parent.parent / "zoo_configs" / "beta_vae_dsprites.yaml"


def binary_images(count: int, channels_last: bool) -> "np.ndarray":  # noqa: F821
    import numpy as np

    images = (np.random.default_rng(0).random((count, 64, 64, 1)) < 0.2).astype(np.float32)
    return images if channels_last else np.ascontiguousarray(images.transpose(0, 3, 1, 2))


#: The keras-ae side's input: ``keras_ae`` (default), batches the way ``keras-ae train`` feeds
#: them (a ``tf.data`` pipeline without autotuning, ``keras_ae.datasets.without_autotune``);
#: ``numpy``, the array itself, which ``fit`` turns into an autotuned pipeline per epoch.
KERAS_INPUT = "BENCH_KERAS_INPUT"


def training_input(images, kind: str):
    """``fit``'s data and batch size for ``images``, fed as ``KERAS_INPUT`` describes."""
    if kind == "numpy":
        return images, BATCH_SIZE
    if kind != "keras_ae":
        raise SystemExit(f"{KERAS_INPUT} is keras_ae or numpy, not {kind!r}")
    import tensorflow as tf

    from keras_ae.datasets import without_autotune

    batches = tf.data.Dataset.from_tensor_slices(images).batch(BATCH_SIZE)
    return without_autotune(batches.prefetch(tf.data.AUTOTUNE)), None


def keras_ae_images_per_second(steps: int, callbacks: tuple = ()) -> dict:
    """Images/s of the second of two epochs of ``fit``, the preset's network and step;
    ``callbacks`` (Keras callbacks) run after the timer's."""
    import keras
    import numpy as np

    from keras_ae.zoo import recipes
    from keras_ae.zoo.train import set_steps_per_execution

    recipe = recipes.load_recipe(RECIPE)
    keras.utils.set_random_seed(0)
    model = recipe.build_model()
    spe = recipe.training.steps_per_execution
    if steps % spe:
        raise SystemExit(f"--steps must be a multiple of the recipe's steps_per_execution {spe}")
    set_steps_per_execution(model, spe)
    epoch_seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.start)

    images = binary_images(steps * BATCH_SIZE, channels_last=True)
    data, batch_size = training_input(images, os.environ.get(KERAS_INPUT, "keras_ae"))
    model.fit(
        data, batch_size=batch_size, epochs=2, callbacks=[EpochTimer(), *callbacks], verbose=0
    )
    return {
        "images_per_second": steps * BATCH_SIZE / epoch_seconds[-1],
        "parameters": int(sum(np.prod(weight.shape) for weight in model.trainable_weights)),
        "steps_per_execution": spe,
    }


def pythae_images_per_second(steps: int) -> dict:
    """Images/s of the second of two epochs of pythae's ``TrainingPipeline``, same network."""
    import torch
    from pythae.models import BetaVAE, BetaVAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback
    from torch import nn

    conv = dict(kernel_size=4, stride=2, padding=1)

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, **conv), nn.ReLU(),
                nn.Conv2d(32, 32, **conv), nn.ReLU(),
                nn.Conv2d(32, 64, **conv), nn.ReLU(),
                nn.Conv2d(64, 64, **conv), nn.ReLU(),
                nn.Flatten(), nn.Linear(4 * 4 * 64, 256), nn.ReLU(),
            )  # fmt: skip
            self.mean = nn.Linear(256, LATENT_DIM)
            self.log_var = nn.Linear(256, LATENT_DIM)

        def forward(self, x):
            hidden = self.body(x)
            return ModelOutput(embedding=self.mean(hidden), log_covariance=self.log_var(hidden))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(LATENT_DIM, 256), nn.ReLU(),
                nn.Linear(256, 4 * 4 * 64), nn.ReLU(),
                nn.Unflatten(1, (64, 4, 4)),
                nn.ConvTranspose2d(64, 64, **conv), nn.ReLU(),
                nn.ConvTranspose2d(64, 32, **conv), nn.ReLU(),
                nn.ConvTranspose2d(32, 32, **conv), nn.ReLU(),
                nn.ConvTranspose2d(32, 1, **conv), nn.Sigmoid(),
            )  # fmt: skip

        def forward(self, z):
            return ModelOutput(reconstruction=self.body(z))

    torch.manual_seed(0)
    config = BetaVAEConfig(
        input_dim=(1, 64, 64), latent_dim=LATENT_DIM, beta=BETA, reconstruction_loss="bce"
    )
    model = BetaVAE(model_config=config, encoder=Encoder(), decoder=Decoder())
    epoch_seconds = []

    class EpochTimer(TrainingCallback):
        def on_epoch_begin(self, training_config, **kwargs):
            self.start = time.perf_counter()

        def on_epoch_end(self, training_config, **kwargs):
            epoch_seconds.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as output_dir:
        trainer_config = BaseTrainerConfig(
            output_dir=output_dir,
            num_epochs=2,
            per_device_train_batch_size=BATCH_SIZE,
            learning_rate=LEARNING_RATE,
            no_cuda=True,
            keep_best_on_train=True,
            steps_saving=None,
        )
        pipeline = TrainingPipeline(model=model, training_config=trainer_config)
        images = binary_images(steps * BATCH_SIZE, channels_last=False)
        pipeline(train_data=images, callbacks=[EpochTimer()])
    return {
        "images_per_second": steps * BATCH_SIZE / epoch_seconds[-1],
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch_threads": torch.get_num_threads(),
    }


def run_child(side: str, steps: int, python: str) -> dict:
    command = [python, __file__, "--child", side, "--steps", str(steps)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode:
        raise RuntimeError(f"the {side} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=150, help="steps per timed epoch")
    parser.add_argument(
        "--pythae-python", default=sys.executable, help="an interpreter with pythae and torch"
    )
    parser.add_argument("--child", choices=("keras_ae", "pythae"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        measure = {"keras_ae": keras_ae_images_per_second, "pythae": pythae_images_per_second}
        print(json.dumps(measure[arguments.child](arguments.steps)))
        return {}
    pairs, steps = (1, 50) if arguments.smoke else (arguments.pairs, arguments.steps)

    runs = {"keras_ae": [], "pythae": []}
    pythons = {"keras_ae": sys.executable, "pythae": arguments.pythae_python}
    for pair in range(pairs):
        order = ("keras_ae", "pythae") if pair % 2 == 0 else ("pythae", "keras_ae")
        for side in order:
            runs[side].append(run_child(side, steps, pythons[side]))
        print(
            f"pair {pair + 1}: keras-ae {runs['keras_ae'][-1]['images_per_second']:,.0f}, "
            f"pythae {runs['pythae'][-1]['images_per_second']:,.0f} images/s",
            flush=True,
        )
    speeds = {side: [r["images_per_second"] for r in side_runs] for side, side_runs in runs.items()}
    ratios = [ours / theirs for ours, theirs in zip(*speeds.values(), strict=True)]
    results = {
        "smoke": arguments.smoke,
        "pairs": pairs,
        "steps": steps,
        "batch_size": BATCH_SIZE,
        "runs": runs,
        "median_images_per_second": {s: statistics.median(v) for s, v in speeds.items()},
        "ratios_in_pair_order": ratios,
        "median_ratio": statistics.median(ratios),
    }
    harness.print_table(
        f"conv64 beta-VAE training, batch {BATCH_SIZE}, images/s, each run its own process",
        ["", "median", "min", "max", "all, sorted"],
        [
            [side, statistics.median(v), min(v), max(v), ", ".join(f"{x:,.0f}" for x in sorted(v))]
            for side, v in speeds.items()
        ],
    )
    print(f"median keras-ae / pythae over {pairs} pairs: {results['median_ratio']:.2f}")
    harness.write_json(results, arguments.json, "pythae_bench")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
