"""Load on loopback: concurrent gradio_client clients against app.py, and the server's memory over time.

Default: 50 clients x 20 requests each (goal: zero errors), reporting p50/p99 latency and
throughput; then requests continue (8 clients) up to 5,000 in all, with the server's
resident memory sampled after 500 and after 5,000 (goal: within 10%).
Loopback only, bounded in count and time.

    python benchmarks/bench_load.py [--clients 50] [--requests 20] [--total 5000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
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


def run_clients(url: str, png: str, clients: int, requests: int, deadline: float) -> tuple[list[float], int]:
    from gradio_client import Client, handle_file

    def one_client(_: int) -> tuple[list[float], int]:
        client = Client(url, verbose=False)
        value = {"background": None, "layers": [], "composite": handle_file(png)}
        latencies, errors = [], 0
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            try:
                result = client.predict(value, api_name="/predict")[-1]
                errors += result["prediction"] != 5
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - start)
        return latencies, errors

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    return [t for r in results for t in r[0]], sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="requests per client in the load phase")
    parser.add_argument("--total", type=int, default=5000, help="requests in all, for the memory check")
    parser.add_argument("--max-minutes", type=float, default=30, help="stop sending after this long")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp())
    png = str(work / "five.png")
    Image.fromarray(sketchpad_value(draw_digit_layer(5, 560, (180, 100, 220, 360), 30))["composite"]).save(png)
    deadline = time.monotonic() + 60 * args.max_minutes
    with running_app(work / "app.log") as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        warm, _ = run_clients(url, png, 8, 500 // 8 + 1, deadline)  # first ~500 requests
        memory_500 = server_rss_mb(port)
        start = time.perf_counter()
        latencies, errors = run_clients(url, png, args.clients, args.requests, deadline)
        load_seconds = time.perf_counter() - start
        done = len(warm) + len(latencies)
        rest = max(0, args.total - done)
        more, more_errors = run_clients(url, png, 8, -(-rest // 8), deadline) if rest else ([], 0)
        memory_total = server_rss_mb(port)
    quantiles = statistics.quantiles(latencies, n=100)
    report("load", {
        "clients": args.clients, "requests_per_client": args.requests, "load_requests": len(latencies),
        "errors": errors + more_errors, "p50_ms": quantiles[49] * 1e3, "p99_ms": quantiles[98] * 1e3,
        "throughput_rps": len(latencies) / load_seconds,
        "requests_in_all": done + len(more), "rss_mb_after_500": memory_500,
        "rss_mb_after_all": memory_total, "rss_growth": memory_total / memory_500 - 1, "goal_rss_growth": 0.10,
    })


if __name__ == "__main__":
    main()
