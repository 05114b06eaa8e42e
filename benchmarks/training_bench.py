"""Training cost: the throughput of every model class with a bundled preset, the conv64 beta-VAE
against a plain Keras reference and against the machine's matmul peak, and the contractive
penalty's three methods, the divergence check's cost on the conv64 beta-VAE step, and the
layout levers (the same step with its code heads fused or split, its single-channel first and
last convolutions padded to more channels).

    .venv/bin/python benchmarks/training_bench.py [--smoke] [--json PATH]
    .venv/bin/python benchmarks/training_bench.py --only divergence_check_cost [--rounds N]
    .venv/bin/python benchmarks/training_bench.py --only layout_levers [--rounds N]

Each model is built from its zoo recipe (``zoo_configs/``: the canonical input shape, network
and batch size) and timed by ``model.fit`` on one in-memory batch repeated, so that the input
pipeline costs nothing (``datasets_bench.py`` measures the pipeline). Times are per optimizer
step: the median of repeated ``fit`` calls after a warm-up, divided by the steps in a call.
What is compared (ours and the reference, the contractive methods, a model and the matmul
peak) is timed in interleaved rounds, since this machine's speed drifts by 10-20% over minutes.

``steps_per_execution`` (spe) is the number of steps Keras runs per call of its compiled train
function: 1 is Keras' default, 50 the recipes' default. FLOPs are the multiply-adds of the
convolutions and matmuls, forward and backward, times two (``keras_ae.flops.training_flops``);
TensorFlow's own op-level count of the same step is printed next to it as a check.
"""

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import harness
import keras
import numpy as np
import tensorflow as tf

from keras_ae import models
from keras_ae.flops import layer_multiply_adds, tensorflow_flops, training_flops
from keras_ae.zoo import catalogue, recipes
from keras_ae.zoo.train import set_steps_per_execution

ZOO_CONFIGS = Path(__file__).resolve().parent.parent / "zoo_configs"


def canonical_recipes() -> dict[str, str]:
    """Each registered model class with a bundled preset, at its canonical input shape: the
    first zoo recipe (in the preset registry's order) that trains it."""
    found = {}
    for name in catalogue.PRESETS:
        path = ZOO_CONFIGS / f"{name}.yaml"
        if catalogue.local_directory(name) is None or not path.is_file():
            continue
        class_name = recipes.load_recipe(path).model_class
        found.setdefault(class_name, name)
    return {name: found[name] for name in models.model_classes() if name in found}


RECIPE_STEPS_PER_EXECUTION = recipes.DEFAULT_STEPS_PER_EXECUTION


