"""Synthetic drawings for tests and benchmarks: hand-made stroke paths and MNIST digits put on a canvas.

Stroke paths are in a unit box (x right, y down); each digit is a list of
strokes, each stroke a list of points, the way a person would draw it. The
browser test replays the same paths with the mouse.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from training.robustness import digit_on_canvas


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 10) -> list[tuple]:
    """Points on an ellipse from angle `start` to `stop` (degrees, 0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 270, 14)],
    1: [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [_arc(0.5, 0.3, 0.3, 0.28, 200, 360, 6) + [(0.75, 0.45), (0.2, 1.0), (0.85, 1.0)]],
    3: [_arc(0.48, 0.25, 0.3, 0.25, 200, 450, 8) + _arc(0.48, 0.74, 0.33, 0.26, -90, 160, 8)],
    4: [[(0.6, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 1.0)]],
    5: [[(0.8, 0.0), (0.25, 0.0), (0.2, 0.42)] + _arc(0.48, 0.68, 0.33, 0.3, -120, 150, 9)],
    6: [[(0.7, 0.0), (0.35, 0.35)] + _arc(0.5, 0.72, 0.3, 0.28, 190, 550, 12)],
    7: [[(0.1, 0.0), (0.9, 0.0), (0.4, 1.0)]],
    8: [_arc(0.5, 0.25, 0.25, 0.24, 90, 450, 12), _arc(0.5, 0.73, 0.3, 0.26, -90, 270, 12)],
    9: [_arc(0.5, 0.28, 0.3, 0.27, 0, 360, 12) + [(0.8, 0.28), (0.72, 1.0)]],
}


def draw_digit_layer(
    digit: int, canvas: int = 800, box: tuple[float, float, float, float] = (250, 150, 300, 500), width: int = 40,
) -> np.ndarray:
    """The digit's strokes drawn with a round brush of binary ink into an RGBA layer, as Gradio's Sketchpad sends.

    box = (left, top, box_width, box_height) in canvas pixels. Returns (canvas, canvas, 4) uint8:
    black ink with alpha 255, transparent elsewhere.
    """
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    left, top, box_width, box_height = box
    for stroke in DIGIT_STROKES[digit]:
        # Whole-pixel points, as mouse events have: moving the box by whole pixels moves the ink exactly.
        points = [(int(np.floor(left + x * box_width + 0.5)), int(np.floor(top + y * box_height + 0.5)))
                  for x, y in stroke]
        radius = width // 2
        pen.line(points, fill=(0, 0, 0, 255), width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(0, 0, 0, 255))
    return np.asarray(layer)


def sketchpad_value(layer: np.ndarray, theme: str = "light") -> dict:
    """A Sketchpad value as Gradio sends it: the layer plus a composite on the theme's background."""
    background = {"light": 255, "dark": 0x33}[theme]
    alpha = layer[:, :, 3:4].astype(np.float32) / 255
    rgb = background * (1 - alpha) + layer[:, :, :3] * alpha
    composite = np.concatenate([rgb, np.full_like(alpha, 255)], axis=2).astype(np.uint8)
    return {"background": None, "layers": [layer], "composite": composite}


def mnist_on_canvas(digit: np.ndarray, canvas: int, size: int, left: int, top: int, mode: str) -> np.ndarray | dict:
    """A (28, 28) float MNIST digit upscaled to `size` pixels and placed on a canvas.

    mode: "alpha" (Sketchpad value, ink in a layer's alpha), "light" (black on white image),
    "dark" (black ink on the dark theme's #333333), "inverted" (white ink on black, like MNIST).
    """
    big = np.asarray(Image.fromarray(digit.astype(np.float32), mode="F").resize((size, size), Image.Resampling.BICUBIC))
    ink = np.zeros((canvas, canvas), dtype=np.float32)
    ink[top : top + size, left : left + size] = np.clip(big, 0, 1)
    if mode == "alpha":
        return digit_on_canvas(digit, canvas, size, left, top)
    if mode == "light":
        return np.round(255 * (1 - ink)).astype(np.uint8)
    if mode == "dark":
        grey = np.round(0x33 * (1 - ink)).astype(np.uint8)
        return np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=2)
    if mode == "inverted":
        return np.repeat(np.round(255 * ink).astype(np.uint8)[:, :, None], 3, axis=2)
    raise ValueError(f"unknown mode {mode!r}")
