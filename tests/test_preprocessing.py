"""Canvas -> 28x28: known outputs, every input form, bad input, MNIST round trips and drawn strokes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from preprocessing import MNIST_STROKE_WIDTH, MNIST_TYPICAL, PreprocessConfig, count_pieces, preprocess, stroke_width

from .drawing import DIGIT_STROKES, draw_digit_layer, mnist_on_canvas, sketchpad_value

EMPTY_SKETCHPAD = {"background": None, "layers": [], "composite": None}


def layer_value(layer: np.ndarray) -> dict:
    return {"background": None, "layers": [layer], "composite": None}


def aligned_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference after the best shift by at most one pixel (centring rounds to whole pixels)."""
    return min(float(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).mean()) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


# ---------------------------------------------------------------- known outputs


def test_an_mnist_digit_comes_back_unchanged(mnist):
    # MNIST digits already follow the recipe, so preprocessing them is (nearly) the identity.
    images = (mnist.test_images[:300] * 255).round().astype(np.uint8).reshape(-1, 28, 28)
    outputs = np.stack([preprocess(image).tensor for image in images])
    assert np.abs(outputs - images / 255).mean() < 0.002


def test_square_block_is_scaled_to_20_pixels_and_centred():
    canvas = np.zeros((400, 400), np.uint8)
    canvas[50:150, 250:350] = 255  # a 100x100 white block, off centre
    result = preprocess(canvas)
    rows, cols = np.nonzero(result.tensor > 0.5)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 23, 4, 23)
    assert result.tensor.dtype == np.float32 and result.tensor.shape == (28, 28)
    np.testing.assert_allclose(result.tensor[4:24, 4:24], 1.0, atol=1e-6)
    d = result.diagnostics
    assert d.bbox_area_ratio == pytest.approx(100 * 100 / 400**2)
    assert d.centre_offset == pytest.approx((0.25, -0.25), abs=1e-6)
    assert d.aspect_ratio == 1.0 and d.pieces == 1 and not d.touches_edge


def test_tall_bar_keeps_its_aspect_ratio():
    canvas = np.full((300, 300, 3), 255, np.uint8)
    canvas[50:250, 140:160] = 0  # black bar, 200 tall and 20 wide, on white
    tensor = preprocess(canvas).tensor
    rows, cols = np.nonzero(tensor > 0.5)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 2


def test_stroke_width_and_piece_count_by_hand():
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 12:15] = 1.0  # 3 pixels wide
    assert stroke_width(bar) == pytest.approx(3.0, rel=0.15)
    two = np.zeros((28, 28), bool)
    two[2:5, 2:5] = two[20:22, 20:23] = True
    two[10, 10] = True  # a single pixel is noise, not a piece
    assert count_pieces(two) == 2


def test_typical_mnist_stroke_width_constant(mnist):
    widths = [stroke_width(image.reshape(28, 28)) for image in mnist.train_images]
    assert np.median(widths) == pytest.approx(MNIST_STROKE_WIDTH, rel=0.02)


def test_typical_ranges_shown_to_users_match_mnist(mnist):
    diagnostics = [preprocess(image.reshape(28, 28)).diagnostics.as_dict() for image in mnist.train_images[:20000]]
    for name, (low, high) in MNIST_TYPICAL.items():
        values = [d[name] for d in diagnostics]
        assert np.percentile(values, 5) == pytest.approx(low, rel=0.05), name
        assert np.percentile(values, 95) == pytest.approx(high, rel=0.05), name


# ---------------------------------------------------------------- input forms


def test_every_form_of_the_same_drawing_gives_the_same_tensor():
    layer = draw_digit_layer(4, box=(200, 150, 350, 500), width=40)
    reference = preprocess(layer_value(layer)).tensor
    alpha = layer[:, :, 3]
    forms = {
        "light composite": sketchpad_value(layer, "light")["composite"],
        "dark composite (#333 canvas, black ink)": sketchpad_value(layer, "dark")["composite"],
        "value with composite only": {**EMPTY_SKETCHPAD, "composite": sketchpad_value(layer)["composite"]},
        "grey, black on white": 255 - alpha,
        "grey, white on black": alpha,
        "float grey in [0, 1]": alpha / 255.0,
        "float grey in [0, 255]": alpha.astype(np.float64),
        "RGB": np.repeat(alpha[:, :, None], 3, axis=2),
        "grey + alpha": np.stack([np.zeros_like(alpha), alpha], axis=2),
        "bool": alpha > 127,
        "uint16": alpha.astype(np.uint16) * 257,
        "two layers": {"background": None, "layers": [layer, np.zeros_like(layer)], "composite": None},
    }
    for name, value in forms.items():
        assert np.abs(preprocess(value).tensor - reference).max() < 0.02, name


