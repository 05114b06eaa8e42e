"""Pictures of a model: reconstructions, latent traversals, latent maps, samples, filters, KL per
latent, a quantised model's code-index maps and training curves.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot (so nothing here
changes the user's matplotlib backend; figures render with Agg) and, given ``path``, also saves
it as a PNG.
"""

import os
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from keras_ae.evaluation.likelihood import kl_per_latent
from keras_ae.models.registry import model_info

PathLike = str | os.PathLike


def _as_images(x: np.ndarray) -> np.ndarray:
    """Images ``(n, h, w[, c])`` or flat square ``(n, h*w)`` -> ``(n, h, w[, 3])`` in [0, 1]."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"Cannot show flat vectors of size {x.shape[1]} as square images.")
        x = x.reshape(-1, side, side)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4):
        raise ValueError(f"Expected images (n, h, w[, c]), got shape {x.shape}.")
    return np.clip(x, 0.0, 1.0)


def image_grid(rows: np.ndarray) -> np.ndarray:
    """Tiles ``(n_rows, n_cols, h, w[, 3])`` images into one ``(n_rows*(h+1)-1, ...)`` canvas,
    with one-pixel white gaps."""
    n_rows, n_cols, height, width = rows.shape[:4]
    canvas = np.ones(
        (n_rows * (height + 1) - 1, n_cols * (width + 1) - 1, *rows.shape[4:]), np.float32
    )
    for r in range(n_rows):
        for c in range(n_cols):
            top, left = r * (height + 1), c * (width + 1)
            canvas[top : top + height, left : left + width] = rows[r, c]
    return canvas


def _show(canvas: np.ndarray, title: str | None, row_labels: Sequence[str] = (), rows: int = 1):
    height, width = canvas.shape[:2]
    scale = 6.0 / max(height, width)
    figure = Figure(figsize=(max(2.0, width * scale + 1.2), max(1.5, height * scale + 0.6)))
    axes = figure.add_subplot()
    axes.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes.set_xticks([])
    if row_labels:
        step = (height + 1) / rows
        axes.set_yticks([step * (i + 0.5) for i in range(rows)], labels=list(row_labels))
        axes.tick_params(length=0, labelsize=8)
    else:
        axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def _saved(figure: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def spread_of_examples(x: np.ndarray, n: int = 10, seed: int = 0) -> np.ndarray:
    """``n`` examples of ``x`` chosen at random (seeded), in their original order: a fair look
    at a split that is stored sorted by class."""
    chosen = np.random.RandomState(seed).choice(len(x), size=min(n, len(x)), replace=False)
    return np.asarray(x)[np.sort(chosen)]


def reconstruction_grid(model, x: np.ndarray, n: int = 10, path: PathLike | None = None) -> Figure:
    """The first ``n`` inputs (top row) above their reconstructions (bottom row)."""
    x = np.asarray(x)[:n]
    images = np.stack([_as_images(x), _as_images(model.reconstruct(x))])
    figure = _show(image_grid(images), "inputs / reconstructions", ["input", "recon."], rows=2)
    return _saved(figure, path)


def _seed_code_and_scale(model, seed_image: np.ndarray, scale, reference: np.ndarray | None):
    """The seed's code ``(latent_dim,)`` and the traversal's unit per latent."""
    seed_batch = np.asarray(seed_image, np.float32)[None]
    if model_info(model).has_posterior:
        mean, log_var = (t.numpy()[0] for t in model.posterior(seed_batch))
    else:
        mean, log_var = model.encode(seed_batch)[0], None
    if scale is None:
        scale = "aggregate" if reference is not None else "prior"
    if scale == "posterior":
        if log_var is None:
            raise ValueError('scale="posterior" needs a VAE; use "aggregate" or "prior".')
        return mean, np.exp(0.5 * log_var)
    if scale == "aggregate":
        if reference is None:
            raise ValueError('scale="aggregate" needs `reference` images to measure the spread.')
        return mean, model.encode(reference).std(axis=0) + 1e-6
    if scale == "prior":
        return mean, np.ones_like(mean)
    raise ValueError(f'Unknown scale {scale!r}; expected "posterior", "aggregate" or "prior".')


def traversal_order(
    model,
    seed_image: np.ndarray,
    reference: np.ndarray | None = None,
    max_latents: int = 10,
    kl: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray | None]:
    """The latents a traversal shows, most informative first, and their KL (models with a
    posterior, else None): by KL per latent (``kl``, else measured over ``reference`` or the
    seed) for models with a posterior, by the code's spread over ``reference`` for the others,
    else in index order; at most ``max_latents``."""
    if model_info(model).has_posterior:
        if kl is None:
            kl_data = reference if reference is not None else np.asarray(seed_image)[None]
            kl = kl_per_latent(model, kl_data)
        return [int(i) for i in np.argsort(-kl, kind="stable")[:max_latents]], kl
    if reference is not None:
        spread = model.encode(reference).std(axis=0)
        return [int(i) for i in np.argsort(-spread, kind="stable")[:max_latents]], None
    return list(range(min(model.latent_dim, max_latents))), None


def traversal_frames(
    model,
    seed_image: np.ndarray,
    n_steps: int = 11,
    span: float = 3.0,
    scale: str | None = None,
    reference: np.ndarray | None = None,
    latents: Sequence[int] | None = None,
    max_latents: int = 10,
    kl: np.ndarray | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Decoded traversals ``(len(latents), n_steps, h, w[, 3])`` and the latents, in order.

    Each latent sweeps from ``-span`` to ``+span`` units around the seed's code, the other
    latents held at the seed's values. The unit is the standard deviation of the code over
    ``reference`` (``scale="aggregate"``, the default when ``reference`` is given), 1, the
    prior's (``"prior"``, the default otherwise), or the seed's own posterior standard
    deviation (``"posterior"``, VAE family; informative latents have small posterior
    deviations, so this sweep barely changes the image). Without ``latents``, all of them;
    for the VAE family, ordered by their KL (``kl``, else measured over ``reference`` or the
    seed), largest first.
    """
    code, unit = _seed_code_and_scale(model, seed_image, scale, reference)
    if latents is None:
        latents, _ = traversal_order(model, seed_image, reference, max_latents, kl)
    offsets = np.linspace(-span, span, n_steps, dtype=np.float32)
    codes = np.repeat(code[None, None], len(latents), axis=0).repeat(n_steps, axis=1)
    for row, latent in enumerate(latents):
        codes[row, :, latent] = code[latent] + offsets * unit[latent]
    decoded = model.decode(codes.reshape(-1, len(code)))
    images = _as_images(decoded)
    return images.reshape(len(latents), n_steps, *images.shape[1:]), [int(i) for i in latents]


