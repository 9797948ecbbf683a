"""On-the-fly data augmentation for 28x28 digits, vectorised over a batch.

Each image gets a random affine map (rotation, scale, shear, translation) and
an elastic distortion (Simard, Steinkraus & Platt, 2003, "Best Practices for
Convolutional Neural Networks Applied to Visual Document Analysis"), combined
into one sampling grid and applied with one bilinear lookup; then, for some
images, a thicker or thinner stroke. These are the ways real drawings differ
from MNIST digits: slant, size, position, wobble and pen width.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from preprocessing import cross_neighbours

SIDE = 28
PAD = 2  # zero border so that out-of-range lookups read background


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each distortion; zero turns one off."""

    rotation_degrees: float = 12.0  # uniform in [-r, r]
    scale_range: float = 0.12  # scale uniform in [1 - s, 1 + s], x and y drawn separately
    shear: float = 0.15  # horizontal shear factor uniform in [-s, s]
    shift_pixels: float = 2.0  # translation uniform in [-t, t] pixels, each axis
    elastic_alpha: float = 30.0  # displacement strength, pixels (Simard used 34)
    elastic_sigma: float = 5.0  # smoothness of the displacement field, pixels
    thickness_probability: float = 0.3  # share of images whose stroke is made thicker or thinner

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.scale_range >= 1:
            raise ValueError(f"scale_range must be < 1, got {self.scale_range}")
        if self.thickness_probability > 1:
            raise ValueError(f"thickness_probability must be <= 1, got {self.thickness_probability}")


def _gaussian_matrix(sigma: float) -> np.ndarray:
    """(28, 28) matrix G such that G @ F @ G.T smooths F with a Gaussian of width sigma."""
    offsets = np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :]
    g = np.exp(-(offsets**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    return g.astype(np.float32)


def sampling_grid(n: int, config: AugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates (x, y), each (n, 28, 28) float32, for every output pixel."""
    centre = (SIDE - 1) / 2
    coords = np.arange(SIDE, dtype=np.float32) - centre
    u = np.broadcast_to(coords[None, None, :], (n, SIDE, SIDE))  # output column, centred
    v = np.broadcast_to(coords[None, :, None], (n, SIDE, SIDE))  # output row, centred

    # Inverse affine map: output pixel -> source pixel, one 2x2 matrix per image.
    angle = np.deg2rad(rng.uniform(-config.rotation_degrees, config.rotation_degrees, n)).astype(np.float32)
    scale_x = rng.uniform(1 - config.scale_range, 1 + config.scale_range, n).astype(np.float32)
    scale_y = rng.uniform(1 - config.scale_range, 1 + config.scale_range, n).astype(np.float32)
    shear = rng.uniform(-config.shear, config.shear, n).astype(np.float32)
    shift = rng.uniform(-config.shift_pixels, config.shift_pixels, (2, n)).astype(np.float32)
    cos, sin = np.cos(angle), np.sin(angle)
    a = (cos / scale_x)[:, None, None]
    b = ((-sin + shear * cos) / scale_x)[:, None, None]
    c = (sin / scale_y)[:, None, None]
    d = ((cos + shear * sin) / scale_y)[:, None, None]
    x = a * u + b * v + (centre - shift[0])[:, None, None]
    y = c * u + d * v + (centre - shift[1])[:, None, None]

    if config.elastic_alpha > 0:
        g = _gaussian_matrix(config.elastic_sigma)
        noise = rng.uniform(-1, 1, (2, n, SIDE, SIDE)).astype(np.float32)
        field = g @ noise @ g.T  # smooth each (28, 28) field along rows and columns
        x = x + config.elastic_alpha * field[0]
        y = y + config.elastic_alpha * field[1]
    return x, y


def bilinear_sample(images: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample (n, 28, 28) images at source coordinates (n, 28, 28); outside reads 0."""
    n = images.shape[0]
    side = SIDE + 2 * PAD
    padded = np.zeros((n, side, side), dtype=np.float32)
    padded[:, PAD:-PAD, PAD:-PAD] = images
    x0 = np.floor(x)
    y0 = np.floor(y)
    wx = (x - x0).astype(np.float32)
    wy = (y - y0).astype(np.float32)
    # Clipped indices land in the zero border, so far-away lookups read background.
    col = np.clip(x0.astype(np.int32), -PAD, SIDE) + PAD
    row = np.clip(y0.astype(np.int32), -PAD, SIDE) + PAD
    base = (np.arange(n, dtype=np.int32) * side * side)[:, None, None] + row * side + col
    flat = padded.reshape(-1)
    top = flat[base] * (1 - wx) + flat[base + 1] * wx
    bottom = flat[base + side] * (1 - wx) + flat[base + side + 1] * wx
    return top * (1 - wy) + bottom * wy


def vary_thickness(images: np.ndarray, probability: float, rng: np.random.Generator) -> np.ndarray:
    """Thicken (grey dilation) or thin (grey erosion) a random share of (n, 28, 28) images, by a random amount."""
    n = images.shape[0]
    chosen = np.flatnonzero(rng.random(n) < probability)
    if chosen.size == 0:
        return images
    x = images[chosen]
    neighbours = cross_neighbours(x)  # (5, k, 28, 28)
    thicken = rng.random(chosen.size) < 0.5
    target = np.where(thicken[:, None, None], neighbours.max(axis=0), neighbours.min(axis=0))
    amount = rng.uniform(0.3, 1.0, chosen.size).astype(np.float32)[:, None, None]
    out = images.copy()
    out[chosen] = x + amount * (target - x)
    return out


def augment_batch(images: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """(n, 784) float32 in [0, 1] -> (n, 784) float32 in [0, 1], each image randomly distorted."""
    n = images.shape[0]
    square = images.reshape(n, SIDE, SIDE)
    x, y = sampling_grid(n, config, rng)
    warped = bilinear_sample(square, x, y)
    if config.thickness_probability > 0:
        warped = vary_thickness(warped, config.thickness_probability, rng)
    np.clip(warped, 0.0, 1.0, out=warped)
    return warped.reshape(n, SIDE * SIDE).astype(np.float32, copy=False)
