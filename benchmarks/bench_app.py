"""App speed: the server-side handler (goal: median <= 10 ms for an 800x800 canvas) and the
gradio_client round trip on loopback against an empty Gradio handler in the same run
(goal: at most 1.2x that floor).

    python benchmarks/bench_app.py [--requests 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import median_seconds, report
from PIL import Image

from tests.app_server import free_port, running_app
from tests.drawing import draw_digit_layer, sketchpad_value


def empty_app(port: int):
    """The same input component with a handler that does nothing: Gradio's own floor."""
    import gradio as gr

    with gr.Blocks() as demo:
        pad = gr.Sketchpad(type="numpy", canvas_size=(560, 560))
        out = gr.Markdown()
        pad.change(lambda value: "", pad, out, api_name="predict")
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return demo


def round_trips(url: str, png: str, n: int) -> list[float]:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    value = {"background": None, "layers": [], "composite": handle_file(png)}
    for _ in range(3):
        client.predict(value, api_name="/predict")
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        client.predict(value, api_name="/predict")
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="timed round trips per server")
    args = parser.parse_args()

    import app  # builds the UI and loads the weights, as the server does

    value = sketchpad_value(draw_digit_layer(5, 800, (250, 150, 300, 500), 40))
    handler = median_seconds(lambda: app.predict(value), repeats=200)

    work = Path(tempfile.mkdtemp())
    png = str(work / "five.png")
    Image.fromarray(sketchpad_value(draw_digit_layer(5, 560, (180, 100, 220, 360), 30))["composite"]).save(png)
    port = free_port()
    floor_app = empty_app(port)
    with running_app(work / "app.log") as url:
        ours = round_trips(url, png, args.requests)
        floor = round_trips(f"http://127.0.0.1:{port}/", png, args.requests)
    floor_app.close()
    report("app", {
        "handler_ms_median": handler * 1e3, "goal_handler_ms": 10,
        "round_trip_ms_median": statistics.median(ours) * 1e3,
        "empty_handler_round_trip_ms_median": statistics.median(floor) * 1e3,
        "round_trip_ratio": statistics.median(ours) / statistics.median(floor), "goal_round_trip_ratio": 1.2,
    })


if __name__ == "__main__":
    main()
