"""Preprocessing speed: an 800x800 RGBA Sketchpad value to the 28x28 tensor (goal: median <= 5 ms).

Printed next to a plain full-canvas Pillow resize of the same canvas, as a reference
measured in the same run.

    python benchmarks/bench_preprocessing.py
"""

from __future__ import annotations

import numpy as np
from common import median_seconds, report
from PIL import Image

from preprocessing import preprocess
from tests.drawing import draw_digit_layer, sketchpad_value


def main() -> None:
    results = {}
    for name, box, width in [("typical", (250, 150, 300, 500), 40), ("large, thin pen", (60, 40, 680, 720), 8)]:
        value = sketchpad_value(draw_digit_layer(3, 800, box, width))
        ours = median_seconds(lambda v=value: preprocess(v), repeats=300)
        canvas = Image.fromarray(value["composite"])
        pillow = median_seconds(lambda c=canvas: c.convert("L").resize((28, 28), Image.Resampling.BILINEAR),
                                repeats=300)
        results[name] = {"preprocess_ms": ours * 1e3, "pillow_resize_ms": pillow * 1e3, "ratio": ours / pillow}
    empty = {"background": None, "layers": [np.zeros((800, 800, 4), np.uint8)], "composite": None}
    results["empty canvas"] = {"preprocess_ms": median_seconds(lambda: preprocess(empty), repeats=300) * 1e3}
    report("preprocessing", {"canvas": "800x800 RGBA Sketchpad value", **results, "goal_ms": 5})


if __name__ == "__main__":
    main()
