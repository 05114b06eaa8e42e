"""A preset's pictures, as its recipe lists them: reconstructions, latent traversal (PNG and GIF),
samples, first-layer filters, KL per latent, latent map, codebook usage, code-index maps."""

import os
from pathlib import Path

from keras_ae import plotting
from keras_ae.evaluation.likelihood import kl_per_latent
from keras_ae.models.registry import model_info
from keras_ae.zoo.recipes import Recipe


def draw_pictures(
    model,
    recipe: Recipe,
    held_out: dict,
    directory: str | os.PathLike,
    history: list[dict] | None = None,
) -> dict[str, Path]:
    """The recipe's pictures of ``model`` as files in ``directory``: ``{file name: path}``.
    ``history`` (the run's, as a preset's metadata records it) draws ``kl_over_training``; a
    history without a per-latent KL record draws none."""
    x = held_out["x_test"]
    shown = plotting.spread_of_examples(x)
    capabilities = model_info(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # One KL per latent, over the held-out images, orders the traversals and fills the chart.
    kl = kl_per_latent(model, x) if capabilities.has_posterior else None
    drawn = {}

    def path(name: str) -> Path:
        drawn[name] = directory / name
        return drawn[name]

    for picture in recipe.pictures:
        if picture == "reconstructions":
            plotting.reconstruction_grid(model, shown, path=path("reconstructions.png"))
        elif picture == "traversal" and not capabilities.codebook:
            # A quantised code has no axis to traverse: its picture is code_indices.
            plotting.latent_traversal(
                model, shown[0], reference=x, kl=kl, path=path("traversal.png")
            )
            plotting.traversal_gif(model, shown[0], path("traversal.gif"), reference=x, kl=kl)
        elif picture == "samples" and capabilities.can_sample:
            plotting.sample_grid(model, path=path("samples.png"))
        elif picture == "filters":
            plotting.encoder_filters(model, path=path("filters.png"))
        elif picture == "kl" and capabilities.has_posterior:
            plotting.kl_bar_chart(kl, path=path("kl.png"))
        elif picture == "canvas" and capabilities.sequential_canvas:
            plotting.canvas_grid(model, shown, path=path("canvas.png"))
            plotting.canvas_gif(model, shown, path("canvas.gif"))
            plotting.canvas_grid(model, len(shown), seed=0, path=path("canvas_samples.png"))
        elif picture == "codebook" and capabilities.codebook:
            plotting.codebook_usage_chart(model, x, path=path("codebook.png"))
        elif picture == "code_indices" and capabilities.codebook:
            plotting.code_index_maps(model, shown, path=path("code_indices.png"))
        elif picture == "kl_over_training" and any(
            "kl_per_latent" in entry for entry in history or []
        ):
            plotting.kl_over_training(history, path=path("kl_over_training.png"))
        elif picture == "latent_map" and "y_test" in held_out:
            codes = model.encode(x)
            plotting.latent_scatter(codes, held_out["y_test"], path=path("latent_map.png"))
    return drawn
