"""Reliability and security: arbitrary input, hostile files through the app, file routes, killed training."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from gradio_client import Client, handle_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from model import load_weights
from presentation import classify, served_from_metadata
from training.train import CHECKPOINT_FILE, TrainConfig, load_checkpoint

from .app_server import running_app
from .conftest import REPO, mnist_dir
from .drawing import draw_digit_layer


@pytest.fixture(scope="module")
def served():
    return served_from_metadata(*load_weights(REPO / "weights"), source="shipped")


# ---------------------------------------------------------------- fuzzing (more cases: benchmarks/fuzz.py)

ALL_DTYPES = st.sampled_from([np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.int64, np.float16,
                              np.float32, np.float64, np.complex64, bool, np.datetime64, object, str])


def image_like_arrays() -> st.SearchStrategy:
    """Arrays of every dtype and of shapes from empty to a few hundred pixels, 1 to 5 channels, NaN and inf."""
    shapes = st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
        st.tuples(st.integers(0, 300), st.integers(0, 300)),
        st.tuples(st.integers(1, 120), st.integers(1, 120), st.integers(1, 5)),
    )
    return st.one_of(
        hnp.arrays(ALL_DTYPES, shapes),
        hnp.arrays(np.float64, shapes, elements=st.floats(allow_nan=True, allow_infinity=True)),
        shapes.map(lambda shape: np.full(shape, 7, np.uint8)),  # constant images
    )


ANYTHING = st.one_of(
    image_like_arrays(),
    st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(0, 255), max_size=4),
    st.dictionaries(st.sampled_from(["background", "layers", "composite", "x"]),
                    st.one_of(st.none(), image_like_arrays(), st.lists(image_like_arrays(), max_size=2)), max_size=3),
)


def check_one(value, served) -> None:
    """Either a valid outcome or a ValueError with a message; nothing else escapes."""
    try:
        outcome = classify(value, served)
    except ValueError as err:
        assert str(err)
        return
    tensor = outcome.preprocessed.tensor
    assert tensor.shape == (28, 28) and tensor.dtype == np.float32 and np.isfinite(tensor).all()
    assert 0 <= tensor.min() and tensor.max() <= 1
    if outcome.probabilities is not None:
        assert np.isfinite(outcome.probabilities).all() and abs(outcome.probabilities.sum() - 1) < 1e-4


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(ANYTHING)
def test_fuzzed_input_gives_a_result_or_a_value_error(value):
    check_one(value, SERVED_FOR_FUZZ)


SERVED_FOR_FUZZ = served_from_metadata(*load_weights(REPO / "weights"), source="shipped")


@pytest.mark.parametrize("value", [
    np.zeros((4096, 4096), np.uint8),  # the largest allowed: empty, quickly
    np.full((64, 64, 5), 3, np.uint8),
    np.array(5.0),
    np.ones((1, 1)),
    np.full((30, 30), np.nan),
    np.empty((0, 0, 3)),
])
def test_edge_cases(value, served):
    check_one(value, served)


# ---------------------------------------------------------------- hostile files through the running app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "app.log"
    with running_app(log) as url:
        yield url, Client(url, verbose=False)


def hostile_files(folder):
    """name -> (path, words the error message must contain); None: not an error, the result is checked."""
    files = {}
    (folder / "zero.png").write_bytes(b"")
    files["zero-byte file"] = (folder / "zero.png", "empty (0 bytes)")
    (folder / "notes.png").write_text("not an image, just text\n" * 20)
    files["non-image file"] = (folder / "notes.png", "not an image file")
    Image.fromarray(np.full((300, 300), 255, np.uint8)).save(folder / "whole.png")
    data = (folder / "whole.png").read_bytes()
    (folder / "corrupt.png").write_bytes(data[:40] + bytes(200) + data[240:])
    files["corrupt PNG"] = (folder / "corrupt.png", "damaged")
    Image.new("L", (10000, 10000), 255).save(folder / "huge.png", optimize=True)
    files["10000x10000 image"] = (folder / "huge.png", "the limit is 4096 pixels a side")
    alpha_only = np.zeros((400, 400, 4), np.uint8)
    alpha_only[:, :, 3] = draw_digit_layer(7, 400, (120, 60, 160, 280), 28)[:, :, 3]
    Image.fromarray(alpha_only, "RGBA").save(folder / "alpha.png")
    files["alpha channel only"] = (folder / "alpha.png", None)
    return files


def test_hostile_files_get_clear_messages_and_the_server_keeps_serving(app, tmp_path):
    url, client = app
    for name, (path, message) in hostile_files(tmp_path).items():
        if message is None:
            result = client.predict(handle_file(str(path)), api_name="/predict_image")[-1]
            assert result["prediction"] == 7, name  # the drawing lives in the alpha channel
        else:
            with pytest.raises(Exception, match=re.escape(message)) as caught:
                client.predict(handle_file(str(path)), api_name="/predict_image")
            assert "Traceback" not in str(caught.value), name
        # ...and the next request is answered as usual.
        ok = client.predict({"background": None, "layers": [], "composite": None}, api_name="/predict")[-1]
        assert ok["empty"], name


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("target", [
    "/etc/passwd", str(REPO / "app.py"), str(REPO / "weights" / "model.safetensors"), str(REPO / "weights"),
    "app.py", "weights/model.json", "../../../../etc/passwd", str(REPO / ".git" / "config"),
])
def test_file_routes_serve_nothing_outside_what_they_must(app, target):
    url, _ = app
    quoted = urllib.parse.quote(target)
    for route in (f"gradio_api/file={quoted}", f"file={quoted}", f"gradio_api/file/{quoted}"):
        status = status_of(url + route)
        assert status in (400, 403, 404), f"{route} answered {status}"


# ---------------------------------------------------------------- training killed at a random moment


def train_command(run_dir, out) -> list[str]:
    return [sys.executable, "-m", "training", "train", "--hidden-sizes", "24", "--epochs", "4", "--seed", "3",
            "--run-dir", str(run_dir), "--out", str(out)]


def test_training_killed_at_a_random_moment_resumes_to_the_same_weights(tmp_path):
    env = {**os.environ, "MNIST_DIR": str(mnist_dir())}
    reference = tmp_path / "reference"
    subprocess.run(train_command(reference, reference / "weights"), cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=600)
    killed = tmp_path / "killed"
    rng = np.random.default_rng(int(time.time()))  # a different moment on every run
    for _ in range(2):  # kill it twice, at random moments
        process = subprocess.Popen(train_command(killed, killed / "weights"), cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(1.0, 6.0)))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (killed / CHECKPOINT_FILE).exists():  # whatever survived the kill is a whole, loadable checkpoint
            load_checkpoint(killed / CHECKPOINT_FILE, TrainConfig(hidden_sizes=(24,), epochs=4, seed=3))
    subprocess.run(train_command(killed, killed / "weights"), cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=600)
    expected, _ = load_weights(reference / "weights")
    resumed, _ = load_weights(killed / "weights")
    np.testing.assert_array_equal(resumed.flat, expected.flat)