def latent_traversal(
    model,
    seed_image: np.ndarray,
    n_steps: int = 11,
    span: float = 3.0,
    scale: str | None = None,
    reference: np.ndarray | None = None,
    latents: Sequence[int] | None = None,
    max_latents: int = 10,
    path: PathLike | None = None,
    kl: np.ndarray | None = None,
) -> Figure:
    """One row per latent, sweeping it around a seed image's code (see ``traversal_frames``)."""
    order, kl = traversal_order(model, seed_image, reference, max_latents, kl)
    frames, order = traversal_frames(
        model, seed_image, n_steps, span, scale, reference, latents or order
    )
    labels = [f"z{latent}" + ("" if kl is None else f" ({kl[latent]:.2f})") for latent in order]
    unit = scale or ("aggregate" if reference is not None else "prior")
    title = f"traversal: -{span:g} to +{span:g} {unit} std"
    figure = _show(image_grid(frames), title, labels, rows=len(order))
    return _saved(figure, path)


def traversal_gif(
    model,
    seed_image: np.ndarray,
    path: PathLike,
    n_steps: int = 11,
    span: float = 3.0,
    scale: str | None = None,
    reference: np.ndarray | None = None,
    latents: Sequence[int] | None = None,
    max_latents: int = 10,
    frame_ms: int = 150,
    zoom: int = 2,
    kl: np.ndarray | None = None,
) -> int:
    """Writes the traversal as an animated GIF, one frame per step; every latent side by side in
    each frame. Returns the number of frames."""
    from PIL import Image

    frames, _ = traversal_frames(
        model, seed_image, n_steps, span, scale, reference, latents, max_latents, kl
    )
    pictures = []
    for step in range(n_steps):
        canvas = image_grid(frames[:, step][None])
        pixels = (canvas * 255).round().astype(np.uint8)
        picture = Image.fromarray(pixels)
        pictures.append(picture.resize((picture.width * zoom, picture.height * zoom), 0))
    pictures[0].save(
        path, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0, disposal=2
    )
    return len(pictures)


