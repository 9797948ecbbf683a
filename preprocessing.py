"""Turn a canvas drawing or a photo into the 28x28 tensor the network expects, and say how it differs.

MNIST digits were made by scaling each digit's bounding box so its longer
side is 20 pixels (with anti-aliasing), then placing it in a 28x28 field with
its centre of mass in the middle; ink is white (1.0) on black (0.0). A canvas
drawing differs in size, position, stroke width and polarity, so the same
recipe is applied here, and the diagnostics tell the user what was far from
MNIST before it was fixed.

Pure NumPy + Pillow: image in, tensor and diagnostics out, no Gradio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIDE = 28  # the network's input is SIDE x SIDE
# Typical MNIST stroke width in the 28x28 tensor, as 2.55 * ink / edge length (see stroke_width):
# the median over the 60,000 training digits; tests/test_preprocessing.py recomputes it.
MNIST_STROKE_WIDTH = 2.50
# The middle 90% (5th to 95th percentile) of each diagnostic over MNIST training digits, to show
# users what "typical" means; tests/test_preprocessing.py checks these against the data.
MNIST_TYPICAL = {
    "stroke_density": (52.0, 164.0),
    "ink_coverage": (0.066, 0.212),
    "stroke_width_ratio": (0.68, 1.55),
    "aspect_ratio": (0.4, 1.11),
}


@dataclass(frozen=True)
class PreprocessConfig:
    """How a drawing is normalised and when it counts as empty."""

    digit_box: int = 20  # MNIST scales the longer side of the digit to this many pixels
    max_side: int = 4096  # larger images are refused (ValueError), to bound time and memory
    work_side: int = 80  # big drawings are first box-averaged down to about this size (speed)
    bbox_threshold: float = 0.05  # ink above this level sets the bounding box
    ink_threshold: float = 0.2  # ink above this level counts as a stroke (piece count, empty check)
    min_contrast: float = 0.1  # an image whose ink differs from the background by less is empty
    min_ink_fraction: float = 0.0005  # less ink than this share of the canvas is empty
    # Strokes thinner than this (x MNIST's typical width; ~1st percentile of MNIST) are thickened
    # toward thicken_to: a fine pen line shrunk to 28x28 is fainter than any digit the network learnt.
    thicken_below: float = 0.6
    thicken_to: float = 0.85

    def __post_init__(self) -> None:
        if not 4 <= self.digit_box <= SIDE:
            raise ValueError(f"digit_box must be in [4, {SIDE}], got {self.digit_box}")
        if self.max_side < SIDE or self.work_side < self.digit_box:
            raise ValueError(f"max_side must be >= {SIDE} and work_side >= digit_box, got "
                             f"{self.max_side}, {self.work_side}")
        for name in ("bbox_threshold", "ink_threshold", "min_contrast", "min_ink_fraction", "thicken_below"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class Diagnostics:
    """How the drawing compares with MNIST digits; `warnings` says it in words."""

    stroke_density: float  # total ink in the 28x28 tensor (sum of pixel values)
    ink_coverage: float  # share of the 28x28 tensor's pixels that are mostly ink (> 0.5)
    bbox_area_ratio: float  # the drawing's bounding box as a share of the canvas area
    centre_offset: tuple[float, float]  # ink centre - canvas centre, as shares of width and height (x right, y down)
    aspect_ratio: float  # bounding box width / height
    stroke_width_ratio: float  # estimated stroke width as drawn / typical MNIST stroke width
    pieces: int  # separate pieces of ink in the 28x28 tensor
    touches_edge: bool  # the ink reaches the canvas border, so part of it may be missing
    warnings: tuple[str, ...] = ()

    @property
    def centre_distance(self) -> float:
        """Distance of the ink centre from the canvas centre, as a share of the canvas size."""
        return float(np.hypot(*self.centre_offset))

    def as_dict(self) -> dict[str, Any]:
        return {
            "stroke_density": round(self.stroke_density, 2),
            "ink_coverage": round(self.ink_coverage, 4),
            "bbox_area_ratio": round(self.bbox_area_ratio, 4),
            "centre_offset_x": round(self.centre_offset[0], 4),
            "centre_offset_y": round(self.centre_offset[1], 4),
            "aspect_ratio": round(self.aspect_ratio, 3),
            "stroke_width_ratio": round(self.stroke_width_ratio, 3),
            "pieces": self.pieces,
            "touches_edge": self.touches_edge,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Preprocessed:
    """The network's input and what was measured on the way. `empty`: nothing to classify."""

    tensor: np.ndarray  # (28, 28) float32 in [0, 1], ink = 1; all zeros when empty
    diagnostics: Diagnostics | None  # None when empty
    empty: bool
    message: str = ""  # for an empty result, why


