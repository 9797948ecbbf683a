"""How accuracy holds up when MNIST test digits are drawn the way people draw.

Each distortion is applied to the whole 10k test set with a fixed seed:
shifts, rotations, scaling, thinner and thicker strokes, and the canvas round
trip (the digit enlarged onto an 800x800 Sketchpad layer and brought back by
preprocessing.py). Several models are compared on the same distorted images.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from model import MLP
from preprocessing import cross_neighbours, preprocess
from training.augment import SIDE, bilinear_sample

log = logging.getLogger(__name__)


def affine(images: np.ndarray, rng: np.random.Generator, rotation: float = 0.0, scale: float = 1.0,
           shift: float = 0.0) -> np.ndarray:
    """(n, 784) -> (n, 784): rotate by +-rotation degrees (random sign), scale, shift `shift` px in any direction."""
    n = len(images)
    angle = np.deg2rad(rotation) * rng.choice([-1.0, 1.0], n)
    direction = rng.uniform(0, 2 * np.pi, n)
    dx, dy = shift * np.cos(direction), shift * np.sin(direction)
    centre = (SIDE - 1) / 2
    coords = np.arange(SIDE, dtype=np.float32) - centre
    u, v = coords[None, None, :], coords[None, :, None]
    cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
    # Inverse map: for each output pixel, where to read in the source.
    x = cos * (u - dx[:, None, None]) + sin * (v - dy[:, None, None]) + centre
    y = -sin * (u - dx[:, None, None]) + cos * (v - dy[:, None, None]) + centre
    warped = bilinear_sample(images.reshape(n, SIDE, SIDE), x.astype(np.float32), y.astype(np.float32))
    return np.clip(warped, 0, 1).reshape(n, -1).astype(np.float32)


def stroke_change(images: np.ndarray, thicker: bool) -> np.ndarray:
    """Grey dilation (thicker) or erosion (thinner) with a 3x3 cross: about one pixel of width each way."""
    stack = cross_neighbours(images.reshape(-1, SIDE, SIDE))
    return (stack.max(axis=0) if thicker else stack.min(axis=0)).reshape(len(images), -1)


def digit_on_canvas(digit: np.ndarray, canvas: int, size: int, left: int, top: int) -> dict:
    """A (28, 28) digit enlarged to `size` px at (left, top) on a Sketchpad layer (ink in alpha), as Gradio sends."""
    big = Image.fromarray(digit.astype(np.float32), mode="F").resize((size, size), Image.Resampling.BICUBIC)
    layer = np.zeros((canvas, canvas, 4), dtype=np.uint8)
    layer[top : top + size, left : left + size, 3] = np.round(np.clip(np.asarray(big), 0, 1) * 255)
    return {"background": None, "layers": [layer], "composite": None}


def canvas_round_trip(images: np.ndarray, rng: np.random.Generator, canvas: int = 800) -> np.ndarray:
    """Each digit enlarged to a random size and place on a canvas, then preprocessed back to 28x28."""
    out = np.empty_like(images)
    for i, image in enumerate(images):
        size = int(rng.integers(150, canvas - 40))
        left, top = (int(v) for v in rng.integers(0, canvas - size + 1, 2))
        out[i] = preprocess(digit_on_canvas(image.reshape(SIDE, SIDE), canvas, size, left, top)).tensor.ravel()
    return out


DISTORTIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "none": lambda x, rng: x,
    "shift 2 px": lambda x, rng: affine(x, rng, shift=2),
    "shift 4 px": lambda x, rng: affine(x, rng, shift=4),
    "rotate 15 deg": lambda x, rng: affine(x, rng, rotation=15),
    "rotate 30 deg": lambda x, rng: affine(x, rng, rotation=30),
    "scale 0.7": lambda x, rng: affine(x, rng, scale=0.7),
    "scale 1.25": lambda x, rng: affine(x, rng, scale=1.25),
    "thinner strokes": lambda x, rng: stroke_change(x, thicker=False),
    "thicker strokes": lambda x, rng: stroke_change(x, thicker=True),
    "canvas round trip": canvas_round_trip,
}


def robustness(models: dict[str, MLP], images: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Accuracy of each model under each distortion: {distortion: {model name: accuracy}}."""
    table: dict[str, dict[str, float]] = {}
    for name, distort in DISTORTIONS.items():
        distorted = distort(images, np.random.default_rng(seed))
        table[name] = {m: float((model.logits(distorted).argmax(1) == labels).mean()) for m, model in models.items()}
        log.info("%-18s %s", name, "  ".join(f"{m} {a:.4f}" for m, a in table[name].items()))
    return table


def write_robustness_report(table: dict[str, dict[str, float]], reports_dir: str | Path) -> dict[str, Any]:
    """robustness.json and robustness.png (grouped bars) in reports_dir."""
    from training import plots

    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    picture = plots.grouped_bars_png(table, reports_dir / "robustness.png",
                                     "Test accuracy under distortions (10k MNIST test digits)")
    report = {"accuracy": table, "picture": picture}
    (reports_dir / "robustness.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def markdown_table(table: dict[str, dict[str, float]]) -> str:
    """The table as Markdown, for the README."""
    names = list(next(iter(table.values())))
    lines = ["| distortion | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for distortion, row in table.items():
        lines.append(f"| {distortion} | " + " | ".join(f"{100 * row[n]:.2f}%" for n in names) + " |")
    return "\n".join(lines)
