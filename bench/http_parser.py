"""What h11 costs against httptools for booth-sized uploads (run by hand; prints figures).

`manage.py serve` uses uvicorn's h11 parser because only h11 bounds the request head. This
posts the same multipart uploads to the bare echo app (bench/echo_app.py) under each parser,
so the figures are the transport alone: p50/p95 of sequential uploads, three runs each.
"""

import platform
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.ingest import ROOT, form, free_port, percentile, photo_of_size, unique

SIZES = {"100 KB": 100_000, "1 MB": 1_000_000, "15 MB": 15_000_000}
ROUNDS = {"100 KB": 60, "1 MB": 30, "15 MB": 10}
RUNS = 3
PARSERS = {
    "h11 (serve)": ["--http", "h11", "--h11-max-incomplete-event-size", "65536"],
    "httptools": ["--http", "httptools"],
}


def start(parser_args: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.echo_app:app", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", *parser_args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)  # any answer, even an error, means it is up
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the echo app did not start")


def run_times(base: str, photo: bytes, rounds: int) -> list[float]:
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(rounds):
            data, files = form(unique(photo))
            started = time.perf_counter()
            client.post(base + "/", data=data, files=files).raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def measure(parser_args: list[str], photo: bytes, rounds: int) -> tuple[float, float]:
    """Median over RUNS of each run's p50 and p95, in ms."""
    p50s, p95s = [], []
    for _ in range(RUNS):
        process, base = start(parser_args)
        try:
            times = run_times(base, photo, rounds)
        finally:
            process.terminate()
            process.wait(timeout=10)
        p50s.append(percentile(times, 0.5) * 1000)
        p95s.append(percentile(times, 0.95) * 1000)
    return sorted(p50s)[RUNS // 2], sorted(p95s)[RUNS // 2]


def main() -> None:
    print(f"{platform.machine()}, Python {platform.python_version()}, load {_load()}")
    print("| JPEG | " + " | ".join(f"{name} p50 / p95 ms" for name in PARSERS) + " |")
    print("|---|" + "---|" * len(PARSERS))
    for label, size in SIZES.items():
        photo = photo_of_size(size)
        cells = [measure(args, photo, ROUNDS[label]) for args in PARSERS.values()]
        print(f"| {label} | " + " | ".join(f"{p50:.1f} / {p95:.1f}" for p50, p95 in cells) + " |")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
