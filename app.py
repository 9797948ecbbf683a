"""Draw a digit and see what a pure-NumPy MLP thinks it is, how sure it is, and why.

UI wiring only: preprocessing.py turns the canvas into the network's input,
model/ runs it, presentation.py turns the result into what the page shows.
Run with `python app.py` (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT work as usual).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a user's machine
import gradio as gr  # noqa: E402

from model.hub import load_served_weights  # noqa: E402
from preprocessing import read_image_file  # noqa: E402
from presentation import (  # noqa: E402
    Outcome,
    classify,
    details,
    diagnostics_markdown,
    label_values,
    served_from_metadata,
    verdict_markdown,
    views_html,
)

log = logging.getLogger("app")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CANVAS = 560  # canvas pixels a side
BRUSH = 28  # brush diameter: with a digit drawn over most of the canvas, strokes come out MNIST-thick

# MODEL_REPO / MODEL_REVISION pick pinned Hub weights; otherwise (or if they fail) the shipped ones.
LOADED = load_served_weights(WEIGHTS_DIR)
SERVED = served_from_metadata(LOADED.model, LOADED.metadata, source=LOADED.source)
log.info("serving %s", SERVED.description)


def outputs_for(outcome: Outcome) -> tuple:
    """Outcome -> the values of the output components, in the order of OUTPUTS."""
    return (verdict_markdown(outcome), label_values(outcome), views_html(outcome), diagnostics_markdown(outcome),
            details(outcome, SERVED))


def predict(value: Any) -> tuple:
    """Sketchpad value (or image array) -> everything the page shows."""
    try:
        return outputs_for(classify(value, SERVED))
    except ValueError as err:
        raise gr.Error(str(err)) from None


def predict_file(upload: dict | None) -> tuple:
    """An uploaded image file -> everything the page shows; unreadable files get a clear message.

    The upload event skips Gradio's own decoding (preprocess=False) so that a
    broken file reaches read_image_file, which says what is wrong with it.
    Gradio has already checked that the path lies in its upload folder.
    """
    try:
        return outputs_for(classify(None if not upload else read_image_file(upload["path"]), SERVED))
    except ValueError as err:
        raise gr.Error(str(err)) from None


with gr.Blocks(title="Draw a digit: pure-NumPy MLP") as demo:
    gr.Markdown(
        "# Draw a digit\n"
        "Pick the **brush** (left of the canvas), then draw one digit, 0 to 9, **large and in the middle** of the "
        "white box with your mouse, finger or pen. "
        "A neural network written in plain NumPy answers as you draw, shows the 28x28 picture it actually saw, "
        "and which pixels made up its mind."
    )
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Tabs():
                with gr.Tab("Draw"):
                    sketchpad = gr.Sketchpad(
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(CANVAS, CANVAS),
                        brush=gr.Brush(default_size=BRUSH, colors=["#000000"], color_mode="fixed"),
                        layers=False,
                        label="Canvas",
                        height=CANVAS + 80,
                        elem_id="canvas",
                    )
                    clear = gr.Button("Clear", variant="secondary")
                with gr.Tab("Upload a photo"):
                    upload = gr.Image(type="filepath", sources=["upload", "clipboard"],
                                      label="Photo or image of one digit", elem_id="upload")
        with gr.Column(scale=2):
            verdict = gr.Markdown(elem_id="verdict")
            probabilities = gr.Label(num_top_classes=10, label="Probabilities (calibrated)", elem_id="probabilities")
    views = gr.HTML(elem_id="views")
    diagnostics = gr.Markdown(elem_id="diagnostics")
    with gr.Accordion("Raw numbers (JSON)", open=False):
        raw = gr.JSON(label="API result")
    if LOADED.notice:
        gr.Markdown(f"⚠ {LOADED.notice}", elem_id="weights-notice")
    gr.Markdown(f"Serving {SERVED.description}. The drawing is never stored.", elem_id="served")

    OUTPUTS = [verdict, probabilities, views, diagnostics, raw]
    # .change fires on every stroke (Gradio 6's .input fired with an empty value on the first one).
    sketchpad.change(predict, sketchpad, OUTPUTS, api_name="predict", trigger_mode="always_last",
                     show_progress="hidden")
    upload.change(predict_file, upload, OUTPUTS, api_name="predict_image", show_progress="minimal", preprocess=False)
    clear.click(lambda: None, None, sketchpad, api_visibility="private")
    demo.load(lambda: predict(None), None, OUTPUTS, api_visibility="private")

# One slow request cannot starve the rest: bounded queue, a few handlers at a time.
demo.queue(max_size=64, default_concurrency_limit=4)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # No run history: drawings are not kept, on the server or in the browser. A few worker
    # threads suffice for 4 concurrent handlers; fewer threads also mean fewer malloc arenas.
    demo.launch(max_file_size="10mb", run_history=False, max_threads=8)
