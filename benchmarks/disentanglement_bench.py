"""Times the five disentanglement metrics at their default sizes on a conv64 beta-VAE over
dSprites, and prints per-metric seconds and scores.

    .venv/bin/python benchmarks/disentanglement_bench.py [--train-steps 300] [--compare-dci]

The data is ``keras_ae.datasets.DSprites`` when that class is available, else a stand-in drawn
here with dSprites' factor sizes (3, 6, 40, 32, 32) and 64x64 binary images; the output says
which. ``--train-steps`` trains the model briefly first (an untrained encoder is fine for timing
but gives a featureless representation). ``--compare-dci`` also fits DCI's gradient-boosted trees
with disentanglement_lib's settings (``REFERENCE_BOOSTING``) and ours (``DCI_BOOSTING``) on the
same codes, and prints the time and scores of each (the reference trees take about 5 minutes).

Measured here (2 cores shared with other work), 300 training steps: BetaVAE 69.9 s, FactorVAE
4.5 s, MIG 0.2 s, DCI 12.3 s, SAP 1.2 s, total 88.1 s. The five metrics draw about 2.9 million
observations but encode only the 723,277 distinct dSprites images among them (BetaVAE, first,
encodes 682,592 of those: hence its time).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae.evaluation import disentanglement  # noqa: E402

SIDE = 64


class StandInDSprites:
    """dSprites' factors (shape, scale, orientation, pos_x, pos_y) and 64x64 binary sprites,
    drawn on the fly (a square, an ellipse and a heart); a stand-in for timing only."""

    factor_names = ("shape", "scale", "orientation", "pos_x", "pos_y")
    factor_sizes = (3, 6, 40, 32, 32)
    num_factors = 5
    observation_shape = (SIDE, SIDE, 1)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return np.stack([random_state.randint(size, size=num) for size in self.factor_sizes], 1)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        shape, scale, orientation, pos_x, pos_y = (factors[:, i, None, None] for i in range(5))
        radius = 6.0 + 6.0 * scale / 5.0  # 6 to 12 pixels, so that every sprite fits
        centre_x = 12 + pos_x * (SIDE - 25) / 31.0
        centre_y = 12 + pos_y * (SIDE - 25) / 31.0
        angle = orientation * 2 * np.pi / 40.0
        rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
        dx, dy = (cols[None] - centre_x) / radius, (rows[None] - centre_y) / radius
        u = np.cos(angle) * dx + np.sin(angle) * dy
        v = -np.sin(angle) * dx + np.cos(angle) * dy
        square = np.maximum(np.abs(u), np.abs(v)) <= 0.7
        ellipse = u**2 + (v / 0.5) ** 2 <= 1.0
        heart = (u**2 + (-v * 1.2) ** 2 - 0.6) ** 3 - u**2 * (-v * 1.2) ** 3 <= 0.0
        image = np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))
        return image.astype(np.float32)[..., None]

    def sample(self, num: int, random_state: np.random.RandomState):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)


def load_dsprites():
    try:
        from keras_ae.datasets import DSprites
    except ImportError:
        return StandInDSprites(), "stand-in (keras_ae.datasets.DSprites not available)"
    return DSprites(), "keras_ae.datasets.DSprites"


def train_briefly(model, data, steps: int, seed: int) -> float:
    """Trains ``model`` for ``steps`` batches of 64 fresh samples; returns the seconds taken."""
    if steps <= 0:
        return 0.0
    started = time.perf_counter()
    _, images = data.sample(steps * 64, np.random.RandomState(seed))
    model.fit(images, batch_size=64, epochs=1, verbose=0)
    return time.perf_counter() - started


def compare_dci_boosting(data, represent, seed: int) -> None:
    """Fits DCI's trees with disentanglement_lib's settings and ours on the same codes."""
    random_state = np.random.RandomState(seed)
    train_codes, train_factors = disentanglement.sample_codes(data, represent, 10_000, random_state)
    test_codes, test_factors = disentanglement.sample_codes(data, represent, 5_000, random_state)
    print("\nDCI's trees on the same codes (10,000 train / 5,000 test):")
    print(f"{'settings':<10} {'seconds':>8} {'disent.':>8} {'complete':>8} {'test acc':>8}")
    for name, boosting in (
        ("reference", disentanglement.REFERENCE_BOOSTING),
        ("ours", disentanglement.DCI_BOOSTING),
    ):
        started = time.perf_counter()
        importance, _, test_accuracy = disentanglement.gbt_importance(
            train_codes, train_factors, test_codes, test_factors, seed, boosting
        )
        seconds = time.perf_counter() - started
        scores = disentanglement.dci_from_importance(importance)
        print(
            f"{name:<10} {seconds:8.1f} {scores['disentanglement']:8.4f} "
            f"{scores['completeness']:8.4f} {test_accuracy:8.4f}"
        )
    for name, boosting in (("reference", "REFERENCE_BOOSTING"), ("ours", "DCI_BOOSTING")):
        print(f"{name}: {boosting} = {getattr(disentanglement, boosting)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-steps", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encode-batch-size", type=int, default=1024)
    parser.add_argument("--compare-dci", action="store_true")
    args = parser.parse_args()

    data, source = load_dsprites()
    model = keras_ae.BetaVAE(
        input_shape=(SIDE, SIDE, 1), latent_dim=10, architecture="conv64", seed=args.seed
    )
    model.compile(optimizer="adam")
    training_seconds = train_briefly(model, data, args.train_steps, args.seed)
    print(f"data: {source}; model: conv64 BetaVAE, {args.train_steps} training steps")
    if training_seconds:
        print(f"training: {training_seconds:.1f} s")

    def representation_function(observations: np.ndarray) -> np.ndarray:
        return model.encode(observations, batch_size=args.encode_batch_size)

    represent = disentanglement.FactorRepresentation(data, representation_function)
    random_state = np.random.RandomState(args.seed)
    print(f"representations cached per factor combination: {represent.cache}\n")
    print(f"{'metric':<12} {'seconds':>8} {'encoded':>9}  scores")
    total = 0.0
    for name, metric in disentanglement.METRICS.items():
        started = time.perf_counter()
        scores = metric(data, represent, random_state)
        seconds = time.perf_counter() - started
        total += seconds
        shown = ", ".join(f"{key}={value:.4g}" for key, value in scores.items())
        print(f"{name:<12} {seconds:8.1f} {represent.observations_encoded:9d}  {shown}")
    print(f"{'total':<12} {total:8.1f}")
    if args.compare_dci:
        compare_dci_boosting(data, represent, args.seed)


if __name__ == "__main__":
    main()
