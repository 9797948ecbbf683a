"""From a drawing to what the page shows: probabilities, the network's view, a heatmap, words.

The last step of the one-way flow canvas -> preprocessing -> model -> presentation.
Pure functions of their inputs; app.py only wires them to Gradio components.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from model import MLP
from preprocessing import MNIST_TYPICAL, Diagnostics, Preprocessed, preprocess

PIXEL = 10  # each of the 28x28 input pixels is shown as a PIXEL x PIXEL square


@dataclass(frozen=True)
class Served:
    """The weights the app serves and the numbers that come with them."""

    model: MLP
    temperature: float  # calibration: probabilities = softmax(logits / temperature)
    not_sure_threshold: float  # below this top probability the page says "not sure"
    description: str  # where the weights come from, for the page
    weights_sha256: str  # identifies exactly which tensors are served


def served_from_metadata(model: MLP, metadata: dict[str, Any], source: str) -> Served:
    calibration = metadata.get("calibration", {})
    accuracy = metadata.get("metrics", {}).get("test_accuracy")
    accuracy_text = f", {accuracy:.2%} on the MNIST test set" if isinstance(accuracy, float) else ""
    sizes = "-".join(str(n) for n in model.config.layer_sizes)
    return Served(
        model=model,
        temperature=float(calibration.get("temperature", 1.0)),
        not_sure_threshold=float(calibration.get("not_sure_threshold", 0.5)),
        description=f"{source}: MLP {sizes}{accuracy_text}",
        weights_sha256=str(metadata.get("weights_sha256", "")),
    )


@dataclass(frozen=True)
class Outcome:
    """Everything the page shows for one drawing."""

    preprocessed: Preprocessed
    probabilities: np.ndarray | None  # (10,) float32, calibrated; None when empty
    saliency: np.ndarray | None  # (28, 28) float32: gradient x input for the predicted class
    sure: bool
    reason: str  # why "not sure" (empty when sure)

    @property
    def predicted(self) -> int | None:
        return None if self.probabilities is None else int(self.probabilities.argmax())


def looks_unlike_a_digit(d: Diagnostics) -> str:
    """A reason when the drawing is far outside anything MNIST holds; empty if it could be a digit."""
    if d.pieces > 3:
        return f"it has {d.pieces} separate pieces"
    if d.ink_coverage > 0.36:  # the most ink any MNIST digit has is 0.35
        return "it is mostly a filled blob"
    if d.aspect_ratio > 2.2:
        return "it is much wider than any digit"
    return ""


def classify(value: Any, served: Served) -> Outcome:
    """Sketchpad value or image -> Outcome. Raises ValueError for input that is not an image."""
    pre = preprocess(value)
    if pre.empty:
        return Outcome(pre, None, None, False, pre.message)
    x = pre.tensor.reshape(1, 784)
    probabilities = served.model.predict_proba(x, served.temperature)[0]
    predicted = int(probabilities.argmax())
    saliency = (served.model.input_gradient(x, predicted) * x).reshape(28, 28)
    reason = looks_unlike_a_digit(pre.diagnostics)
    if not reason and probabilities[predicted] < served.not_sure_threshold:
        reason = f"the top probability {probabilities[predicted]:.0%} is below {served.not_sure_threshold:.0%}"
    return Outcome(pre, probabilities, saliency, not reason, reason)


# ---------------------------------------------------------------- rendering


def _enlarge(rgb: np.ndarray) -> np.ndarray:
    """(28, 28, 3) uint8 -> (280, 280, 3) with sharp pixels and a faint grid, so each input pixel is visible."""
    big = np.repeat(np.repeat(rgb, PIXEL, axis=0), PIXEL, axis=1)
    grid = big.astype(np.int16)
    grid[::PIXEL, :] += 28
    grid[:, ::PIXEL] += 28
    return np.clip(grid, 0, 255).astype(np.uint8)


def network_view(tensor: np.ndarray) -> np.ndarray:
    """The (28, 28) input as the network sees it: white ink on black, enlarged."""
    grey = np.round(tensor * 255).astype(np.uint8)
    return _enlarge(np.repeat(grey[:, :, None], 3, axis=2))


def saliency_view(tensor: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """The input in grey with red where pixels pushed toward the answer and blue where they pushed against."""
    scale = float(np.abs(saliency).max()) or 1.0
    push = np.clip(saliency / scale, -1, 1)[:, :, None]
    base = (0.35 * tensor)[:, :, None] * np.ones(3)
    red, blue = np.array([1.0, 0.15, 0.1]), np.array([0.2, 0.45, 1.0])
    rgb = base + np.clip(push, 0, 1) * red + np.clip(-push, 0, 1) * blue
    return _enlarge(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def png_data_uri(rgb: np.ndarray) -> str:
    """(H, W, 3) uint8 -> a data: URI holding a PNG, to embed in the page without a file."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def views_html(outcome: Outcome) -> str:
    """The network's view and the heatmap side by side, as HTML with embedded PNGs.

    Embedding (instead of image files) keeps each answer to one response: no
    files to write on the server or to fetch afterwards.
    """
    pre = outcome.preprocessed
    if pre.empty or outcome.saliency is None:
        return "<div class='views-empty'>The 28x28 picture the network sees appears here.</div>"
    figures = [
        (network_view(pre.tensor), "What the network saw: 28x28, white = ink"),
        (saliency_view(pre.tensor, outcome.saliency), "Why: red pixels pushed toward the answer, blue against"),
    ]
    cells = "".join(
        f"<figure style='margin:0'><img src='{png_data_uri(rgb)}' width='280' height='280' alt='{caption}' "
        f"style='image-rendering:pixelated'><figcaption>{caption}</figcaption></figure>"
        for rgb, caption in figures)
    return f"<div style='display:flex;gap:24px;flex-wrap:wrap'>{cells}</div>"


