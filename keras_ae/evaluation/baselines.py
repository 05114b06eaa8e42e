"""Hand-made representations that a learned one has to beat.

``image_moments`` is the reference row of every dSprites card: six numbers per image that any
image-processing textbook gives, with no learning at all.
"""

import numpy as np


def image_moments(images) -> np.ndarray:
    """Six image moments per image: ``(n, height, width[, 1])`` -> ``(n, 6)`` float64.

    The columns are the centroid's column and row (in pixels), the pixel mass (the sum of the
    pixel values) and the three second central moments ``mu_xx``, ``mu_yy`` and ``mu_xy``
    (mass-normalised, pixels squared). An empty image gives zeros.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(
            f"image_moments takes grey images (n, height, width) or (n, height, width, 1); "
            f"got shape {images.shape}."
        )
    rows = np.arange(images.shape[1], dtype=np.float64)
    columns = np.arange(images.shape[2], dtype=np.float64)
    mass = images.sum(axis=(1, 2))
    safe_mass = np.where(mass > 0, mass, 1.0)
    column_mass, row_mass = images.sum(axis=1), images.sum(axis=2)
    centre_x = column_mass @ columns / safe_mass
    centre_y = row_mass @ rows / safe_mass
    dx = columns[None, :] - centre_x[:, None]
    dy = rows[None, :] - centre_y[:, None]
    mu_xx = (column_mass * dx**2).sum(axis=1) / safe_mass
    mu_yy = (row_mass * dy**2).sum(axis=1) / safe_mass
    mu_xy = np.einsum("nij,ni,nj->n", images, dy, dx) / safe_mass
    return np.stack([centre_x, centre_y, mass, mu_xx, mu_yy, mu_xy], axis=1)