def latent_scatter(
    codes: np.ndarray,
    labels: np.ndarray | None = None,
    label_name: str = "label",
    use_pca: bool | None = None,
    path: PathLike | None = None,
) -> Figure:
    """A 2-D map of codes ``(n, d)`` coloured by ``labels`` ``(n,)``: the first two latents, or
    (default when d > 2) the first two principal components."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"Expected codes (n, d) with d >= 2, got shape {codes.shape}.")
    use_pca = codes.shape[1] > 2 if use_pca is None else use_pca
    if use_pca:
        centred = codes - codes.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        points, axis_names = centred @ components[:2].T, ("PC 1", "PC 2")
    else:
        points, axis_names = codes[:, :2], ("z0", "z1")
    figure = Figure(figsize=(5.5, 4.5))
    axes = figure.add_subplot()
    scatter = axes.scatter(points[:, 0], points[:, 1], c=labels, s=6, cmap="tab10", alpha=0.8)
    if labels is not None:
        figure.colorbar(scatter, ax=axes, label=label_name)
    axes.set_xlabel(axis_names[0])
    axes.set_ylabel(axis_names[1])
    axes.set_title("latent map")
    figure.tight_layout()
    return _saved(figure, path)


def sample_grid(model, n: int = 64, seed: int | None = 0, path: PathLike | None = None) -> Figure:
    """Decoded draws from the prior (VAE family), on a square-ish grid."""
    if not model_info(model).can_sample:
        raise ValueError(f"{type(model).__name__} has no prior to sample; use a VAE-family model.")
    samples = _as_images(model.sample(n, seed=seed))
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    padded = np.ones((rows * columns, *samples.shape[1:]), np.float32)
    padded[:n] = samples
    grid = image_grid(padded.reshape(rows, columns, *samples.shape[1:]))
    return _saved(_show(grid, "samples from the prior"), path)


def encoder_filters(model, n: int = 100, path: PathLike | None = None) -> Figure:
    """The first encoder layer's weights as images (cf. Makhzani & Frey, Fig. 5): a Dense
    layer's columns reshaped to the input image, or a convolution's kernels."""
    import keras

    layer = next(
        (
            layer
            for layer in model.encoder.layers
            if isinstance(layer, keras.layers.Dense | keras.layers.Conv2D)
        ),
        None,
    )
    if layer is None:
        raise ValueError("The encoder has no Dense or Conv2D layer whose filters could be shown.")
    kernel = np.asarray(layer.kernel.numpy())
    if isinstance(layer, keras.layers.Dense):
        side = model.data_shape[:2] if len(model.data_shape) >= 2 else None
        if side is None or kernel.shape[0] != int(np.prod(model.data_shape)):
            raise ValueError("Dense filters can be shown only for an image input flattened first.")
        filters = kernel.T.reshape(-1, *model.data_shape)[..., :1]  # first channel
        filters = filters[..., 0]
    else:
        filters = np.moveaxis(kernel[:, :, 0, :], -1, 0)  # (n_filters, kh, kw), first channel
    filters = filters[:n]
    low = filters.min(axis=(1, 2), keepdims=True)
    high = filters.max(axis=(1, 2), keepdims=True)
    filters = (filters - low) / np.maximum(high - low, 1e-12)
    columns = int(np.ceil(np.sqrt(len(filters))))
    rows = int(np.ceil(len(filters) / columns))
    padded = np.ones((rows * columns, *filters.shape[1:]), np.float32)
    padded[: len(filters)] = filters
    grid = image_grid(padded.reshape(rows, columns, *filters.shape[1:]))
    return _saved(_show(grid, f"first-layer filters ({layer.name})"), path)


def kl_bar_chart(kl: np.ndarray, path: PathLike | None = None) -> Figure:
    """KL per latent ``(latent_dim,)`` in nats as bars."""
    kl = np.asarray(kl, np.float64)
    figure = Figure(figsize=(max(4.0, 0.4 * len(kl) + 1.5), 3.0))
    axes = figure.add_subplot()
    axes.bar(np.arange(len(kl)), kl, color="tab:blue")
    axes.axhline(0.01, color="gray", linewidth=0.8, linestyle=":")
    axes.set_xticks(np.arange(len(kl)), labels=[f"z{i}" for i in range(len(kl))], fontsize=8)
    axes.set_ylabel("KL (nats)")
    axes.set_title("KL per latent")
    figure.tight_layout()
    return _saved(figure, path)


def kl_over_training(history: list[dict], path: PathLike | None = None) -> Figure:
    """Each latent's KL (nats) at every checkpoint of a run, against the optimizer step, from a
    preset's ``metadata["history"]`` (entries with ``"step"`` and ``"kl_per_latent"``), with the
    capacity C where the run reports one: the order in which latents switch on (Burgess et al.
    2017, Fig. 2)."""
    entries = [entry for entry in history if "kl_per_latent" in entry and "step" in entry]
    if not entries:
        raise ValueError(
            "The history records no KL per latent (kl_per_latent): the run was trained before "
            "keras-ae recorded it, or the model has no posterior."
        )
    steps = np.array([entry["step"] for entry in entries])
    kl = np.array([entry["kl_per_latent"] for entry in entries], np.float64)
    figure = Figure(figsize=(6.4, 3.6))
    axes = figure.add_subplot()
    colours = colormaps["tab10"]
    final = kl[-1]
    for latent in np.argsort(-final):
        axes.plot(steps, kl[:, latent], color=colours(latent % 10), label=f"z{latent}")
    if all("capacity" in entry for entry in entries):
        capacity = [entry["capacity"] for entry in entries]
        axes.plot(steps, capacity, color="black", linestyle="--", label="C (total)")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("KL (nats)")
    axes.set_title("KL per latent over training")
    axes.legend(fontsize=7, ncol=2, loc="upper left")
    figure.tight_layout()
    return _saved(figure, path)


def training_curves(history, path: PathLike | None = None) -> Figure:
    """One panel per metric of a ``keras.callbacks.History`` (or its ``.history`` dict), the
    ``val_`` curve beside its training curve."""
    curves = getattr(history, "history", history)
    names = [name for name in curves if not name.startswith("val_")]
    if not names:
        raise ValueError("The history holds no metrics to plot.")
    figure = Figure(figsize=(3.2 * len(names), 2.8))
    for index, name in enumerate(names, start=1):
        axes = figure.add_subplot(1, len(names), index)
        epochs = np.arange(1, len(curves[name]) + 1)
        axes.plot(epochs, curves[name], label="train")
        if f"val_{name}" in curves:
            axes.plot(epochs, curves[f"val_{name}"], label="validation")
            axes.legend(fontsize=7)
        axes.set_title(name, fontsize=9)
        axes.set_xlabel("epoch", fontsize=8)
    figure.tight_layout()
    return _saved(figure, path)


def _canvases(model, x_or_n, seed: int | None) -> np.ndarray:
    if not model_info(model).sequential_canvas:
        raise ValueError(f"{type(model).__name__} does not draw over steps; use keras_ae.DRAW.")
    return model.canvas_sequence(x_or_n, seed=seed)


def canvas_grid(
    model, x_or_n, seed: int | None = 0, max_steps: int = 16, path: PathLike | None = None
) -> Figure:
    """A sequential model's canvas step by step: one row per image (inputs ``(n, ...)``, whose
    posterior means are drawn, or a count ``n`` of samples), one column per step, at most
    ``max_steps`` evenly spaced columns ending at the last step."""
    canvases = _canvases(model, x_or_n, seed)  # (steps, n, h, w, c)
    steps = len(canvases)
    shown = np.unique(np.linspace(0, steps - 1, min(steps, max_steps)).round().astype(int))
    rows = np.stack([_as_images(frame) for frame in canvases[shown]], axis=1)
    title = f"the canvas at steps {', '.join(str(s + 1) for s in shown)} of {steps}"
    return _saved(_show(image_grid(rows), title), path)


def canvas_gif(
    model, x_or_n, path: PathLike, seed: int | None = 0, frame_ms: int = 120, zoom: int = 2
) -> int:
    """Writes a sequential model's canvas as an animated GIF, one frame per step, every image
    side by side; the last frame is held three times as long. Returns the number of frames."""
    from PIL import Image

    canvases = _canvases(model, x_or_n, seed)
    pictures = []
    for frame in canvases:
        pixels = (image_grid(_as_images(frame)[None]) * 255).round().astype(np.uint8)
        picture = Image.fromarray(pixels)
        pictures.append(picture.resize((picture.width * zoom, picture.height * zoom), 0))
    durations = [frame_ms] * (len(pictures) - 1) + [3 * frame_ms]
    pictures[0].save(
        path, save_all=True, append_images=pictures[1:], duration=durations, loop=0, disposal=2
    )
    return len(pictures)


def codebook_usage_chart(model, x, path: PathLike | None = None) -> Figure:
    """How often the codes of ``x`` pick each codebook vector (VQVAE), most used first."""
    if not model_info(model).codebook:
        raise ValueError(f"{type(model).__name__} has no codebook; use keras_ae.VQVAE.")
    indices = model.encode_indices(x)
    frequencies = np.bincount(indices.ravel(), minlength=model.num_codes) / indices.size
    figure = Figure(figsize=(6.0, 2.5))
    axes = figure.add_subplot()
    axes.bar(np.arange(model.num_codes), np.sort(frequencies)[::-1], color="#4c72b0")
    used = int((frequencies > 0).sum())
    axes.set_title(f"code frequencies, most used first ({used} of {model.num_codes} used)")
    axes.set_xlabel("code (by rank)")
    axes.set_ylabel("share of grid positions")
    figure.tight_layout()
    return _saved(figure, path)


def code_index_maps(model, x: np.ndarray, n: int = 10, path: PathLike | None = None) -> Figure:
    """A quantised model's codes (VQVAE): the first ``n`` inputs (top row) above the grid of
    codebook indices each is encoded to (bottom row), one colour per code, scaled to the image.

    What a latent traversal shows for a continuous code: a quantised code has no axis to move
    along, only the choice of code at each grid position."""
    if not model_info(model).codebook:
        raise ValueError(f"{type(model).__name__} has no codebook; use keras_ae.VQVAE.")
    from matplotlib import colormaps

    x = np.asarray(x)[:n]
    images = _as_images(x)
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    indices = model.encode_indices(x)  # (n, rows, cols)
    colours = colormaps["nipy_spectral"](indices / max(model.num_codes - 1, 1))[..., :3]
    height, width = images.shape[1:3]
    rows, cols = indices.shape[1:]
    scale = (-(-height // rows), -(-width // cols))
    maps = np.repeat(np.repeat(colours, scale[0], axis=1), scale[1], axis=2)[:, :height, :width]
    title = f"inputs / their codes ({rows}x{cols} grid of {model.num_codes} codes, one colour each)"
    grid = image_grid(np.stack([images, maps.astype(np.float32)]))
    return _saved(_show(grid, title, ["input", "codes"], rows=2), path)