# ---------------------------------------------------------------- input -> ink map


def read_image_file(path: str | Path, config: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """Decode an uploaded image file into an (H, W[, C]) array, refusing what is not a usable image.

    The size is checked from the header before any pixel is decoded, so a huge
    or decompression-bomb file costs nothing. Photos are turned upright (EXIF).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path.name}: file not found")
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name}: the file is empty (0 bytes)")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if max(width, height) > config.max_side:
                raise ValueError(
                    f"{path.name}: image is {width}x{height}; the limit is {config.max_side} pixels a side")
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "I;16"):
                image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
            return np.array(image)
    except ValueError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValueError(f"{path.name}: not an image file Pillow can read (PNG, JPEG, WebP, ...), "
                         "or the file is damaged") from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f"{path.name}: the image file is damaged ({err})") from None


def _as_unit_float(array: np.ndarray, what: str) -> np.ndarray:
    """Pixel values of any numeric dtype -> float32 in [0, 1]; refuse what is not an image."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1 / 255)
    if np.issubdtype(array.dtype, np.integer):
        if array.dtype == np.uint16:
            return array.astype(np.float32) / 65535
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{what}: integer pixels must be in 0..255 (or uint16), got {low}..{high}")
        return array.astype(np.float32) / 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{what}: contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{what}: float pixels must be in [0, 1] or [0, 255], got {low:g}..{high:g}")
        values = array.astype(np.float32)
        return values / 255 if high > 1 else values
    raise ValueError(f"{what}: pixel dtype {array.dtype} is not a number type")


def _check_image(image: Any, what: str, config: PreprocessConfig) -> np.ndarray:
    """A 2-D grey or 3-D (H, W, 1..4) image array within the size limit."""
    if isinstance(image, Image.Image):
        image = np.asarray(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{what}: expected an image array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"{what}: expected 1 to 4 channels (grey, grey+alpha, RGB, RGBA), got {image.shape[2]}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{what}: expected an H x W or H x W x C image, got shape {image.shape}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"{what}: image has zero size {image.shape}")
    if max(height, width) > config.max_side:
        raise ValueError(f"{what}: image is {width}x{height}; the limit is {config.max_side} pixels a side")
    return image


def ink_from_image(image: np.ndarray, config: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """Any grey / RGB / RGBA image -> (H, W) float32 ink map in [0, 1], polarity detected from the image.

    A varying alpha channel is the drawing (Sketchpad layers, transparent PNGs).
    Otherwise the background level is the median of the image border, and ink is
    whatever differs from it, darker or lighter: black ink on white paper, white
    chalk on a blackboard and black ink on the dark theme's grey canvas all work.
    """
    image = _check_image(image, "image", config)
    values = _as_unit_float(image, "image")
    if values.ndim == 2:
        values = values[:, :, None]
    channels = values.shape[2]
    if channels in (2, 4):
        alpha = values[:, :, -1]
        if float(alpha.max()) - float(alpha.min()) > config.min_contrast:
            return alpha
        values = values[:, :, :-1]
    if values.shape[2] == 3:
        grey = values @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma
    else:
        grey = values[:, :, 0]
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    difference = np.abs(grey - np.median(border))
    # The border's own variation (paper texture, noise) is not ink.
    floor = float(np.percentile(np.abs(border - np.median(border)), 90))
    peak = float(difference.max())
    if peak - floor < config.min_contrast:
        return np.zeros_like(grey)
    return np.clip((difference - floor) / (peak - floor), 0, 1, out=difference)


def ink_from_value(value: Any, config: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """A Gradio Sketchpad value or an image -> (H, W) float32 ink map in [0, 1].

    Sketchpad values are dicts with `background`, `layers` and `composite`. The
    brush ink is in the layers' alpha channel, which is used when there are
    layers: the composite's colours depend on the theme. Without layers, the
    composite (or else the background) is read as an image.
    """
    if value is None:  # what Gradio sends for an empty image input
        return np.zeros((SIDE, SIDE), dtype=np.float32)
    if not isinstance(value, Mapping):
        return ink_from_image(value, config)
    if not {"background", "layers", "composite"} & set(value):
        raise ValueError(f"expected a Sketchpad value with background/layers/composite, got keys {sorted(value)}")
    layers = value.get("layers") or []
    if not isinstance(layers, (list, tuple)):
        raise ValueError(f"Sketchpad layers must be a list of images, got {type(layers).__name__}")
    if layers:
        checked = [_check_image(layer, f"layer {i}", config) for i, layer in enumerate(layers)]
        if any(layer.ndim != 3 or layer.shape[2] != 4 for layer in checked):
            raise ValueError(f"Sketchpad layers must be RGBA, got shapes {[layer.shape for layer in checked]}")
        if len({layer.shape for layer in checked}) > 1:
            raise ValueError(f"Sketchpad layers differ in size: {[layer.shape for layer in checked]}")
        alpha = _as_unit_float(checked[0][:, :, 3], "layer 0")
        for i, layer in enumerate(checked[1:], start=1):
            np.maximum(alpha, _as_unit_float(layer[:, :, 3], f"layer {i}"), out=alpha)
        if alpha.max() > 0:
            return alpha
    for key in ("composite", "background"):
        if value.get(key) is not None:
            return ink_from_image(value[key], config)
    if layers:
        return np.zeros(checked[0].shape[:2], dtype=np.float32)
    return np.zeros((SIDE, SIDE), dtype=np.float32)  # cleared canvas: no layers, no images


# ---------------------------------------------------------------- ink map -> 28x28


def stroke_width(tensor: np.ndarray) -> float:
    """Estimated stroke width in pixels of a (28, 28) ink image: 2.55 * ink area / edge length.

    A stroke of width w and length L has ink w*L and, summed over both sides,
    an edge (total variation) of about 2L * 4/pi, averaged over directions.
    """
    edges = np.abs(np.diff(tensor, axis=0)).sum() + np.abs(np.diff(tensor, axis=1)).sum()
    return float(2 * 4 / np.pi * tensor.sum() / edges) if edges > 0 else 0.0


def cross_neighbours(images: np.ndarray) -> np.ndarray:
    """(..., H, W) -> (5, ..., H, W): each pixel and its 4 neighbours (zero beyond the border).

    Their max is a grey dilation and their min a grey erosion by one pixel: a
    stroke about one pixel wider or narrower on each side.
    """
    pad = [(0, 0)] * (images.ndim - 2) + [(1, 1), (1, 1)]
    padded = np.pad(images, pad)
    return np.stack([images, padded[..., :-2, 1:-1], padded[..., 2:, 1:-1], padded[..., 1:-1, :-2],
                     padded[..., 1:-1, 2:]])


def thicken(tensor: np.ndarray, pixels: float) -> np.ndarray:
    """Grey dilation of a (28, 28) image by up to one pixel each side, blended: width grows by about 2 * pixels."""
    grown = cross_neighbours(tensor).max(axis=0)
    return tensor + float(np.clip(pixels, 0, 1)) * (grown - tensor)


def count_pieces(mask: np.ndarray, min_size: int = 2) -> int:
    """Number of 8-connected groups of True pixels with at least `min_size` pixels (small masks only)."""
    seen = np.zeros_like(mask, dtype=bool)
    height, width = mask.shape
    pieces = 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start] = True
        stack, size = [start], 0
        while stack:
            r, c = stack.pop()
            size += 1
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < height and 0 <= cc < width and mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        pieces += size >= min_size
    return pieces


def _centred_digit(crop: np.ndarray, config: PreprocessConfig) -> tuple[np.ndarray, tuple[float, float]]:
    """Ink cropped to its bounding box -> (28, 28) tensor, plus the crop's centre of mass (x, y) in crop pixels.

    As MNIST: the longer side is scaled to `digit_box` pixels (anti-aliased), and
    the digit is shifted by whole pixels so that its centre of mass lands on
    pixel (14, 14). Whole-pixel shifts keep the strokes as sharp as MNIST's.
    """
    height, width = crop.shape
    image = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32), mode="F")
    # Box-average big drawings down first: cheap, and the anti-aliased resize then works on a small image.
    factor = max(1, max(height, width) // config.work_side)
    if factor > 1:
        image = image.reduce(factor)
    scale = config.digit_box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.clip(np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32), 0, 1)

    total = float(digit.sum()) or 1.0
    com_row = float(digit.sum(axis=1) @ np.arange(digit.shape[0])) / total
    com_col = float(digit.sum(axis=0) @ np.arange(digit.shape[1])) / total
    top, left = round(SIDE / 2 - com_row), round(SIDE / 2 - com_col)
    tensor = np.zeros((SIDE, SIDE), dtype=np.float32)
    # Paste, clipping whatever a lopsided digit pushes past the border.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + digit.shape[0], SIDE), min(left + digit.shape[1], SIDE)
    tensor[r0:r1, c0:c1] = digit[r0 - top : r1 - top, c0 - left : c1 - left]
    return tensor, ((com_col + 0.5) / scale, (com_row + 0.5) / scale)


def _warnings(d: Diagnostics, canvas_longer_fraction: float) -> tuple[str, ...]:
    """Plain-word notes on what is far outside what MNIST digits look like."""
    notes = []
    if canvas_longer_fraction < 0.25:
        notes.append(f"The drawing is small (about {canvas_longer_fraction:.0%} of the canvas): it was enlarged, "
                     "which also enlarges any wobble. Draw it bigger.")
    if d.touches_edge:
        notes.append("The drawing touches the edge of the canvas: part of it may be cut off.")
    elif d.centre_distance > 0.25:
        notes.append("The drawing is far from the centre; it was moved to the centre, but check nothing is cut off.")
    if d.stroke_width_ratio < 0.55:
        notes.append(f"The strokes are thin (about {d.stroke_width_ratio:.1f}x an MNIST pen): they were thickened, "
                     "but thin lines are still easy to misread. Use a thicker brush or draw smaller.")
    elif d.stroke_width_ratio > 1.8:
        notes.append(f"The strokes are thick (about {d.stroke_width_ratio:.1f}x an MNIST pen): "
                     "loops may fill in. Use a thinner brush or draw bigger.")
    if d.pieces > 2:
        notes.append(f"The drawing has {d.pieces} separate pieces; a digit is usually one or two connected strokes.")
    if d.aspect_ratio > 1.6:
        notes.append("The drawing is much wider than tall; MNIST digits are upright, about as tall as wide or taller.")
    return tuple(notes)


def preprocess(value: Any, config: PreprocessConfig = PreprocessConfig()) -> Preprocessed:
    """A Sketchpad value or image (H x W, H x W x 3, H x W x 4; uint8 or float) -> the 28x28 network input.

    Returns a `Preprocessed` with `empty=True` (and a message) when there is
    nothing to classify. Raises ValueError, naming the problem, for input that
    is not an image: wrong type, channels or dtype, zero size, NaN, too large.
    """
    ink = ink_from_value(value, config)
    height, width = ink.shape
    row_peak, col_peak = ink.max(axis=1), ink.max(axis=0)
    if row_peak.max() <= config.ink_threshold or float(ink.sum()) < config.min_ink_fraction * height * width:
        return Preprocessed(np.zeros((SIDE, SIDE), np.float32), None, True,
                            "The canvas is empty: draw a digit.")

    rows, cols = np.flatnonzero(row_peak > config.bbox_threshold), np.flatnonzero(col_peak > config.bbox_threshold)
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = ink[top:bottom, left:right]
    tensor, (com_x, com_y) = _centred_digit(crop, config)
    drawn_width = stroke_width(tensor)
    if drawn_width < config.thicken_below * MNIST_STROKE_WIDTH:
        tensor = thicken(tensor, (config.thicken_to * MNIST_STROKE_WIDTH - drawn_width) / 2)

    box_height, box_width = bottom - top, right - left
    binary = tensor > 0.5
    diagnostics = Diagnostics(
        stroke_density=float(tensor.sum()),
        ink_coverage=float(binary.mean()),
        bbox_area_ratio=float(box_height * box_width / (height * width)),
        centre_offset=(float((left + com_x) / width - 0.5), float((top + com_y) / height - 0.5)),
        aspect_ratio=float(box_width / box_height),
        stroke_width_ratio=drawn_width / MNIST_STROKE_WIDTH,
        pieces=count_pieces(tensor > config.ink_threshold),
        touches_edge=bool(top == 0 or left == 0 or bottom == height or right == width),
    )
    longer_fraction = max(box_height / height, box_width / width)
    diagnostics = Diagnostics(**{**diagnostics.__dict__, "warnings": _warnings(diagnostics, longer_fraction)})
    return Preprocessed(tensor, diagnostics, False)