# ------------------------------------------------------------------------ the reference model
class PlainBetaVAE(keras.Model):
    """The conv64 beta-VAE as a Keras user would write it by hand: an encoder and a decoder
    network and one ``GradientTape`` in ``train_step``; no checks, no metrics but the loss.

    The layout variants compute the same loss with another arrangement of the tensors, to time
    the layout levers (``layout_levers``): ``separate_heads`` gives the mean and log-variance a
    Dense layer each (as keras-ae's networks do) instead of one of ``2 * latent_dim`` units;
    ``input_channels`` > 1 takes batches padded with zero channels (``padded_batch``; the
    first convolution's extra weights get zero gradients); ``output_channels`` > 1 gives the
    last transposed convolution more channels, of which the loss reads only the first."""

    #: The images it trains on, as keras-ae's models name them (``example_batch``).
    data_shape = (64, 64, 1)

    def __init__(
        self,
        latent_dim: int = 10,
        beta: float = 4.0,
        *,
        separate_heads: bool = False,
        input_channels: int = 1,
        output_channels: int = 1,
    ):
        super().__init__()
        self.beta = beta
        self.input_channels = input_channels
        self.output_channels = output_channels
        conv = dict(kernel_size=4, strides=2, padding="same")
        inputs = keras.Input((64, 64, input_channels))
        h = inputs
        for filters in (32, 32, 64, 64):
            h = keras.layers.Conv2D(filters, activation="relu", **conv)(h)
        h = keras.layers.Dense(256, activation="relu")(keras.layers.Flatten()(h))
        if separate_heads:
            code = keras.layers.Concatenate()(
                [keras.layers.Dense(latent_dim)(h), keras.layers.Dense(latent_dim)(h)]
            )
        else:
            code = keras.layers.Dense(2 * latent_dim)(h)
        self.encoder = keras.Model(inputs, code)
        self.decoder = keras.Sequential(
            [
                keras.Input((latent_dim,)),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(4 * 4 * 64, activation="relu"),
                keras.layers.Reshape((4, 4, 64)),
                keras.layers.Conv2DTranspose(64, activation="relu", **conv),
                keras.layers.Conv2DTranspose(32, activation="relu", **conv),
                keras.layers.Conv2DTranspose(32, activation="relu", **conv),
                keras.layers.Conv2DTranspose(output_channels, **conv),
            ]
        )

    def train_step(self, x):
        with tf.GradientTape() as tape:
            mean, log_var = tf.split(self.encoder(x, training=True), 2, axis=-1)
            z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
            logits = self.decoder(z, training=True)
            if self.output_channels > 1:
                logits = logits[..., :1]
            if self.input_channels > 1:
                x = x[..., :1]
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
            reconstruction = tf.reduce_mean(tf.reduce_sum(cross_entropy, axis=[1, 2, 3]))
            kl = -0.5 * tf.reduce_sum(1 + log_var - mean**2 - tf.exp(log_var), axis=1)
            loss = reconstruction + self.beta * tf.reduce_mean(kl)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        return {"loss": loss}

    def padded_batch(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` (batch, 64, 64, 1) with zero channels appended up to ``input_channels``."""
        padding = np.zeros((*batch.shape[:-1], self.input_channels - 1), batch.dtype)
        return np.concatenate([batch, padding], axis=-1)


# ---------------------------------------------------------------------------------- timing
def example_batch(model: keras.Model, batch_size: int, seed: int = 0) -> np.ndarray:
    """A batch of binary images in the model's ``data_shape`` (valid for every likelihood)."""
    shape = (batch_size, *model.data_shape)
    return (np.random.default_rng(seed).random(shape) < 0.2).astype(np.float32)


def fit_call(
    model: keras.Model, batch: np.ndarray, steps_per_execution: int, steps: int
) -> tuple[Callable[[], object], int]:
    """A call of ``model.fit`` on ``batch`` repeated, compiled at ``steps_per_execution``, and
    the optimizer steps it runs (Keras rounds an epoch up to whole executions)."""
    set_steps_per_execution(model, steps_per_execution)
    data = tf.data.Dataset.from_tensors(tf.constant(batch)).repeat()
    steps = max(steps_per_execution, steps - steps % steps_per_execution)
    return (lambda: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)), steps


def seconds_per_step(
    model: keras.Model, batch: np.ndarray, steps_per_execution: int, steps: int, repeats: int
) -> float:
    """Median seconds per optimizer step of ``model.fit`` on ``batch`` repeated."""
    run, steps = fit_call(model, batch, steps_per_execution, steps)
    return harness.median_seconds(run, repeats=repeats, warmup=1) / steps


def build_from_recipe(name: str) -> tuple[keras.Model, int]:
    """The recipe's model (compiled with its optimizer) and its batch size."""
    recipe = recipes.load_recipe(ZOO_CONFIGS / f"{name}.yaml")
    keras.utils.set_random_seed(0)
    return recipe.build_model(), recipe.training.batch_size


def throughput(sizes: dict) -> list[dict]:
    """Images/s of each model class at its recipe's shape and batch size, at Keras' default
    spe (1) and the recipes' (50): medians over interleaved rounds, and the best round."""
    rows = []
    for class_name, recipe_name in canonical_recipes().items():
        if sizes["classes"] and class_name not in sizes["classes"]:
            continue
        calls, steps = {}, {}
        for label, spe in zip(("default", "recipe"), sizes["spe"], strict=True):
            model, batch_size = build_from_recipe(recipe_name)
            batch = example_batch(model, batch_size)
            calls[label], steps[label] = fit_call(model, batch, spe, sizes["steps"])
        times = harness.interleaved_times(calls, sizes["repeats"])
        row = {"model": class_name, "recipe": recipe_name, "input_shape": list(model.data_shape)}
        row["batch_size"] = batch_size
        for label, values in times.items():
            per_step = [value / steps[label] for value in values]
            row[f"ms_per_step_{label}_spe"] = 1e3 * statistics.median(per_step)
            row[f"best_ms_per_step_{label}_spe"] = 1e3 * min(per_step)
            row[f"images_per_second_{label}_spe"] = batch_size / statistics.median(per_step)
        rows.append(row)
        keras.backend.clear_session()
    return rows


def _timed_against_matmul(calls: dict, steps: dict, flops: dict, sizes: dict) -> list[dict]:
    """Times ``calls`` (label -> fit call) in rounds with the peak's matmul; per label, the
    median and best ms/step and the achieved fraction of the matmul rate in the same round."""
    matmul_call, matmul_flops = harness.matmul_seconds(sizes["matmul"][-1])
    times = harness.interleaved_times({**calls, "matmul": matmul_call}, sizes["repeats"])
    matmul_times = times.pop("matmul")
    rows = []
    for label, values in times.items():
        per_step = [value / steps[label] for value in values]
        achieved = [flops[label] / value for value in per_step]
        peak = [matmul_flops / value for value in matmul_times]
        rows.append(
            {
                "label": label,
                "ms_per_step": 1e3 * statistics.median(per_step),
                "best_ms_per_step": 1e3 * min(per_step),
                "flops_per_second": statistics.median(achieved),
                "matmul_flops_per_second": statistics.median(peak),
                "fraction_of_matmul_peak": harness.median_ratio(achieved, peak),
                "seconds_per_call": values,
            }
        )
    return rows


def beta_vae_against_reference(sizes: dict) -> dict:
    """The conv64 beta-VAE at batch 64: ours and the plain reference at spe 1 and 50, in
    images/s and as a fraction of the matmul rate measured in the same rounds; then ours at
    larger batches."""
    default, recipe = sizes["spe"]
    calls, steps, flops = {}, {}, {}
    for spe in sizes["spe"]:
        ours, _ = build_from_recipe("beta_vae_dsprites")
        keras.utils.set_random_seed(0)
        reference = PlainBetaVAE()
        reference.compile(optimizer=keras.optimizers.Adam(5e-4))
        batch = example_batch(ours, 64)
        for name, model in (("keras_ae", ours), ("reference", reference)):
            key = (name, 64, spe)
            calls[key], steps[key] = fit_call(model, batch, spe, sizes["steps"])
            flops[key] = training_flops(model.encoder, model.decoder, 64)
    rows = _timed_against_matmul(calls, steps, flops, sizes)
    times_by_label = {row["label"]: row["seconds_per_call"] for row in rows}
    result = {
        "counted_flops_per_step_batch_64": flops["keras_ae", 64, default],
        "reference_counted_flops_per_step_batch_64": flops["reference", 64, default],
        "tensorflow_flops_per_step_batch_64": tensorflow_flops(
            ours, tf.constant(example_batch(ours, 64))
        ),
        "matmul_n": sizes["matmul"][-1],
    }
    # Same steps per call on both sides, so the ratio of call times is the ratio of images/s.
    for label, spe in (("default", default), ("recipe", recipe)):
        result[f"ours_over_reference_{label}_spe"] = harness.median_ratio(
            times_by_label["reference", 64, spe], times_by_label["keras_ae", 64, spe]
        )
    # As each is used: ours as the recipes train it, the reference with Keras' defaults.
    result["ours_over_reference_as_used"] = harness.median_ratio(
        [t / steps["reference", 64, default] for t in times_by_label["reference", 64, default]],
        [t / steps["keras_ae", 64, recipe] for t in times_by_label["keras_ae", 64, recipe]],
    )
    # Where the rest of the matmul rate goes: the same step on more images at once.
    larger_calls, larger_steps, larger_flops = {}, {}, {}
    for batch_size in sizes["larger_batches"]:
        model, _ = build_from_recipe("beta_vae_dsprites")
        key = ("keras_ae", batch_size, recipe)
        larger_calls[key], larger_steps[key] = fit_call(
            model, example_batch(model, batch_size), recipe, sizes["steps"]
        )
        larger_flops[key] = training_flops(model.encoder, model.decoder, batch_size)
    rows += _timed_against_matmul(larger_calls, larger_steps, larger_flops, sizes)
    result["runs"] = []
    for row in rows:
        name, batch_size, spe = row.pop("label")
        result["runs"].append(
            {
                "implementation": name,
                "batch_size": batch_size,
                "steps_per_execution": spe,
                "images_per_second": batch_size / row["ms_per_step"] * 1e3,
                **row,
            }
        )
    return result


def layer_rates(sizes: dict) -> list[dict]:
    """Each convolution and matmul of the conv64 beta-VAE alone at batch 64: forward and
    both gradients in one ``tf.function``, as a fraction of the matmul rate in the same rounds.
    Shows which layers hold the step below the matmul peak."""
    model, _ = build_from_recipe("beta_vae_dsprites")
    calls, steps, flops = {}, {}, {}
    first = True
    for network in (model.encoder, model.decoder):
        for layer in network.layers:
            count = layer_multiply_adds(layer)
            if count is None:
                continue
            inputs = tf.random.normal((64, *layer.input.shape[1:]))

            # As in training: no gradient for the data, the first layer's input.
            @tf.function
            def forward_and_backward(inputs=inputs, layer=layer, input_gradient=not first):
                with tf.GradientTape() as tape:
                    if input_gradient:
                        tape.watch(inputs)
                    total = tf.reduce_sum(layer(inputs))
                sources = [inputs] if input_gradient else []
                return tape.gradient(total, [*sources, *layer.trainable_weights])

            def call(run=forward_and_backward, repeats=sizes["layer_calls"]):
                for _ in range(repeats):
                    result = run()
                result[0].numpy()

            label = f"{network.name}/{layer.name}"
            calls[label], steps[label] = call, sizes["layer_calls"]
            flops[label] = (6.0 if not first else 4.0) * count * 64
            first = False
    rows = _timed_against_matmul(calls, steps, flops, sizes)
    for row in rows:
        row.pop("seconds_per_call")
        row["gflop_per_call"] = flops[row["label"]] / 1e9
    return rows


def contractive_cost(sizes: dict) -> list[dict]:
    """Seconds per step of the cae_mnist network with each Jacobian method, over the plain
    Autoencoder with the same network, at the recipe's spe."""
    spe = sizes["spe"][1]
    plain_recipe = recipes.load_recipe(ZOO_CONFIGS / "cae_mnist.yaml").model_arguments
    plain_arguments = {
        key: value
        for key, value in plain_recipe.items()
        if key in ("input_shape", "latent_dim", "architecture", "hidden_units", "code_activation")
    }
    if sizes["contractive_latent_dim"]:
        plain_arguments["latent_dim"] = sizes["contractive_latent_dim"]
    variants = [("plain Autoencoder", models.Autoencoder, {})]
    variants += [
        (method, models.ContractiveAutoencoder, {"jacobian": method, "lam": 0.5})
        for method in ("closed_form", "hutchinson")
    ]
    calls, steps = {}, {}
    for label, cls, extra in variants:
        keras.utils.set_random_seed(0)
        model = cls(**plain_arguments, **extra)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        calls[label], steps[label] = fit_call(model, example_batch(model, 128), spe, sizes["steps"])
    times = harness.interleaved_times(calls, sizes["repeats"])
    plain = [value / steps[variants[0][0]] for value in times[variants[0][0]]]
    rows = []
    for label, values in times.items():
        per_step = [value / steps[label] for value in values]
        rows.append(
            {
                "method": label,
                "steps_per_execution": spe,
                "ms": 1e3 * statistics.median(per_step),
                "over_plain": harness.median_ratio(per_step, plain),
            }
        )
    # The exact Jacobian costs a backward pass per code unit: a few steps suffice.
    keras.utils.set_random_seed(0)
    exact = models.ContractiveAutoencoder(**plain_arguments, jacobian="exact", lam=0.5)
    exact.compile(optimizer=keras.optimizers.Adam(1e-3))
    exact_seconds = seconds_per_step(
        exact, example_batch(exact, 128), 1, max(1, sizes["steps"] // 25), min(3, sizes["repeats"])
    )
    # Timed alone, so its ratio is to the plain step's median and more exposed to throttling.
    rows.append(
        {
            "method": "exact",
            "steps_per_execution": 1,
            "ms": 1e3 * exact_seconds,
            "over_plain": exact_seconds / statistics.median(plain),
        }
    )
    return rows


def layout_variants(sizes: dict) -> dict[str, dict]:
    """The layout levers ``layout_levers`` times: ``PlainBetaVAE`` arguments per label."""
    variants = {"reference (one Dense head)": {}, "two Dense heads": {"separate_heads": True}}
    for channels in sizes["padded_channels"]:
        variants[f"first conv on {channels} channels"] = {"input_channels": channels}
        variants[f"last conv to {channels} channels"] = {"output_channels": channels}
    return variants


def layout_levers(sizes: dict) -> list[dict]:
    """The plain conv64 beta-VAE step (batch 64, the recipes' spe) in other layouts of the same
    computation: the code heads as one Dense layer or two, the single-channel first and last
    convolutions padded to more channels. Each variant's speed over the reference's, in wall
    and CPU time, timed in interleaved rounds (above 1: the variant is faster)."""
    spe = sizes["spe"][1]
    calls, steps = {}, {}
    for label, arguments in layout_variants(sizes).items():
        keras.utils.set_random_seed(0)
        model = PlainBetaVAE(**arguments)
        model.compile(optimizer=keras.optimizers.Adam(5e-4))
        batch = example_batch(model, 64)
        if model.input_channels > 1:
            batch = model.padded_batch(batch)
        calls[label], steps[label] = fit_call(model, batch, spe, sizes["steps"])
    times = harness.interleaved_wall_and_cpu_times(calls, sizes["rounds"])
    reference = next(iter(times))
    rows = []
    for label, clocks in times.items():
        row = {"variant": label, "steps_per_execution": spe, "rounds": sizes["rounds"]}
        for clock in ("wall", "cpu"):
            per_step = [value / steps[label] for value in clocks[clock]]
            reference_per_step = [value / steps[reference] for value in times[reference][clock]]
            row[f"{clock}_ms_per_step"] = 1e3 * statistics.median(per_step)
            row[f"{clock}_speed_over_reference"] = harness.median_ratio(
                reference_per_step, per_step
            )
            row[f"{clock}_seconds_per_call"] = clocks[clock]
        row["images_per_second"] = 64e3 / row["wall_ms_per_step"]
        rows.append(row)
    return rows


def _print_layout_levers(rows: list[dict]) -> None:
    harness.print_table(
        "layout levers: plain conv64 beta-VAE step, batch 64, each layout against the reference "
        "(interleaved rounds; speed above 1 is faster)",
        ["variant", "spe", "rounds", "wall ms", "images/s", "wall speed", "cpu ms", "cpu speed"],
        [
            [
                r["variant"],
                r["steps_per_execution"],
                r["rounds"],
                r["wall_ms_per_step"],
                r["images_per_second"],
                r["wall_speed_over_reference"],
                r["cpu_ms_per_step"],
                r["cpu_speed_over_reference"],
            ]
            for r in rows
        ],
    )


def divergence_check_cost(sizes: dict) -> list[dict]:
    """The conv64 beta-VAE step (its recipe, batch 64) with the divergence check (the default)
    over the same step without it (``compile(stop_on_divergence=False)``), at each spe: wall
    and CPU time ratios, timed in interleaved rounds."""
    rows = []
    for spe in sizes["spe"]:
        calls, steps = {}, {}
        for label, check in (("checked", True), ("unchecked", False)):
            model, _ = build_from_recipe("beta_vae_dsprites")
            recipe = recipes.load_recipe(ZOO_CONFIGS / "beta_vae_dsprites.yaml")
            model.compile(optimizer=recipe.optimizer(), stop_on_divergence=check)
            calls[label], steps[label] = fit_call(
                model, example_batch(model, 64), spe, sizes["steps"]
            )
        times = harness.interleaved_wall_and_cpu_times(calls, sizes["rounds"])
        row = {"steps_per_execution": spe, "rounds": sizes["rounds"]}
        for clock in ("wall", "cpu"):
            checked, unchecked = times["checked"][clock], times["unchecked"][clock]
            row[f"{clock}_ms_per_step_checked"] = (
                1e3 * statistics.median(checked) / steps["checked"]
            )
            row[f"{clock}_ms_per_step_unchecked"] = (
                1e3 * statistics.median(unchecked) / steps["unchecked"]
            )
            row[f"{clock}_checked_over_unchecked"] = harness.median_ratio(checked, unchecked)
        rows.append(row)
    return rows


def _print_divergence_cost(rows: list[dict]) -> None:
    harness.print_table(
        "divergence check: conv64 beta-VAE step, batch 64, checked / unchecked (interleaved)",
        ["spe", "rounds", "wall ms checked", "wall ratio", "cpu ms checked", "cpu ratio"],
        [
            [
                r["steps_per_execution"],
                r["rounds"],
                r["wall_ms_per_step_checked"],
                r["wall_checked_over_unchecked"],
                r["cpu_ms_per_step_checked"],
                r["cpu_checked_over_unchecked"],
            ]
            for r in rows
        ],
    )


#: The measurements ``--only`` runs alone (the full run ends with them, in this order): name ->
#: (the measurement, its table).
SEPARATE_MEASUREMENTS = {
    "divergence_check_cost": (divergence_check_cost, _print_divergence_cost),
    "layout_levers": (layout_levers, _print_layout_levers),
}


def main(argv: list[str] | None = None) -> dict:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=tuple(SEPARATE_MEASUREMENTS),
        help="run this one measurement alone",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds of the divergence check and the layout levers (default 9)",
    )
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        sizes = {
            "steps": 2,
            "repeats": 1,
            "classes": ("Autoencoder",),
            "spe": (1, 2),
            "larger_batches": (128,),
            "layer_calls": 2,
            "matmul": (256,),
            "contractive_latent_dim": 16,
            "rounds": 1,
            "padded_channels": (2,),
        }
    else:
        sizes = {
            "steps": 20,
            "repeats": 9,
            "classes": (),
            "spe": (1, RECIPE_STEPS_PER_EXECUTION),
            "larger_batches": (128, 256),
            "layer_calls": 20,
            "matmul": (1024, 2048, 4096),
            "contractive_latent_dim": None,
            "rounds": 9,
            "padded_channels": (4, 8),
        }
    if arguments.rounds:
        sizes["rounds"] = arguments.rounds
    results = {"smoke": arguments.smoke, "steps_per_execution": list(sizes["spe"])}
    if arguments.only:
        measure, show = SEPARATE_MEASUREMENTS[arguments.only]
        results[arguments.only] = measure(sizes)
        show(results[arguments.only])
        harness.write_json(results, arguments.json, "training_bench")
        return results
    matmul = harness.matmul_flops_per_second(sizes["matmul"], repeats=sizes["repeats"])
    results["matmul_flops_per_second"] = matmul
    harness.print_table(
        "float32 matmul (tf.linalg.matmul, n x n)",
        ["n", "GFLOP/s"],
        [[n, rate / 1e9] for n, rate in matmul.items()],
    )

    results["throughput"] = throughput(sizes)
    default, spe = sizes["spe"]
    harness.print_table(
        "training throughput (one in-memory batch repeated)",
        [
            "model",
            "input",
            "batch",
            f"ms/step spe={default}",
            f"ms/step spe={spe}",
            f"best ms/step spe={spe}",
            f"images/s spe={spe}",
        ],
        [
            [
                r["model"],
                "x".join(map(str, r["input_shape"])),
                r["batch_size"],
                r["ms_per_step_default_spe"],
                r["ms_per_step_recipe_spe"],
                r["best_ms_per_step_recipe_spe"],
                r["images_per_second_recipe_spe"],
            ]
            for r in results["throughput"]
        ],
    )

    reference = beta_vae_against_reference(sizes)
    results["beta_vae_reference"] = reference
    harness.print_table(
        f"conv64 beta-VAE: {reference['counted_flops_per_step_batch_64'] / 1e9:.2f} GFLOP/step "
        f"at batch 64 counted (TensorFlow's count: "
        f"{(reference['tensorflow_flops_per_step_batch_64'] or 0) / 1e9:.2f}); "
        f"matmul n={reference['matmul_n']} timed in the same rounds",
        [
            "implementation",
            "batch",
            "spe",
            "ms/step",
            "best ms/step",
            "images/s",
            "GFLOP/s",
            "matmul GFLOP/s",
            "of matmul",
        ],
        [
            [
                r["implementation"],
                r["batch_size"],
                r["steps_per_execution"],
                r["ms_per_step"],
                r["best_ms_per_step"],
                r["images_per_second"],
                r["flops_per_second"] / 1e9,
                r["matmul_flops_per_second"] / 1e9,
                f"{100 * r['fraction_of_matmul_peak']:.0f}%",
            ]
            for r in reference["runs"]
        ],
    )
    print(
        f"ours / reference: {reference['ours_over_reference_default_spe']:.3f} at spe={default}, "
        f"{reference['ours_over_reference_recipe_spe']:.3f} at spe={spe}, "
        f"{reference['ours_over_reference_as_used']:.3f} as each is used "
        f"(ours at spe={spe}, the reference at Keras' default spe={default})"
    )

    results["layers"] = layer_rates(sizes)
    harness.print_table(
        "conv64 beta-VAE layers alone, batch 64, forward and both gradients",
        ["layer", "GFLOP", "ms", "GFLOP/s", "of matmul"],
        [
            [
                r["label"],
                r["gflop_per_call"],
                r["ms_per_step"],
                r["flops_per_second"] / 1e9,
                f"{100 * r['fraction_of_matmul_peak']:.0f}%",
            ]
            for r in results["layers"]
        ],
    )

    results["contractive"] = contractive_cost(sizes)
    harness.print_table(
        "contractive penalty (cae_mnist network, batch 128) against the plain step",
        ["method", "spe", "ms/step", "x plain"],
        [
            [r["method"], r["steps_per_execution"], r["ms"], r["over_plain"]]
            for r in results["contractive"]
        ],
    )
    for name, (measure, show) in SEPARATE_MEASUREMENTS.items():
        results[name] = measure(sizes)
        show(results[name])
    harness.write_json(results, arguments.json, "training_bench")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
