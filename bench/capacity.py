"""Capacity benchmark: how many photo booths one PhotoChanger instance carries.

Run by hand: `.venv/bin/python bench/capacity.py` (about three minutes; prints figures and
writes its section of bench/RESULTS.md). `--booths`, `--seconds`, `--sizes`, `--storages` and
`--repeat` (medians of several runs) make longer or narrower runs.

Starts PhotoChanger under uvicorn (one worker, SQLite) once on the local disk and once on an S3
bucket of a moto server in its own process on loopback. Slots slot-001 … slot-008 run the
`local` provider in pass-through mode with a provider delay of 8 … 15 s (a realistic Gemini
time), so each shot's provider time is known exactly. N simulated booths each send a shot
(unique bytes, 1 MB or 15 MB JPEG), wait for the edited photo, and send the next one, until the
phase's time is up. Per storage and size it reports:
  - shots/s completed;
  - gateway overhead per shot (total time minus the provider's delay), p50 / p95;
  - the server's CPU time per shot (user + system, from /proc) and its peak RSS;
  - booths one core carries, if each booth sends one shot per cycle as here (no think time).
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    form,
    machine,
    percentile,
    photo_of_size,
    prepare_server,
    reset_peak_rss,
    rss_kb,
    start,
    unique,
    write_section,
)

DELAYS = {f"slot-{n:03d}": 7 + n for n in range(1, 9)}  # 8 … 15 s
SETUP = f"""
from slots.models import Slot
from core.runtime import set_runtime_setting
for slot_id, delay in {DELAYS!r}.items():
    Slot.objects.filter(pk=slot_id).update(
        operation="passthrough", settings_json={{"delay_seconds": delay}}
    )
Slot.objects.filter(pk="slot-009").update(operation="passthrough", settings_json={{}})
set_runtime_setting(key="sync_response_seconds", value=60)
"""
WARM_UP_SLOT = "slot-009"  # no delay: first requests pay for imports and storage clients
SIZES = {"1MB": 1_000_000, "15MB": 15_000_000}
HEADING = "## Capacity (bench/capacity.py)"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def booth(base: str, slot_id: str, photo: bytes, until: float, shots: list, lock) -> None:
    with httpx.Client(timeout=120) as client:
        while time.monotonic() < until:
            data, files = form(unique(photo))
            started = time.perf_counter()
            response = client.post(f"{base}/api/ingest/{slot_id}", data=data, files=files)
            seconds = time.perf_counter() - started
            with lock:
                shots.append((response.status_code, seconds, seconds - DELAYS[slot_id]))


def phase(server, base: str, photo: bytes, booths: int, seconds: float) -> dict:
    shots: list[tuple[int, float, float]] = []
    lock = threading.Lock()
    baseline_rss = rss_kb(server.pid, "VmRSS")
    reset_peak_rss(server.pid)
    cpu_before, started = cpu_seconds(server.pid), time.monotonic()
    until = started + seconds
    slots = list(DELAYS)
    with ThreadPoolExecutor(booths) as pool:
        runs = [
            pool.submit(booth, base, slots[n % len(slots)], photo, until, shots, lock)
            for n in range(booths)
        ]
    for run in runs:
        run.result()  # a booth that crashed fails the benchmark instead of thinning it
    elapsed, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
    done = [shot for shot in shots if shot[0] == 200]
    overheads = [shot[2] for shot in done]
    cycle = statistics.mean(shot[1] for shot in done)
    return {
        "shots": len(done),
        "failed": len(shots) - len(done),
        "rate": len(done) / elapsed,
        "p50": statistics.median(overheads) * 1000,
        "p95": percentile(overheads, 0.95) * 1000,
        "cpu_ms": cpu / len(done) * 1000,
        "rss": rss_kb(server.pid, "VmHWM") / 1024,
        "rss_per_booth": (rss_kb(server.pid, "VmHWM") - baseline_rss) / 1024 / booths,
        "booths_per_core": cycle / (cpu / len(done)),
        "cycle": cycle,
    }


def run_storage(storage: str, args, photos: dict[str, bytes]) -> list[dict]:
    extra, s3 = {}, None
    if storage == "s3":
        from media.tests.s3 import MotoProcess, StorageUnderTest, new_bucket

        s3 = MotoProcess(Path(tempfile.mkdtemp(prefix="photochanger-moto-")) / "moto.log")
        s3.start()
        extra = StorageUnderTest("s3", Path(), s3.endpoint, new_bucket(s3.endpoint)).env()
    env, workdir = prepare_server({**extra, "LOOP_LAG_WARN_MS": "1000"}, SETUP)
    server, base = start("photochanger.asgi:application", env, workdir / "server.log")
    rows = []
    try:
        for photo in photos.values():
            for _ in range(3):
                data, files = form(unique(photo))
                httpx.post(f"{base}/api/ingest/{WARM_UP_SLOT}", data=data, files=files, timeout=60)
        for label, photo in photos.items():
            print(f"{storage} {label}: {args.booths} booths for {args.seconds:.0f} s", flush=True)
            rows.append(
                {"storage": storage, "size": label}
                | phase(server, base, photo, args.booths, args.seconds)
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        if s3 is not None:
            s3.stop()
    return rows


def medians(runs: list[list[dict]]) -> list[dict]:
    """Each row's figures as the median of the repeated runs (shots/s also as its range)."""
    rows = []
    for same in zip(*runs, strict=True):
        row = {
            key: statistics.median(r[key] for r in same)
            for key in same[0]
            if key not in ("storage", "size")
        }
        rates = [r["rate"] for r in same]
        rows.append(same[0] | row | {"rates": rates})
    return rows


