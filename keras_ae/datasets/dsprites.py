"""dSprites (Matthey et al. 2017), generated procedurally to the official specification.

737,280 binary 64x64 images of one sprite: 3 shapes (square, ellipse, heart) x 6 scales
(``linspace(0.5, 1, 6)``) x 40 orientations (``linspace(0, 2*pi, 40)``, both ends included, as
in the original) x 32 x 32 positions (``linspace(0, 1, 32)`` each). Image ``i`` has latent classes
with ``i == dot(latents_classes[i], LATENTS_BASES)``; columns are colour (always 0), shape,
scale, orientation, pos_x, pos_y, and pos_y varies fastest, exactly as in the official file.

The original's drawing geometry is not published; this module's is:

* Each (shape, scale, orientation) sprite is drawn once on a 31x31 canvas centred on pixel
  (15, 15), then the canvas is pasted at every position: its top-left corner at column
  ``1 + pos_x_class`` and row ``1 + pos_y_class``. Sprite centres therefore run from pixel 16 to
  pixel 47 in steps of exactly one pixel (pos_x to the right, pos_y downwards), and no sprite
  can reach the outermost rows or columns of the frame (0 and 63).
* A shape of scale ``s`` fits in a circle of radius ``15 * s`` pixels about its centroid, the
  centre of rotation, so rotation never clips it (the nearest supersample of a pixel outside
  the canvas is 15.625 px away). At scale 1 the square has a 21.2 px side (11 % of the frame).
* Shapes, in units of that radius with y pointing up: the square ``max(|x|, |y|) <= 1/sqrt(2)``;
  the ellipse ``x**2 + (2*y)**2 <= 1`` (axes 2:1, long axis horizontal at orientation 0); the
  heart ``(u**2 + v**2 - 1)**3 <= u**2 * v**3`` with ``(u, v) = 1.295 * (x, y + 0.2269)``, which
  moves the classic heart curve's centroid to the origin and fits it in the unit circle.
* Orientation ``theta`` turns the shape counter-clockwise as displayed. A pixel is on when at
  least half of its 4x4 supersamples fall inside the shape, which keeps the area stable under
  rotation. Angles are reduced modulo ``2*pi`` first, so orientations 0 and ``2*pi`` render to
  identical images.

Sources, in this order: the official ``.npz`` when given (``npz_path`` or
``$KERAS_AE_DSPRITES_NPZ``); TFDS's ``dsprites`` (the official images) when it is prepared in
``tfds_data_dir`` (default: TFDS's data directory); the official ``.npz`` in the cache directory;
else the generated set. ``tfds.load("keras_ae_dsprites")`` serves the generated set through TFDS
(``keras_ae.datasets.tfds_builders``).

Storage: images are bit-packed (512 bytes each, 377 MB for the whole set) and cached as a
deflated ``.npz`` (about 5 MB) in ``keras_ae.datasets.cache_dir()``; unpacking happens per
batch. ``DSprites.images`` unpacks everything into 3.0 GB of uint8 on first use.
"""

import functools
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from keras_ae.datasets import _common, _tfds
from keras_ae.datasets._common import (
    ArraySource,
    CorruptFileError,
    DatasetNotFoundError,
    atomic_write,
    check_split,
)

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
LATENTS_NAMES = ("color", *FACTOR_NAMES)
LATENTS_SIZES = (1, *FACTOR_SIZES)
LATENTS_BASES = (737280, 245760, 40960, 1024, 32, 1)
NUM_IMAGES = 737280
IMAGE_SIZE = 64
PACKED_BYTES = IMAGE_SIZE * IMAGE_SIZE // 8

SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)

CANVAS_SIZE = 31
CANVAS_CENTER = 15.0
SCALE_1_RADIUS_PX = 15.0
SUPERSAMPLING = 4
# The classic heart curve's centroid is at y = 0.2935 and its farthest point is 1.2929 from it
# (measured on a 2601^2 grid); the radius is rounded up so the normalised heart stays inside.
HEART_CENTROID_Y = 0.2935
HEART_RADIUS = 1.295

