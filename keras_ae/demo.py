"""The main job (``keras-ae demo``): load a pretrained model, print its metrics, draw its
reconstructions and latent traversal, and transfer embeddings to downstream tasks."""

import os
from pathlib import Path

#: The presets of the transfer example: digits from ae_mnist, dSprites factors from the demo's.
DIGITS_PRESET = "ae_mnist"


def _print_card_metrics(name: str, metadata: dict) -> None:
    from keras_ae.evaluation import format_table
    from keras_ae.zoo.recipes import evaluation_data

    metrics = {
        key: value
        for key, value in (metadata.get("metrics") or {}).items()
        if not isinstance(value, list)
    }
    dataset = metadata.get("dataset") or {}
    title = (
        f"{name}: {metadata.get('class_name')} trained {metadata.get('trained_steps')} steps on "
        f"{dataset.get('name', '?')} ({metadata.get('wall_time_seconds', '?')} s)"
    )
    measured_on = evaluation_data(metadata.get("recipe"))
    if measured_on:
        title += f"\nits card's metrics, measured on {measured_on}"
    print(format_table(metrics, title=title) if metrics else f"{title}\n(no metrics recorded)")


def _digit_transfer() -> None:
    import keras_ae
    from keras_ae import datasets
    from keras_ae.evaluation import classification_probes

    if DIGITS_PRESET not in keras_ae.list_models():
        print(f"(transfer to digits skipped: the {DIGITS_PRESET} preset is not available)")
        return
    model = keras_ae.load(DIGITS_PRESET, compile=False)
    x_train, y_train = datasets.load("mnist_5k", "train", with_labels=True)
    x_test, y_test = datasets.load("mnist_5k", "test", with_labels=True)
    accuracies = classification_probes(
        model, x_train, y_train, x_test, y_test, classifiers=("logistic",)
    )
    print(
        f"\nTransfer: a logistic regression on {DIGITS_PRESET}'s {model.latent_dim}-d "
        "embeddings (mnist_5k, 4,000 train / 1,000 test):"
    )
    for features in ("embedding", "pca", "pixels"):
        print(f"  {features:<10} accuracy {accuracies[f'{features}.logistic']:.3f}")


def _factor_transfer(model, ground_truth) -> None:
    from keras_ae.evaluation import factor_probes

    accuracies = factor_probes(
        ground_truth, model.encode, 0, num_train=5000, num_test=2000, classifiers=("knn",)
    )
    chance = {
        name: 1 / size
        for name, size in zip(ground_truth.factor_names, ground_truth.factor_sizes, strict=True)
    }
    print("\nTransfer: predicting each dSprites factor from the embeddings (kNN, 5,000 train):")
    for name in ground_truth.factor_names:
        print(f"  {name:<12} accuracy {accuracies[f'knn.{name}']:.3f} (chance {chance[name]:.3f})")


def run_demo(
    name: str = "beta_vae_dsprites", out: str | os.PathLike = "out", *, transfer: bool = True
) -> dict[str, Path]:
    """Runs the demo on preset ``name``; returns the pictures written to ``out``."""
    from keras_ae.zoo import open_preset
    from keras_ae.zoo.held_out import evaluation_recipe, held_out_data
    from keras_ae.zoo.pictures import draw_pictures
    from keras_ae.zoo.recipes import evaluation_data

    model, metadata, _ = open_preset(name, compile=False)
    _print_card_metrics(str(name), metadata)

    recipe = evaluation_recipe(metadata.get("recipe"), examples=500, probes=False)
    held_out = held_out_data(recipe)
    x = held_out["x_test"]
    pictures = draw_pictures(
        model, recipe.replace(pictures=("reconstructions", "traversal")), held_out, out
    )
    squared_error = float(((model.reconstruct(x) - x) ** 2).reshape(len(x), -1).sum(1).mean())
    print(
        f"\nReconstruction squared error on {evaluation_data(recipe.to_dict(), len(x))}: "
        f"{squared_error:.2f}"
    )
    for path in pictures.values():
        print(f"wrote {path}")
    if transfer:
        _digit_transfer()
        if "ground_truth_data" in held_out:
            _factor_transfer(model, held_out["ground_truth_data"])
    return pictures
