"""Ingest benchmark (run by hand: `make bench`; prints figures, writes bench/RESULTS.md).

With `--provider gemini`, slot-006 goes to the loopback fake Gemini instead and only (a) is
measured: the whole ingest path with the real driver, minus any provider thinking time.

Starts PhotoChanger under uvicorn (one worker, SQLite, slot-003 on the `local` provider in
pass-through mode) and a bare-ASGI multipart echo app, then measures for ~100 KB, 1 MB and
15 MB JPEGs:
  (a) p50/p95 ingest latency, sequential uploads;
  (b) the same upload to the echo app, and the ratio ingest / echo;
  (c) the server's peak RSS while 15 uploads of the size run at once;
  (d) the event loop's worst lag meanwhile, from the server's own watchdog
      (photochanger/loop_monitor.py, threshold lowered to 1 ms for the run).
"""

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"  # noqa: S105  (a throw-away local server)
SETUP = """
from slots.models import Slot
from core.runtime import set_runtime_setting
Slot.objects.filter(pk="slot-003").update(operation="passthrough", settings_json={})
set_runtime_setting(key="per_slot_concurrency", value=100)
set_runtime_setting(key="per_provider_concurrency", value={"local": 100})
set_runtime_setting(key="max_upload_mb", value=20)
"""
SIZES = {"100 KB": 100_000, "1 MB": 1_000_000, "15 MB": 15_000_000}
ROUNDS = {"100 KB": 60, "1 MB": 20, "15 MB": 8}
CONCURRENT = 15