def test_photo_like_image_with_uneven_paper_and_noise():
    rng = np.random.default_rng(0)
    layer = draw_digit_layer(7, width=45)
    paper = 200 + 30 * np.linspace(0, 1, 800)[None, :] + rng.normal(0, 4, (800, 800))  # shaded, grainy paper
    photo = np.where(layer[:, :, 3] > 0, 40 + rng.normal(0, 4, (800, 800)), paper).clip(0, 255).astype(np.uint8)
    reference = preprocess(layer_value(layer)).tensor
    assert aligned_difference(preprocess(photo).tensor, reference) < 0.05


@pytest.mark.parametrize("value", [
    None,
    EMPTY_SKETCHPAD,
    layer_value(np.zeros((600, 600, 4), np.uint8)),
    {**layer_value(np.zeros((600, 600, 4), np.uint8)), "composite": np.full((600, 600, 4), 255, np.uint8)},
    np.full((500, 500, 3), 255, np.uint8),
    np.full((500, 500), 0x33, np.uint8),
    np.zeros((28, 28), np.float32),
])
def test_empty_canvas_gives_an_empty_result_never_a_guess(value):
    result = preprocess(value)
    assert result.empty and result.diagnostics is None
    assert "empty" in result.message
    assert not result.tensor.any() and result.tensor.shape == (28, 28)


def test_a_speck_is_near_empty():
    layer = np.zeros((800, 800, 4), np.uint8)
    layer[400:405, 400:405, 3] = 255
    assert preprocess(layer_value(layer)).empty


@pytest.mark.parametrize("value, message", [
    ("a string", "expected an image array, got str"),
    ([[0, 1], [1, 0]], "expected an image array, got list"),
    (np.zeros((2, 2, 2, 2)), "expected an H x W or H x W x C image"),
    (np.zeros((10, 10, 5)), "expected 1 to 4 channels"),
    (np.zeros((0, 10)), "zero size"),
    (np.full((10, 10), np.nan), "NaN or infinite"),
    (np.full((10, 10), np.inf, np.float32), "NaN or infinite"),
    (np.full((10, 10), -1.0), r"float pixels must be in \[0, 1\] or \[0, 255\]"),
    (np.full((10, 10), 300, np.int64), "integer pixels must be in 0..255"),
    (np.zeros((10, 10), complex), "not a number type"),
    (np.zeros((10, 10), object), "not a number type"),
    (np.zeros((5000, 10), np.uint8), "the limit is 4096 pixels a side"),
    ({"foo": 1}, "expected a Sketchpad value"),
    ({"layers": "nope"}, "layers must be a list"),
    ({"layers": [np.zeros((10, 10), np.uint8)]}, "layers must be RGBA"),
    ({"layers": [np.zeros((10, 10, 4), np.uint8), np.zeros((12, 10, 4), np.uint8)]}, "differ in size"),
])
def test_bad_input_raises_a_clear_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        preprocess(value)


# ---------------------------------------------------------------- acceptance: MNIST round trip


def test_mnist_digits_drawn_large_on_canvases_keep_their_accuracy(mnist, shipped):
    """MNIST test digits upscaled onto 800x800 canvases, in four forms, lose at most 0.5 point of accuracy."""
    model, _ = shipped
    rng = np.random.default_rng(0)
    n = 400
    images, labels = mnist.test_images[:n].reshape(-1, 28, 28), mnist.test_labels[:n]
    original = float((model.logits(mnist.test_images[:n]).argmax(1) == labels).mean())
    for mode in ("alpha", "light", "dark", "inverted"):
        tensors = []
        for image in images:
            size = int(rng.integers(150, 760))
            left, top = (int(v) for v in rng.integers(0, 800 - size + 1, 2))
            result = preprocess(mnist_on_canvas(image, 800, size, left, top, mode))
            tensors.append(result.tensor.reshape(784))
        accuracy = float((model.logits(np.stack(tensors)).argmax(1) == labels).mean())
        assert accuracy >= original - 0.005, f"{mode}: {accuracy:.4f} vs {original:.4f} on 28x28"


# ---------------------------------------------------------------- acceptance: drawn strokes


DIAGNOSTICS_VS_MNIST = ("stroke_density", "ink_coverage", "stroke_width_ratio", "aspect_ratio", "pieces")