# Version of the geometry above; bump it whenever the drawing changes so old caches are not used.
GEOMETRY_VERSION = 1
CACHE_FILENAME = f"dsprites_generated_v{GEOMETRY_VERSION}.npz"
OFFICIAL_FILENAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
# TFDS's dsprites names the factors' classes so (in FACTOR_NAMES order).
TFDS_NAME = "dsprites"
TFDS_LABELS = (
    "label_shape",
    "label_scale",
    "label_orientation",
    "label_x_position",
    "label_y_position",
)
_TFDS_BATCH = 8192


def _inside_square(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(x), np.abs(y)) <= 1.0 / np.sqrt(2.0)


def _inside_ellipse(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * x + 4.0 * y * y <= 1.0


def _inside_heart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    u = HEART_RADIUS * x
    v = HEART_RADIUS * y + HEART_CENTROID_Y
    return (u * u + v * v - 1.0) ** 3 <= u * u * v**3


_INSIDE = (_inside_square, _inside_ellipse, _inside_heart)


@functools.lru_cache(maxsize=1)
def sprite_masks() -> np.ndarray:
    """Every (shape, scale, orientation) sprite on its canvas: ``(3, 6, 40, 31, 31)`` bool."""
    offsets = (np.arange(SUPERSAMPLING) + 0.5) / SUPERSAMPLING - 0.5
    samples = (np.arange(CANVAS_SIZE)[:, None] + offsets[None, :]).reshape(-1) - CANVAS_CENTER
    x = samples[None, None, :]
    y = -samples[None, :, None]
    angles = np.mod(ORIENTATIONS, 2.0 * np.pi)[:, None, None]
    # Rotating the shape by +theta is sampling it at the points rotated by -theta.
    shape_x = np.cos(angles) * x + np.sin(angles) * y
    shape_y = -np.sin(angles) * x + np.cos(angles) * y
    masks = np.empty((*FACTOR_SIZES[:3], CANVAS_SIZE, CANVAS_SIZE), dtype=bool)
    block = (len(ORIENTATIONS), CANVAS_SIZE, SUPERSAMPLING, CANVAS_SIZE, SUPERSAMPLING)
    for shape, inside in enumerate(_INSIDE):
        for scale_class, scale in enumerate(SCALES):
            radius = SCALE_1_RADIUS_PX * scale
            hits = inside(shape_x / radius, shape_y / radius).reshape(block)
            masks[shape, scale_class] = hits.mean(axis=(2, 4)) >= 0.5
    masks.flags.writeable = False
    return masks


def _frame_row_lookup() -> np.ndarray:
    """``(32, 64)`` indices: row ``r`` of the frame at pos_y class ``j`` is entry ``31 + r - j``
    of a column of 32 zeros, the canvas's 31 rows, then zeros."""
    return CANVAS_SIZE + np.arange(IMAGE_SIZE)[None, :] - np.arange(len(POSITIONS))[:, None]


_FRAME_ROWS = _frame_row_lookup()


def packed_position_block(mask: np.ndarray) -> np.ndarray:
    """A ``(31, 31)`` bool sprite at all 32 x 32 positions, official order (pos_y fastest), as
    bit-packed frames: ``(1024, 512)`` uint8, ``np.packbits`` layout of ``(64, 64)`` images."""
    if mask.shape != (CANVAS_SIZE, CANVAS_SIZE):
        raise ValueError(f"mask must have shape {(CANVAS_SIZE, CANVAS_SIZE)}, got {mask.shape}.")
    # A frame row is 64 bits, column 0 the most significant one; moving the sprite right by k
    # columns is a right shift by k, so each placement costs a few integer ops, not a copy.
    padded = np.zeros((CANVAS_SIZE, IMAGE_SIZE), dtype=bool)
    padded[:, :CANVAS_SIZE] = mask
    canvas_rows = np.packbits(padded, axis=1).view(">u8")[:, 0].astype(np.uint64)
    shifts = (1 + np.arange(len(POSITIONS), dtype=np.uint64))[:, None]
    columns = np.zeros((len(POSITIONS), 2 * len(POSITIONS) + IMAGE_SIZE - 1), dtype=np.uint64)
    columns[:, len(POSITIONS) : len(POSITIONS) + CANVAS_SIZE] = canvas_rows[None, :] >> shifts
    frames = columns[:, _FRAME_ROWS]
    return (
        np.ascontiguousarray(frames, dtype=">u8")
        .view(np.uint8)
        .reshape(len(POSITIONS) ** 2, PACKED_BYTES)
    )


def unpack(packed: np.ndarray) -> np.ndarray:
    """``(n, 512)`` bit-packed frames to ``(n, 64, 64)`` uint8 in {0, 1}."""
    return np.unpackbits(packed, axis=1).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def generate_packed(verbose: bool = True) -> np.ndarray:
    """All 737,280 images, bit-packed in official order: ``(737280, 512)`` uint8."""
    masks = sprite_masks()
    packed = np.empty((NUM_IMAGES, PACKED_BYTES), dtype=np.uint8)
    sprites = list(np.ndindex(*FACTOR_SIZES[:3]))
    progbar = keras.utils.Progbar(len(sprites), unit_name="sprite") if verbose else None
    block_size = len(POSITIONS) ** 2
    for done, (shape, scale, orientation) in enumerate(sprites, start=1):
        start = shape * LATENTS_BASES[1] + scale * LATENTS_BASES[2] + orientation * LATENTS_BASES[3]
        packed[start : start + block_size] = packed_position_block(masks[shape, scale, orientation])
        if progbar is not None:
            progbar.update(done)
    return packed


def render(factors: np.ndarray) -> np.ndarray:
    """Images for ``(n, 5)`` int factor classes, drawn without the full set:
    ``(n, 64, 64)`` uint8 in {0, 1}, identical to the generated dataset's."""
    factors = _check_factors(factors)
    masks = sprite_masks()
    packed = np.empty((len(factors), PACKED_BYTES), dtype=np.uint8)
    sprites, which_sprite = np.unique(factors[:, :3], axis=0, return_inverse=True)
    which_sprite = which_sprite.reshape(-1)
    for number, (shape, scale, orientation) in enumerate(sprites):
        rows = np.nonzero(which_sprite == number)[0]
        block = packed_position_block(masks[shape, scale, orientation])
        packed[rows] = block[factors[rows, 3] * len(POSITIONS) + factors[rows, 4]]
    return unpack(packed)


def _check_factors(factors: np.ndarray) -> np.ndarray:
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise ValueError(
            f"factors must have shape (n, {len(FACTOR_SIZES)}) with columns {FACTOR_NAMES}, "
            f"got shape {factors.shape}."
        )
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"factors must be integer classes, got dtype {factors.dtype}.")
    if factors.size and ((factors < 0).any() or (factors >= np.array(FACTOR_SIZES)).any()):
        raise ValueError(f"factor classes must lie in [0, size) for sizes {FACTOR_SIZES}.")
    return factors.astype(np.int64)