def photo_of_size(target: int) -> bytes:
    """A photo-like JPEG (gradient + noise) of about `target` bytes."""
    side = 256
    while True:
        gradient = Image.linear_gradient("L").resize((side, side * 3 // 4))
        noise = Image.effect_noise(gradient.size, 40)
        image = Image.merge("RGB", (gradient, Image.blend(gradient, noise, 0.5), noise))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92)
        if out.tell() >= target * 0.9:
            return out.getvalue()
        side = int(side * (target / out.tell()) ** 0.5 * 1.05)


def unique(photo: bytes) -> bytes:
    # Bytes after the JPEG end marker change the digest, so no upload is a replay.
    return photo + os.urandom(16)


def form(photo: bytes) -> tuple[dict, dict]:
    data = {"password": PASSWORD, "hash": "0" * 40, "time": "1758217512", "user_id": "bench"}
    return data, {"fileToUpload": ("IMG_0001.JPG", photo, "image/jpeg")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(app: str, env: dict, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def latencies(url: str, photo: bytes, rounds: int) -> list[float]:
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(rounds):
            data, files = form(unique(photo))
            started = time.perf_counter()
            response = client.post(url, data=data, files=files)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak_rss(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0) so each phase has its own peak.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def concurrent_phase(url: str, photo: bytes, log_path: Path) -> tuple[float, list[int]]:
    """Run CONCURRENT uploads at once; return the worst loop stall (ms) and the statuses."""
    offset = log_path.stat().st_size

    def upload(body: bytes) -> int:
        data, files = form(body)
        return httpx.post(url, data=data, files=files, timeout=120).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        statuses = list(pool.map(upload, [unique(photo) for _ in range(CONCURRENT)]))
    time.sleep(0.1)  # let the watchdog report the last stall
    with log_path.open("rb") as log:
        log.seek(offset)
        stalls = [
            json.loads(line)["lag_ms"]
            for line in log
            if b"event_loop.blocked" in line and line.startswith(b"{")
        ]
    return max(stalls, default=0.0), statuses


GEMINI_SETUP = """
from slots.models import Slot
Slot.objects.filter(pk="slot-006").update(
    provider="gemini", operation="image_edit", settings_json={"prompt": "Put them on a beach"}
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["local", "gemini"], default="local")
    if parser.parse_args().provider == "gemini":
        bench_gemini()
    else:
        bench_local()


def prepare_server(extra_env: dict, setup: str) -> tuple[dict, Path]:
    workdir = Path(tempfile.mkdtemp(prefix="photochanger-bench-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "INGEST_PASSWORD": PASSWORD,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "LOOP_LAG_WARN_MS": "1",
    }
    env.update(extra_env)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["bootstrap"], ["shell", "-c", SETUP + setup]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=ROOT, capture_output=True)
    return env, workdir


def bench_gemini() -> None:
    sys.path.insert(0, str(ROOT))
    from providers.tests.fakes import FakeGemini, gemini_image_answer, png_bytes

    with FakeGemini() as gemini:
        gemini.default = gemini_image_answer(png_bytes((1024, 1024)))
        extra = {"GEMINI_BASE_URL": gemini.url, "GEMINI_API_KEY": FakeGemini.api_key}
        env, workdir = prepare_server(extra, GEMINI_SETUP)
        server, base = start("photochanger.asgi:application", env, workdir / "server.log")
        try:
            lines = ["| JPEG | ingest p50 / p95 ms |", "|---|---|"]
            for label in ("1 MB", "15 MB"):
                photo = photo_of_size(SIZES[label])
                times = latencies(base + "/api/ingest/slot-006", photo, ROUNDS[label])
                lines.append(
                    f"| {label} ({len(photo) / 1e6:.2f} MB) | {statistics.median(times) * 1000:.1f}"
                    f" / {percentile(times, 0.95) * 1000:.1f} |"
                )
        finally:
            server.terminate()
    table = "\n".join(lines)
    print(table)
    heading = "## Ingest with the Gemini driver (bench/ingest.py --provider gemini)"
    section = (
        f"{heading}\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; the "
        "loopback fake Gemini answers a 1024 px PNG at once, so this is PhotoChanger's own "
        "time: upload, validation, downscale and request encoding, answer decoding, storing.\n\n"
        + table
        + "\n"
    )
    write_section(ROOT / "bench" / "RESULTS.md", heading, section)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def bench_local() -> None:
    env, workdir = prepare_server({}, "")
    server_log = workdir / "server.log"
    server, base = start("photochanger.asgi:application", env, server_log)
    echo, echo_base = start("bench.echo_app:app", env, workdir / "echo.log")
    ingest_url = base + "/api/ingest/slot-003"
    rows = []
    try:
        latencies(ingest_url, photo_of_size(50_000), 5)  # warm up imports and caches
        for label, size in SIZES.items():
            photo = photo_of_size(size)
            ours = latencies(ingest_url, photo, ROUNDS[label])
            theirs = latencies(echo_base + "/", photo, ROUNDS[label])
            baseline_rss = rss_kb(server.pid, "VmRSS")
            reset_peak_rss(server.pid)
            worst, statuses = concurrent_phase(ingest_url, photo, server_log)
            peak_rss = rss_kb(server.pid, "VmHWM")
            rows.append(
                {
                    "size": f"{label} ({len(photo) / 1e6:.2f} MB)",
                    "p50": statistics.median(ours) * 1000,
                    "p95": percentile(ours, 0.95) * 1000,
                    "echo_p50": statistics.median(theirs) * 1000,
                    "ratio": statistics.median(ours) / statistics.median(theirs),
                    "baseline_rss": baseline_rss / 1024,
                    "peak_rss": peak_rss / 1024,
                    "rss_per_upload": (peak_rss - baseline_rss) / 1024 / CONCURRENT,
                    "size_mb": len(photo) / 1024 / 1024,
                    "lag": worst,
                    "ok": statuses.count(200),
                }
            )
    finally:
        server.terminate()
        echo.terminate()
    report(rows)


def report(rows: list[dict]) -> None:
    lines = [
        "| JPEG | ingest p50 / p95 ms | echo p50 ms | ratio | RSS before → peak MB "
        f"(RSS growth per in-flight upload) | worst loop lag ms, {CONCURRENT} at once | 200s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['p50']:.1f} / {r['p95']:.1f} | {r['echo_p50']:.1f} | "
            f"{r['ratio']:.2f} | {r['baseline_rss']:.0f} → {r['peak_rss']:.0f} "
            f"({r['rss_per_upload']:.1f} MB = {r['rss_per_upload'] / r['size_mb']:.2f}× file) | "
            f"{r['lag']:.1f} | {r['ok']}/{CONCURRENT} |"
        )
    table = "\n".join(lines)
    print(table)
    section = (
        "## Ingest (bench/ingest.py)\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; one uvicorn worker, "
        "SQLite, `local` provider in pass-through mode.\n\n" + table + "\n"
    )
    write_section(ROOT / "bench" / "RESULTS.md", "## Ingest (bench/ingest.py)", section)


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace this script's section of RESULTS.md, keeping other benchmarks' sections."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if heading in text:
        before, rest = text.split(heading, 1)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
