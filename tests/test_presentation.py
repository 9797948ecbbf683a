"""What the page says: sure, not sure, empty, and the embedded pictures."""

from __future__ import annotations

import dataclasses

import numpy as np

from presentation import classify, details, diagnostics_markdown, verdict_markdown, views_html

from .drawing import draw_digit_layer


def layer_value(layer: np.ndarray) -> dict:
    return {"background": None, "layers": [layer], "composite": None}


def test_a_clear_digit_is_answered_with_its_probability(served):
    outcome = classify(layer_value(draw_digit_layer(3)), served)
    assert outcome.sure and outcome.predicted == 3
    assert verdict_markdown(outcome).startswith("### It's a **3** (")
    assert views_html(outcome).count("data:image/png;base64,") == 2
    assert "| Stroke width |" in diagnostics_markdown(outcome)
    result = details(outcome, served)
    assert result["prediction"] == 3 and result["weights"]["sha256"] == served.weights_sha256


def test_low_top_probability_says_not_sure_and_names_two_digits(served):
    strict = dataclasses.replace(served, not_sure_threshold=1.01)  # nothing can be that sure
    outcome = classify(layer_value(draw_digit_layer(3)), strict)
    assert not outcome.sure and "is below 101%" in outcome.reason
    verdict = verdict_markdown(outcome)
    assert verdict.startswith("### Not sure: maybe **3**") and " or **" in verdict


def test_a_drawing_unlike_any_digit_is_not_sure(served):
    scribbles = np.zeros((600, 600, 4), np.uint8)
    for x in (60, 180, 300, 420):  # four separate bars
        scribbles[150:450, x : x + 40, 3] = 255
    outcome = classify(layer_value(scribbles), served)
    assert not outcome.sure and "4 separate pieces" in outcome.reason
    blob = np.zeros((600, 600, 4), np.uint8)
    blob[100:500, 150:450, 3] = 255  # a filled rectangle
    assert "filled blob" in classify(layer_value(blob), served).reason


def test_empty_canvas_is_an_empty_state(served):
    outcome = classify({"background": None, "layers": [], "composite": None}, served)
    assert outcome.probabilities is None and not outcome.sure
    assert "Draw a digit" in verdict_markdown(outcome) and "data:image" not in views_html(outcome)
    assert diagnostics_markdown(outcome) == "" and details(outcome, served)["empty"]