def report(rows: list[dict], args) -> None:
    lines = [
        "| storage | shot | shots done (failed) | shots/s (runs) | overhead p50 / p95 ms | "
        "CPU ms/shot | peak RSS MB (per booth) | booths per core |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = ", ".join(f"{rate:.2f}" for rate in r["rates"])
        lines.append(
            f"| {r['storage']} | {r['size']} | {r['shots']:.0f} ({r['failed']:.0f}) | "
            f"{r['rate']:.2f} ({runs}) | {r['p50']:.0f} / {r['p95']:.0f} | {r['cpu_ms']:.0f} | "
            f"{r['rss']:.0f} ({r['rss_per_booth']:.0f}) | {r['booths_per_core']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    section = (
        f"{HEADING}\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, load "
        f"average {os.getloadavg()[1]:.1f} (other work on the machine); one uvicorn worker, "
        f"SQLite; {args.booths} booths for {args.seconds:.0f} s per row, medians of "
        f"{args.repeat} run(s), each booth sending its next "
        "shot as soon as the last one is answered; provider delay 8–15 s (`local` pass-through, "
        "so the answer is as big as the shot); S3 is a moto server in its own process on "
        "loopback. Overhead is a shot's total time minus its provider delay: upload, checks, "
        "decoding, storing, answering. Booths per core = mean cycle time / CPU per shot.\n\n"
        + table
        + "\n"
    )
    write_section(ROOT / "bench" / "RESULTS.md", HEADING, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booths", type=int, default=16, help="simulated booths (16)")
    parser.add_argument("--seconds", type=float, default=25, help="length of each phase (25)")
    parser.add_argument("--sizes", default="1MB,15MB", help="shot sizes: 1MB,15MB")
    parser.add_argument("--storages", default="local,s3", help="local,s3")
    parser.add_argument("--repeat", type=int, default=1, help="runs whose medians are shown (1)")
    args = parser.parse_args()
    photos = {label: photo_of_size(SIZES[label]) for label in args.sizes.split(",")}
    runs = [
        [row for storage in args.storages.split(",") for row in run_storage(storage, args, photos)]
        for _ in range(args.repeat)
    ]
    report(medians(runs), args)


if __name__ == "__main__":
    main()