def factors_to_index(factors: np.ndarray) -> np.ndarray:
    """``(n, 5)`` int factor classes to ``(n,)`` int64 row indices of the official order."""
    return _check_factors(factors) @ np.array(LATENTS_BASES[1:], dtype=np.int64)


def index_to_factors(indices: np.ndarray) -> np.ndarray:
    """``(n,)`` row indices to ``(n, 5)`` int64 factor classes."""
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be integers, got dtype {indices.dtype}.")
    if indices.size and (indices.min() < 0 or indices.max() >= NUM_IMAGES):
        raise ValueError(f"indices must lie in [0, {NUM_IMAGES}).")
    indices = indices.astype(np.int64).reshape(-1, 1)
    return (indices // np.array(LATENTS_BASES[1:])) % np.array(FACTOR_SIZES)


def latent_values_table() -> tuple[np.ndarray, ...]:
    """The value of each class, per latent (colour first): the official file's values."""
    return (np.ones(1), np.arange(1.0, 4.0), SCALES, ORIENTATIONS, POSITIONS, POSITIONS)


def _write_cache(path: Path, packed: np.ndarray) -> None:
    """An ``.npz`` that ``np.load`` reads; its members are deflated at level 1, which shrinks
    the packed images ~70-fold in about a second (higher levels cost far more time)."""
    arrays = {"packed_images": packed, "geometry_version": np.array(GEOMETRY_VERSION)}
    with atomic_write(path) as file:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)