@pytest.fixture(scope="module")
def mnist_ranges(mnist):
    """The span of each tensor diagnostic over the MNIST test digits."""
    diagnostics = [preprocess(image.reshape(28, 28)).diagnostics.as_dict() for image in mnist.test_images]
    return {name: (min(d[name] for d in diagnostics), max(d[name] for d in diagnostics))
            for name in DIAGNOSTICS_VS_MNIST}


@pytest.mark.parametrize("width", [20, 35, 50])
@pytest.mark.parametrize("box", [(250, 150, 300, 500), (60, 80, 220, 330), (300, 250, 420, 520)])
def test_drawn_digits_look_like_mnist_and_are_recognised(width, box, mnist_ranges, shipped):
    model, _ = shipped
    for digit in DIGIT_STROKES:
        result = preprocess(layer_value(draw_digit_layer(digit, 800, box, width)))
        diagnostics = result.diagnostics.as_dict()
        for name, (low, high) in mnist_ranges.items():
            assert low <= diagnostics[name] <= high, f"digit {digit}: {name} {diagnostics[name]} not in {low}..{high}"
        assert model.logits(result.tensor.reshape(1, 784)).argmax() == digit


def test_warnings_in_plain_words():
    tiny = preprocess(layer_value(draw_digit_layer(2, box=(380, 380, 40, 60), width=6))).diagnostics
    assert any("small" in w for w in tiny.warnings)
    thin = preprocess(layer_value(draw_digit_layer(2, box=(150, 100, 450, 600), width=6))).diagnostics
    assert any("thin" in w for w in thin.warnings)
    thick = preprocess(layer_value(draw_digit_layer(8, box=(250, 200, 250, 400), width=110))).diagnostics
    assert any("thick" in w for w in thick.warnings)
    edge = preprocess(layer_value(draw_digit_layer(1, box=(600, 0, 200, 500), width=40))).diagnostics
    assert any("edge" in w for w in edge.warnings)
    spots = np.zeros((600, 600, 4), np.uint8)
    for x in (100, 250, 400):
        spots[100:500, x : x + 40, 3] = 255
    assert any("3 separate pieces" in w for w in preprocess(layer_value(spots)).diagnostics.warnings)
    good = preprocess(layer_value(draw_digit_layer(5, box=(250, 150, 300, 500), width=45))).diagnostics
    assert good.warnings == ()


# ---------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digit=st.integers(0, 9), dx=st.integers(-150, 150), dy=st.integers(-100, 100))
def test_moving_the_drawing_does_not_change_the_output(digit, dx, dy):
    base = preprocess(layer_value(draw_digit_layer(digit, 800, (250, 150, 300, 500), 40))).tensor
    moved = preprocess(layer_value(draw_digit_layer(digit, 800, (250 + dx, 150 + dy, 300, 500), 40))).tensor
    np.testing.assert_array_equal(moved, base)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Up to 2.0x, the scaled drawing (box 100 + 330 * 2.0 px, plus the brush) still fits on the 800 px canvas;
# beyond that it is cut off at the edge, which is another case (see the "touches the edge" warning).
@given(digit=st.integers(0, 9), scale=st.floats(0.4, 2.0))
def test_scaling_the_drawing_changes_the_output_by_at_most_0_04(digit, scale):
    """Tolerance: mean absolute pixel difference <= 0.04, after aligning by at most one pixel."""
    base = preprocess(layer_value(draw_digit_layer(digit, 800, (100, 100, 200, 330), 30))).tensor
    box = (100, 100, 200 * scale, 330 * scale)
    scaled = preprocess(layer_value(draw_digit_layer(digit, 800, box, round(30 * scale)))).tensor
    assert aligned_difference(scaled, base) <= 0.04


image_dtypes = st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64, bool])


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(image_dtypes, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=40)))
def test_any_array_gives_a_valid_tensor_or_a_value_error(array):
    try:
        result = preprocess(array)
    except ValueError as err:
        assert str(err)
        return
    assert result.tensor.shape == (28, 28) and result.tensor.dtype == np.float32
    assert np.isfinite(result.tensor).all() and 0 <= result.tensor.min() and result.tensor.max() <= 1
    assert result.empty == (result.diagnostics is None)


def test_config_is_validated():
    with pytest.raises(ValueError, match="digit_box"):
        PreprocessConfig(digit_box=40)
    with pytest.raises(ValueError, match="min_contrast"):
        PreprocessConfig(min_contrast=2)
