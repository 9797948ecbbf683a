"""Load on loopback: concurrent gradio_client clients against app.py, and the server's memory over time.

Default: 50 clients send requests together until 5,000 have been answered (each client
sends at least the 20 the goal asks for, about 100 in all). Reported: errors (goal: zero),
p50/p99 latency, throughput, and the server's resident memory when the 500th and the
5,000th answers arrive, under the same load (goal: growth within 10%).
Loopback only, bounded in count and time.

    python benchmarks/bench_load.py [--clients 50] [--total 5000]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import report
from PIL import Image

from tests.app_server import running_app
from tests.drawing import draw_digit_layer, sketchpad_value


def server_rss_mb(port: int) -> float:
    """Resident memory of the process listening on `port` (Linux /proc)."""
    import subprocess

    pid = subprocess.run(["bash", "-c", f"ss -ltnpH 'sport = :{port}' | grep -o 'pid=[0-9]*' | head -1"],
                         capture_output=True, text=True).stdout.strip().removeprefix("pid=")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


class Counter:
    """Answers so far, and the server's memory when the count passed each checkpoint."""

    def __init__(self, port: int, checkpoints: tuple[int, ...]):
        self.lock = threading.Lock()
        self.count = 0
        self.port = port
        self.pending = list(checkpoints)
        self.memory: dict[int, float] = {}

    def add(self) -> int:
        with self.lock:
            self.count += 1
            while self.pending and self.count >= self.pending[0]:
                self.memory[self.pending.pop(0)] = server_rss_mb(self.port)
            return self.count


def run_clients(url: str, png: str, clients: int, counter: Counter, total: int, deadline: float):
    """Each client sends requests until `total` have been answered; returns (latencies, errors, messages)."""
    from gradio_client import Client, handle_file

    def one_client(_: int) -> tuple[list[float], list[str]]:
        client = Client(url, verbose=False)
        value = {"background": None, "layers": [], "composite": handle_file(png)}
        latencies, errors = [], []
        while counter.count < total and time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                result = client.predict(value, api_name="/predict")[-1]
                if result["prediction"] != 5:
                    errors.append(f"wrong answer {result['prediction']}")
            except Exception as err:
                errors.append(f"{type(err).__name__}: {str(err)[:120]}")
            latencies.append(time.perf_counter() - start)
            counter.add()
        return latencies, errors

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    return [t for r in results for t in r[0]], [e for r in results for e in r[1]], [len(r[0]) for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--total", type=int, default=5000, help="requests in all")
    parser.add_argument("--max-minutes", type=float, default=30, help="stop sending after this long")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp())
    png = str(work / "five.png")
    Image.fromarray(sketchpad_value(draw_digit_layer(5, 560, (180, 100, 220, 360), 30))["composite"]).save(png)
    deadline = time.monotonic() + 60 * args.max_minutes
    with running_app(work / "app.log") as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        counter = Counter(port, (500, args.total))
        start = time.perf_counter()
        latencies, errors, per_client = run_clients(url, png, args.clients, counter, args.total, deadline)
        seconds = time.perf_counter() - start
    quantiles = statistics.quantiles(latencies, n=100)
    memory_500, memory_all = counter.memory.get(500), counter.memory.get(args.total)
    report("load", {
        "clients": args.clients, "requests": len(latencies), "min_requests_per_client": min(per_client),
        "errors": len(errors), "error_kinds": dict(collections.Counter(errors).most_common(5)),
        "p50_ms": quantiles[49] * 1e3, "p99_ms": quantiles[98] * 1e3, "throughput_rps": len(latencies) / seconds,
        "rss_mb_after_500": memory_500, "rss_mb_after_all": memory_all,
        "rss_growth": memory_all / memory_500 - 1 if memory_500 and memory_all else None, "goal_rss_growth": 0.10,
    })


if __name__ == "__main__":
    main()
