"""The running app through its API, with gradio_client, on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from .app_server import running_app
from .drawing import draw_digit_layer, sketchpad_value


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "app.log"
    with running_app(log) as url:
        yield Client(url, verbose=False)


def composite_png(digit: int, path, theme: str = "light", box=(180, 120, 220, 340), width: int = 34) -> str:
    value = sketchpad_value(draw_digit_layer(digit, 560, box, width), theme)
    Image.fromarray(value["composite"]).save(path)
    return str(path)


def sketchpad_upload(path: str) -> dict:
    # A bare handle_file(path) silently arrives as an empty value: the file goes in "composite".
    return {"background": None, "layers": [], "composite": handle_file(path)}


def test_api_lists_the_named_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/predict", "/predict_image"} <= set(endpoints)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_drawn_digits_are_recognised_through_the_api(client, tmp_path, theme):
    for digit in range(10):
        outputs = client.predict(sketchpad_upload(composite_png(digit, tmp_path / f"{digit}.png", theme)),
                                 api_name="/predict")
        verdict, label, views, diagnostics, result = outputs
        assert result["prediction"] == digit, (digit, result)
        assert len(result["probabilities"]) == 10 and abs(sum(result["probabilities"]) - 1) < 1e-4
        assert str(digit) in verdict and label["label"] == str(digit)
        assert result["diagnostics"]["pieces"] >= 1 and "stroke_width_ratio" in result["diagnostics"]
        pictures = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", views)
        assert len(pictures) == 2  # the network's view and the heatmap
        for picture in pictures:  # 28x28 shown with 10x10 pixels
            assert Image.open(io.BytesIO(base64.b64decode(picture))).size == (280, 280)


def test_empty_canvas_gives_the_empty_state(client):
    verdict, label, views, diagnostics, result = client.predict(
        {"background": None, "layers": [], "composite": None}, api_name="/predict")
    assert result["empty"] and result["prediction"] is None and result["probabilities"] is None
    assert "Draw a digit" in verdict and "data:image" not in views


def test_uploaded_photo_of_a_digit(client, tmp_path):
    rng = np.random.default_rng(0)
    ink = draw_digit_layer(3, 600, (200, 80, 220, 420), 40)[:, :, 3] > 0
    photo = np.where(ink, 50, 210) + rng.normal(0, 6, ink.shape)  # grey pencil on grainy paper
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo.clip(0, 255).astype(np.uint8)).convert("RGB").save(path, quality=85)
    result = client.predict(handle_file(str(path)), api_name="/predict_image")[-1]
    assert result["prediction"] == 3


@pytest.mark.parametrize("name, content, message", [
    ("empty.png", b"", "empty (0 bytes)"),
    ("text.png", b"this is not an image at all", "not an image file"),
    ("broken.png", None, "damaged"),
])
def test_bad_files_get_a_clear_message_and_the_server_keeps_serving(client, tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:  # the first half of a real PNG
        composite_png(1, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(Exception, match=re.escape(message)):
        client.predict(handle_file(str(path)), api_name="/predict_image")
    good = composite_png(7, tmp_path / "good.png")
    assert client.predict(sketchpad_upload(good), api_name="/predict")[-1]["prediction"] == 7