def _read_cache(path: Path) -> np.ndarray:
    remedy = "Delete it and it will be generated again."
    try:
        with np.load(path, allow_pickle=False) as archive:
            version = int(archive["geometry_version"])
            packed = archive["packed_images"]
    except Exception as error:
        raise CorruptFileError(
            f"The dSprites cache {path} is unreadable ({type(error).__name__}: {error}). {remedy}"
        ) from error
    if version != GEOMETRY_VERSION or packed.shape != (NUM_IMAGES, PACKED_BYTES):
        raise CorruptFileError(
            f"The dSprites cache {path} holds geometry version {version} and shape "
            f"{packed.shape}; expected version {GEOMETRY_VERSION} and shape "
            f"{(NUM_IMAGES, PACKED_BYTES)}. {remedy}"
        )
    return packed


def read_official(
    path: str | os.PathLike, expected_count: int = NUM_IMAGES, verbose: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official ``.npz``: bit-packed images ``(n, 512)`` uint8, ``latents_classes``
    ``(n, 6)`` int64 and ``latents_values`` ``(n, 6)`` float64.

    The 3 GB ``imgs`` array is streamed from the zip member and packed chunk by chunk, so
    reading never holds it whole.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"No dSprites file at {path} (expected {OFFICIAL_FILENAME}).")
    expected = (
        f"an npz with imgs ({expected_count}, 64, 64) uint8 and latents_* ({expected_count}, 6)"
    )
    try:
        # encoding="latin1": the official file was written by Python 2.
        with np.load(path, encoding="latin1", allow_pickle=False) as archive:
            latents_classes = archive["latents_classes"].astype(np.int64)
            latents_values = archive["latents_values"].astype(np.float64)
        packed = np.empty((expected_count, PACKED_BYTES), dtype=np.uint8)
        with zipfile.ZipFile(path) as archive, archive.open("imgs.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(member)
            if shape != (expected_count, IMAGE_SIZE, IMAGE_SIZE) or dtype != np.uint8:
                raise ValueError(f"imgs has shape {shape} and dtype {dtype}")
            if fortran_order:
                raise ValueError("imgs is stored in Fortran order")
            rows_per_chunk = 8192
            progbar = keras.utils.Progbar(expected_count, unit_name="image") if verbose else None
            for start in range(0, expected_count, rows_per_chunk):
                rows = min(rows_per_chunk, expected_count - start)
                raw = member.read(rows * IMAGE_SIZE * IMAGE_SIZE)
                if len(raw) != rows * IMAGE_SIZE * IMAGE_SIZE:
                    raise ValueError("imgs ends early")
                pixels = np.frombuffer(raw, dtype=np.uint8).reshape(rows, -1)
                packed[start : start + rows] = np.packbits(pixels != 0, axis=1)
                if progbar is not None:
                    progbar.update(start + rows)
    except Exception as error:
        raise CorruptFileError(
            f"{path} is not a readable official dSprites file ({type(error).__name__}: "
            f"{error}); expected {expected}."
        ) from error
    if latents_classes.shape != (expected_count, 6) or latents_values.shape != (expected_count, 6):
        raise CorruptFileError(
            f"{path} has latents of shapes {latents_classes.shape} and {latents_values.shape}; "
            f"expected {expected}."
        )
    return packed, latents_classes, latents_values


def read_tfds(builder, expected_count: int = NUM_IMAGES, verbose: bool = True) -> np.ndarray:
    """The images of a prepared TFDS dsprites, bit-packed in the official order:
    ``(expected_count, 512)`` uint8. TFDS shuffles examples when it writes them; each image is put
    back at the row its factor classes give."""
    remedy = (
        f"Delete {builder.data_path} and prepare it again "
        f"(`{_tfds.prepare_command(TFDS_NAME, builder.data_dir_root)}`)."
    )
    packed = np.zeros((expected_count, PACKED_BYTES), dtype=np.uint8)
    seen = np.zeros(expected_count, dtype=bool)
    progbar = keras.utils.Progbar(expected_count, unit_name="image") if verbose else None
    try:
        batches = builder.as_dataset(split="train", shuffle_files=False, batch_size=_TFDS_BATCH)
        for batch in batches.as_numpy_iterator():
            factors = np.stack([batch[key] for key in TFDS_LABELS], axis=1)
            index = factors_to_index(factors)
            if index.max() >= expected_count:
                raise ValueError(f"factor classes of an image beyond the first {expected_count}")
            if seen[index].any() or len(np.unique(index)) < len(index):
                raise ValueError("two images have the same factor classes")
            pixels = batch["image"].reshape(len(index), -1)
            packed[index] = np.packbits(pixels != 0, axis=1)
            seen[index] = True
            if progbar is not None:
                progbar.update(int(seen.sum()))
    except Exception as error:
        raise CorruptFileError(
            f"TFDS's dsprites in {builder.data_path} is not readable as dSprites "
            f"({type(error).__name__}: {error}). {remedy}"
        ) from error
    if not seen.all():
        raise CorruptFileError(
            f"TFDS's dsprites in {builder.data_path} holds {int(seen.sum())} of the "
            f"{expected_count} images. {remedy}"
        )
    return packed


# What was read last: (source, path, the stamp of its file) -> (packed images, latents classes,
# latents values). Every DSprites of a process built from the same files (a training run's
# pipeline, its held-out evaluation) shares this one copy of the 377 MB of images; a file
# rewritten since is read again. One entry, so switching sources does not pile copies up.
_SHARED: dict[tuple, tuple] = {}


def _file_stamp(path: Path) -> tuple | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _shared_read(source: str, path: Path, stamp_file: Path, read: Callable[[], tuple]) -> tuple:
    """``read()``'s packed images and latents (read-only), read once per process for the files
    they come from (``stamp_file`` tells a changed file)."""
    stamp = _file_stamp(stamp_file)
    key = (source, os.fspath(path), stamp)
    if stamp is not None and key in _SHARED:
        return _SHARED[key]
    _SHARED.clear()  # before reading, so that two copies are never held at once
    loaded = read()
    for array in loaded:
        if array is not None:
            array.flags.writeable = False
    # A generated set's cache file exists only now that it is written.
    stamp = _file_stamp(stamp_file)
    if stamp is not None:
        _SHARED[(source, os.fspath(path), stamp)] = loaded
    return loaded


class DSprites:
    """dSprites with the ground-truth-data interface of disentanglement_lib.

    Reads the official file when one is given (``npz_path``, else ``$KERAS_AE_DSPRITES_NPZ``);
    else TFDS's dsprites when it is prepared in ``tfds_data_dir`` (default: TFDS's data
    directory); else ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` in ``cache_dir``;
    otherwise the generated set from ``cache_dir`` (default ``keras_ae.datasets.cache_dir()``),
    generating and caching it first if needed (a few seconds, once). ``source`` says which:
    "official", "tfds" or "generated". Reading TFDS's dsprites decodes its 737,280 PNGs: about
    1.5 minutes on a 2-core machine. The images are read once per process: every DSprites made
    from the same files shares one read-only copy of them.

    Factors are the five classes ``FACTOR_NAMES`` (colour, which never varies, is left out);
    observations are ``(64, 64, 1)`` float32 in {0, 1}.
    """

    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    factors_num_values = FACTOR_SIZES
    num_factors = len(FACTOR_SIZES)
    observation_shape = (IMAGE_SIZE, IMAGE_SIZE, 1)
    latents_sizes = LATENTS_SIZES
    latents_bases = LATENTS_BASES

    def __init__(
        self,
        npz_path: str | os.PathLike | None = None,
        *,
        cache_dir: str | os.PathLike | None = None,
        tfds_data_dir: str | os.PathLike | None = None,
        verbose: bool = True,
    ):
        directory = Path(cache_dir) if cache_dir is not None else _common.cache_dir()
        if npz_path is None and os.environ.get("KERAS_AE_DSPRITES_NPZ"):
            npz_path = os.environ["KERAS_AE_DSPRITES_NPZ"]
        self._images = None
        builder = None if npz_path else _tfds.open_builder(TFDS_NAME, tfds_data_dir, required=False)
        if builder is None and npz_path is None and (directory / OFFICIAL_FILENAME).is_file():
            npz_path = directory / OFFICIAL_FILENAME
        if builder is not None:
            self.source = "tfds"
            self.path = Path(os.fspath(builder.data_path))
            stamp_file = self.path / "dataset_info.json"

            def read():
                return read_tfds(builder, verbose=verbose), None, None

        elif npz_path is not None:
            self.source = "official"
            self.path = stamp_file = Path(npz_path)

            def read():
                return read_official(self.path, verbose=verbose)

        else:
            self.source = "generated"
            self.path = stamp_file = directory / CACHE_FILENAME

            def read():
                if self.path.is_file():
                    return _read_cache(self.path), None, None
                packed = generate_packed(verbose=verbose)
                _write_cache(self.path, packed)
                return packed, None, None

        loaded = _shared_read(self.source, self.path, stamp_file, read)
        self.packed_images, self._latents_classes, self._latents_values = loaded

    def __len__(self) -> int:
        return NUM_IMAGES

    @property
    def images(self) -> np.ndarray:
        """All images, official order: ``(737280, 64, 64)`` uint8 in {0, 1} (3.0 GB, unpacked
        on first access and kept)."""
        if self._images is None:
            self._images = np.empty((NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
            for start in range(0, NUM_IMAGES, 65536):
                self._images[start : start + 65536] = unpack(
                    self.packed_images[start : start + 65536]
                )
        return self._images

    @property
    def latents_classes(self) -> np.ndarray:
        """``(737280, 6)`` int64 classes; columns colour, shape, scale, orientation, pos_x,
        pos_y."""
        if self._latents_classes is None:
            self._latents_classes = np.concatenate(
                [np.zeros((NUM_IMAGES, 1), np.int64), index_to_factors(np.arange(NUM_IMAGES))], 1
            )
        return self._latents_classes

    @property
    def latents_values(self) -> np.ndarray:
        """``(737280, 6)`` float64 values of ``latents_classes`` (shape 1, 2, 3; scale 0.5..1;
        orientation 0..2*pi; positions 0..1)."""
        if self._latents_values is None:
            tables = latent_values_table()
            classes = self.latents_classes
            self._latents_values = np.stack(
                [table[classes[:, column]] for column, table in enumerate(tables)], axis=1
            )
        return self._latents_values

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """``(n, 5)`` factor classes to ``(n,)`` int64 image indices."""
        return factors_to_index(factors)

    def index_to_factors(self, indices: np.ndarray) -> np.ndarray:
        """``(n,)`` image indices to ``(n, 5)`` int64 factor classes."""
        return index_to_factors(indices)

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        """``(n, 64, 64)`` uint8 images in {0, 1} at ``(n,)`` indices."""
        return unpack(self.packed_images[np.asarray(indices)])

    def sample_factors(self, num: int, random_state) -> np.ndarray:
        """``(num, 5)`` int64 factor classes drawn uniformly (``random_state``: a
        ``np.random.RandomState`` or ``np.random.Generator``)."""
        draw = getattr(random_state, "integers", None) or random_state.randint
        return np.stack([draw(size, size=num) for size in FACTOR_SIZES], axis=1).astype(np.int64)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state) -> np.ndarray:
        """``(num, 64, 64, 1)`` float32 images of ``(num, 5)`` factor classes (dSprites is
        deterministic, so ``random_state`` is unused)."""
        del random_state
        return self.images_at(self.factors_to_index(factors))[..., None].astype(np.float32)

    def sample(self, num: int, random_state) -> tuple[np.ndarray, np.ndarray]:
        """``num`` random factors ``(num, 5)`` int64 and their observations
        ``(num, 64, 64, 1)`` float32."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state) -> np.ndarray:
        """``(num, 64, 64, 1)`` float32 images of random factors."""
        return self.sample(num, random_state)[1]


def source(
    split: str = "all",
    *,
    npz_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    tfds_data_dir: str | os.PathLike | None = None,
) -> ArraySource:
    """dSprites for ``keras_ae.datasets.load``: ``(64, 64, 1)`` images in {0, 1}, labels the
    ``(n, 5)`` factor classes. There is no held-out split: "train" and "all" are all images."""
    if split == "test":
        raise ValueError(
            "dSprites has no test split (models are trained and scored on the whole set); "
            "use split='all' or 'train', which are the same 737,280 images."
        )
    check_split(split)
    # Its images are the ones every DSprites of this process shares (see _shared_read).
    dataset = DSprites(npz_path, cache_dir=cache_dir, tfds_data_dir=tfds_data_dir)
    return ArraySource(
        name="dsprites",
        size=NUM_IMAGES,
        image_shape=(IMAGE_SIZE, IMAGE_SIZE, 1),
        max_value=1,
        fetch=lambda indices: dataset.images_at(indices)[..., None],
        split_indices=np.arange(NUM_IMAGES, dtype=np.int64),
        fetch_labels=index_to_factors,
    )