def label_values(outcome: Outcome) -> dict[str, float] | None:
    """All ten class probabilities, for gr.Label."""
    if outcome.probabilities is None:
        return None
    return {str(digit): float(p) for digit, p in enumerate(outcome.probabilities)}


def verdict_markdown(outcome: Outcome) -> str:
    if outcome.probabilities is None:
        return "### Draw a digit (0-9) in the box\nThe answer appears as you draw."
    p = outcome.probabilities
    first, second = np.argsort(p)[::-1][:2]
    if outcome.sure:
        return f"### It's a **{first}** ({p[first]:.0%} sure)"
    return (f"### Not sure: maybe **{first}** ({p[first]:.0%}) or **{second}** ({p[second]:.0%})\n"
            f"Because {outcome.reason}. Try redrawing it larger, centred, as one clear digit.")


DIAGNOSTIC_ROWS = [
    ("stroke_width_ratio", "Stroke width", "{:.2f}x", "pen width as drawn, compared with a typical MNIST digit"),
    ("stroke_density", "Stroke density", "{:.0f}", "total ink in the 28x28 input"),
    ("ink_coverage", "Ink coverage", "{:.1%}", "share of the 28x28 input that is ink"),
    ("aspect_ratio", "Aspect ratio", "{:.2f}", "width / height of the drawing"),
]


def diagnostics_markdown(outcome: Outcome) -> str:
    """The diagnostics as a table beside MNIST's typical range, then the warnings in words."""
    d = outcome.preprocessed.diagnostics
    if d is None:
        return ""
    lines = ["| measure | your drawing | typical MNIST | meaning |", "|---|---|---|---|"]
    values = d.as_dict()
    for key, name, fmt, meaning in DIAGNOSTIC_ROWS:
        low, high = MNIST_TYPICAL[key]
        mark = "" if low <= values[key] <= high else " ⚠"
        typical = f"{fmt.format(low)} to {fmt.format(high)}"
        lines.append(f"| {name} | {fmt.format(values[key])}{mark} | {typical} | {meaning} |")
    lines.append(f"| Centre offset | {d.centre_distance:.0%} of the canvas | moved to the centre | "
                 "how far the drawing's centre of mass was from the canvas centre |")
    lines.append(f"| Area used | {d.bbox_area_ratio:.0%} of the canvas | scaled to 20x20 px | "
                 "bounding box of the ink |")
    lines.append(f"| Pieces | {d.pieces} | 1 (sometimes 2) | separate strokes that do not touch |")
    if d.warnings:
        lines.append("")
        lines += [f"- ⚠ {w}" for w in d.warnings]
    else:
        lines.append("\nNothing unusual: the drawing looks like an MNIST digit after preprocessing.")
    return "\n".join(lines)


def details(outcome: Outcome, served: Served) -> dict[str, Any]:
    """Machine-readable result for the API: probabilities, prediction, diagnostics, which weights answered."""
    pre = outcome.preprocessed
    return {
        "weights": {"source": served.description, "sha256": served.weights_sha256},
        "empty": pre.empty,
        "prediction": outcome.predicted,
        "sure": outcome.sure,
        "reason": outcome.reason,
        "probabilities": None if outcome.probabilities is None else [round(float(p), 6) for p in outcome.probabilities],
        "diagnostics": None if pre.diagnostics is None else pre.diagnostics.as_dict(),
    }
