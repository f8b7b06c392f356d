"""Gateway overhead: PhotoChanger against a bare ASGI echo app, under one raw-socket booth client.

Run by hand (`make bench`, or `python bench/gateway.py --long --write "after"`). Starts both
servers under uvicorn (one worker each, same flags), PhotoChanger on SQLite with slot-003 on the
`local` provider in pass-through mode, and measures, interleaving the two servers' batches:

  cpu    server CPU per upload (utime+stime of the server process, from /proc), 100 KB and 15 MB
  lat    p50/p95 of sequential uploads
  thr    uploads per second with 8 clients sending back to back (15 MB)
  burst  RSS before, peak (VmHWM) during 8 concurrent 15 MB uploads, right after, and a while
         after (60 s with --long)
  wait   RSS growth while 100 uploads of 15 MB wait on a slow provider (slot-004, the `local`
         provider's delay_seconds), against the photos' own size
  booth  what a booth on a 50 Mbit/s link sees: last byte sent -> first byte of the answer
  cold   the event loop's worst lag while a new worker answers its first upload (the worker's
         own watchdog, its threshold lowered to 1 ms for that worker)

The photos are the issue's: 4000×3000 camera JPEGs with EXIF, of 0.1 and 14.6 MB
(`--dense-photos`: the earlier tables' 492×369 and 6034×4525 noise). The booth client speaks
like DSLR Remote Pro: its text fields, then the photo, `Expect: 100-continue`, one connection
per upload. `--history N` first records N earlier jobs in the slot, as a studio's months of
shots leave them. `--root` runs the server from another source tree
(e.g. `git archive` of an older commit) with this virtualenv, for before/after figures.
"""

import argparse
import io
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import ExifTags, Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import percentile, photo_of_size, write_section  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105  (a throw-away local server)
BOUNDARY = b"------------090306000104030805010400"
FIELDS = {
    "time": "1758217512",
    "user_id": "Acer",
    "id": "CY04N068111304S2L_00000001.",
    "profile": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\setup_Serg.xml",
    "status": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\screenSerg\\preview.jpg",
    "hash": "0" * 40,
    "name": "DESKTOP-K968T3F",
    "model": "Windows",
    "version": "3.30.2",
    "password": PASSWORD,
}
SETUP = """
from slots.models import Slot
from core.runtime import set_runtime_setting
Slot.objects.filter(pk="slot-003").update(operation="passthrough", settings_json={})
Slot.objects.filter(pk="slot-004").update(
    operation="passthrough", settings_json={"delay_seconds": %(delay)s}, sync_response_seconds=60
)
set_runtime_setting(key="per_slot_concurrency", value=100)
set_runtime_setting(key="per_provider_concurrency", value={"local": 100})
set_runtime_setting(key="max_upload_mb", value=20)
"""
# A studio's earlier shots on slot-003 (--history): done, their results past the TTL.
HISTORY = """
from datetime import timedelta
from django.utils import timezone
from ingest.models import JobHistory
from slots.models import Slot
slot, now = Slot.objects.get(pk="slot-003"), timezone.now()
JobHistory.objects.bulk_create(
    (
        JobHistory(
            slot=slot, slot_version=slot.version, status="done", provider="local",
            started_at=now - timedelta(minutes=n), deadline_at=now - timedelta(minutes=n),
            result_expires_at=now - timedelta(hours=1), input_sha256=f"{n:064x}",
            public_code=f"h{n}",
        )
        for n in range(1, %(history)d + 1)
    ),
    batch_size=1000,
)
"""
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
INGEST = "/api/ingest/slot-003"
UVICORN = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]


@dataclass(frozen=True)
class Exchange:
    status: int
    sent_at: float  # the last byte of the body left the client
    answered_at: float  # the first byte of the final answer arrived
    ended_at: float
    started_at: float


def booth_upload(
    port: int, path: str, photo: bytes, *, rate: float | None = None, on_sent=None
) -> Exchange:
    """One DSLR-like upload on its own connection; `rate` paces the body in bytes per second,
    `on_sent` is called once the last byte has been sent."""
    head_fields = b"".join(
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"'
        b"\r\n\r\n" + value.encode() + b"\r\n"
        for name, value in FIELDS.items()
    )
    file_head = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="fileToUpload"; '
        b'filename="IMG_0003.JPG"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    # Bytes after the JPEG's end make every upload distinct (no replay of an earlier one).
    tail = os.urandom(16) + b"\r\n--" + BOUNDARY + b"--\r\n"
    pieces = [head_fields + file_head, photo, tail]
    length = sum(len(p) for p in pieces)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        # Else the closing boundary, a short write after the photo, waits for the server's
        # delayed ACK (Nagle): 40 ms on both servers, the client's stack and not theirs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; "
            f"boundary={BOUNDARY.decode()}\r\nContent-Length: {length}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        reader = _Reader(sock)
        status, _ = reader.head()
        if status == 100:
            _send(sock, pieces, rate)
            sent = time.perf_counter()
            if on_sent is not None:
                on_sent()
            reader.wait_for_bytes()
            answered = time.perf_counter()
            status, headers = reader.head()
        else:  # refused before the body
            sent = answered = time.perf_counter()
            if on_sent is not None:
                on_sent()
            headers = {}
        reader.body(int(headers.get("content-length", 0)))
    return Exchange(status, sent, answered, time.perf_counter(), started)


def _send(sock: socket.socket, pieces: list[bytes], rate: float | None) -> None:
    if rate is None:
        for piece in pieces:
            sock.sendall(piece)
        return
    start, sent = time.perf_counter(), 0
    for piece in pieces:
        view = memoryview(piece)
        for offset in range(0, len(view), 16384):
            chunk = view[offset : offset + 16384]
            sock.sendall(chunk)
            sent += len(chunk)
            ahead = sent / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)


class _Reader:
    def __init__(self, sock: socket.socket):
        self.sock, self.buffer = sock, b""

    def wait_for_bytes(self) -> None:
        while not self.buffer:
            self._fill()

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines)}
        return int(status_line.split()[1]), headers

    def body(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk


class Server:
    def __init__(self, app: str, env: dict, root: Path, log: Path):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [*UVICORN, app, "--port", str(self.port)],
            env=env,
            cwd=root,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{app} did not start; see {log}") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK

    def cpu_seconds_once_idle(self, limit: float = 3.0) -> float:
        """CPU seconds once the server stops using CPU: work it does after answering (the
        previews) counts towards the uploads that caused it."""
        deadline, last = time.monotonic() + limit, self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.cpu_seconds()
            if now == last:
                break
            last = now
        return last

    def rss_mb(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(field)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def camera_photo(target: int, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 4000×3000 camera JPEG of about `target` bytes, with EXIF (camera, time, GPS), as the
    issue measured: a gradient with as much sensor-like noise as the size takes. Small files
    are a smooth shot at low quality (Huffman-optimised, as cameras' "basic" JPEGs are)."""
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Canon", "Canon EOS 2000D"
    exif[ExifTags.Base.DateTime] = "2026:12:07 18:00:00"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)}
    quality, optimize = (10, True) if target < 1_000_000 else (99, False)

    def encoded(amount: float) -> bytes:
        green = Image.blend(gradient, noise, amount)
        blue = Image.blend(gradient, noise, amount * 0.8)
        out = io.BytesIO()
        Image.merge("RGB", (gradient, green, blue)).save(
            out, "JPEG", quality=quality, optimize=optimize, exif=exif
        )
        return out.getvalue()

    low, high = 0.0, 1.0
    for _ in range(8):  # the noise's share, bisected: within 0.4 % of its range
        middle = (low + high) / 2
        low, high = (middle, high) if len(encoded(middle)) < target else (low, middle)
    return encoded((low + high) / 2)


def prepare(
    root: Path, extra_env: dict[str, str], delay: float, history: int = 0
) -> tuple[dict, Path]:
    workdir = Path(tempfile.mkdtemp(prefix="photochanger-gateway-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "INGEST_PASSWORD": PASSWORD,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(root),
        **extra_env,
    }
    manage = [sys.executable, str(root / "manage.py")]
    setup = SETUP % {"delay": delay} + HISTORY % {"history": history}
    for command in (["migrate", "-v0"], ["bootstrap"], ["shell", "-c", setup]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=root, capture_output=True)
    return env, workdir


def sequential(server: Server, path: str, photo: bytes, count: int) -> tuple[list[float], float]:
    """Latencies of `count` uploads one after another, and the server CPU per upload."""
    cpu = server.cpu_seconds()
    times = []
    for _ in range(count):
        exchange = booth_upload(server.port, path, photo)
        assert exchange.status == 200, exchange.status
        times.append(exchange.ended_at - exchange.started_at)
    return times, (server.cpu_seconds_once_idle() - cpu) / count


def throughput(server: Server, path: str, photo: bytes, clients: int, seconds: float) -> float:
    stop_at = time.perf_counter() + seconds
    done = [0] * clients

    def client(index: int) -> None:
        while time.perf_counter() < stop_at:
            assert booth_upload(server.port, path, photo).status == 200
            done[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sum(done) / (time.perf_counter() - started)


def burst(server: Server, path: str, photo: bytes, clients: int, settle: float) -> dict:
    before = server.rss_mb()
    server.reset_peak()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(
            pool.map(lambda _: booth_upload(server.port, path, photo).status, range(clients))
        )
    assert statuses == [200] * clients, statuses
    after = server.rss_mb()
    time.sleep(settle)  # what the process gives back on its own, with no traffic
    return {
        "before": before,
        "peak": server.rss_mb("VmHWM"),
        "after": after,
        "settled": server.rss_mb(),
    }


def waiting(server: Server, photo: bytes, count: int, database: Path) -> dict:
    """RSS growth while `count` uploads wait on the slow provider of slot-004: its peak while
    they arrive and are taken in, and once all `count` jobs wait (RSS sampled for 3 s then)."""
    before = server.rss_mb()
    server.reset_peak()
    sent = threading.Semaphore(0)

    def upload() -> Exchange:
        return booth_upload(server.port, "/api/ingest/slot-004", photo, on_sent=sent.release)

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(upload) for _ in range(count)]
        for _ in range(count):
            sent.acquire()
        while _jobs_running(database) < count and not any(f.done() for f in futures):
            time.sleep(0.2)
        arrival_peak = server.rss_mb("VmHWM")
        time.sleep(1.5)  # the server hands memory back once no body has come in for a second
        settled = max(_sampled(server, 3.0), 0.0)
        results = Counter(f.result().status for f in futures)
    photos = count * len(photo) / 1024 / 1024
    return {
        "statuses": results,
        "peak": arrival_peak - before,
        "waiting": settled - before,
        "photos": photos,
    }


def _jobs_running(database: Path) -> int:
    with closing(sqlite3.connect(database)) as conn:
        query = "SELECT count(*) FROM ingest_jobhistory WHERE status = 'processing'"
        return conn.execute(query).fetchone()[0]


def _sampled(server: Server, seconds: float) -> float:
    highest, until = 0.0, time.monotonic() + seconds
    while time.monotonic() < until:
        highest = max(highest, server.rss_mb())
        time.sleep(0.1)
    return highest


def booth_view(server: Server, path: str, photo: bytes, rate: float, count: int) -> list[float]:
    gaps = []
    for _ in range(count):
        exchange = booth_upload(server.port, path, photo, rate=rate)
        assert exchange.status == 200
        gaps.append(exchange.answered_at - exchange.sent_at)
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="more rounds, 60 s after the burst")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree of the server")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--write", metavar="LABEL", help="record the table in RESULTS.md")
    parser.add_argument("--skip", action="append", default=[], help="phase to skip")
    parser.add_argument(
        "--history", type=int, default=0, help="earlier jobs in the slot (a studio's months)"
    )
    parser.add_argument(
        "--dense-photos",
        action="store_true",
        help="the photos of the tables before 2026-12-07 (492×369 and 6034×4525, no EXIF)",
    )
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    rounds = 3 if args.long else 2
    env, workdir = prepare(args.root.resolve(), extra_env, delay=25, history=args.history)
    if args.dense_photos:
        photos = {"100 KB": photo_of_size(100_000), "15 MB": photo_of_size(15_000_000)}
    else:
        photos = {"100 KB": camera_photo(100_000), "15 MB": camera_photo(14_600_000)}
    ours = Server("photochanger.asgi:application", env, args.root.resolve(), workdir / "pc.log")
    echo = Server(
        "bench.echo_app:app", {**env, "PYTHONPATH": str(ROOT)}, ROOT, workdir / "echo.log"
    )
    rows: dict[str, tuple[str, str]] = {}
    if "cold" not in args.skip:
        lag = cold_start(args.root.resolve(), env, workdir, photos["100 KB"])
        rows["first upload after start: worst event-loop lag (ms)"] = (f"{lag:.0f}", "")
    try:
        warm_up(ours, photos["15 MB"])
        time.sleep(3)  # what the process keeps once a booth's shots are done
        run_phases(args, rounds, photos, ours, echo, rows, workdir / "bench.sqlite3")
    finally:
        ours.stop()
        echo.stop()
    report(args, rows, photos, extra_env)


def cold_start(root: Path, env: dict, workdir: Path, photo: bytes) -> float:
    """The event loop's worst lag, by a new worker's own watchdog, from when it is up until it
    has answered its first upload and gone idle."""
    log = workdir / "cold.log"
    server = Server("photochanger.asgi:application", {**env, "LOOP_LAG_WARN_MS": "1"}, root, log)
    try:
        assert booth_upload(server.port, INGEST, photo).status == 200
        server.cpu_seconds_once_idle()  # the preview is made after the answer
    finally:
        server.stop()
    lags = [
        json.loads(line)["lag_ms"]
        for line in log.read_text().splitlines()
        if '"event_loop.blocked"' in line
    ]
    return max(lags, default=0.0)


def run_phases(
    args, rounds: int, photos: dict, ours: Server, echo: Server, rows: dict, database: Path
) -> None:
    ingest, big = INGEST, photos["15 MB"]
    # First, while the process holds only what starting and warming up took: what a burst
    # leaves behind shows against that, not against what earlier phases left.
    if "burst" not in args.skip:
        settle = 60 if args.long else 10
        figures = burst(ours, ingest, big, 8, settle)
        echo_figures = burst(echo, "/", big, 8, 1)
        rows["burst of 8 × 15 MB: RSS before (MB)"] = _pair(
            [figures["before"]], [echo_figures["before"]], "{:.0f}"
        )
        rows["burst: peak RSS (MB)"] = _pair([figures["peak"]], [echo_figures["peak"]], "{:.0f}")
        rows["burst: RSS right after (MB)"] = (f"{figures['after']:.0f}", "")
        rows[f"burst: RSS {settle:.0f} s after (MB), vs before"] = (
            f"{figures['settled']:.0f} ({figures['settled'] / figures['before']:.2f}×)",
            "",
        )
    counts = {"100 KB": 30 if args.long else 20, "15 MB": 6 if args.long else 4}
    for label, photo in photos.items():
        mine, theirs = _interleaved(
            rounds, lambda s, p=photo, n=counts[label]: sequential(s, ingest, p, n), ours, echo
        )
        rows[f"CPU per upload, {label} (ms)"] = _pair(
            [c * 1000 for _, c in mine], [c * 1000 for _, c in theirs], "{:.1f}"
        )
        lat_ours = [t for times, _ in mine for t in times]
        lat_echo = [t for times, _ in theirs for t in times]
        rows[f"latency p50, {label} (ms)"] = _pair(
            [statistics.median(lat_ours) * 1000], [statistics.median(lat_echo) * 1000], "{:.1f}"
        )
        rows[f"latency p95, {label} (ms)"] = _pair(
            [percentile(lat_ours, 0.95) * 1000], [percentile(lat_echo, 0.95) * 1000], "{:.1f}"
        )
    if "thr" not in args.skip:
        seconds = 20 if args.long else 8
        mine, theirs = _interleaved(1, lambda s: throughput(s, ingest, big, 8, seconds), ours, echo)
        rows["throughput, 8 clients, 15 MB (uploads/s)"] = _pair(mine, theirs, "{:.2f}")
    if "booth" not in args.skip:
        rate = 50e6 / 8
        count = 5 if args.long else 3
        mine, theirs = _interleaved(
            rounds, lambda s: booth_view(s, ingest, big, rate, count), ours, echo
        )
        flat_ours, flat_echo = [g for r in mine for g in r], [g for r in theirs for g in r]
        rows["50 Mbit/s booth: last byte -> answer, p50 (ms)"] = _pair(
            [statistics.median(flat_ours) * 1000], [statistics.median(flat_echo) * 1000], "{:.1f}"
        )
        rows["50 Mbit/s booth: added latency p50 (ms)"] = (
            f"{(statistics.median(flat_ours) - statistics.median(flat_echo)) * 1000:.1f}",
            "",
        )
    if "wait" not in args.skip:
        figures = waiting(ours, big, 100, database)
        answers = ", ".join(f"{n} × {status}" for status, n in sorted(figures["statuses"].items()))
        rows["100 × 15 MB on a slow provider: RSS growth while they wait (MB), vs photos"] = (
            f"{figures['waiting']:.0f} ({figures['waiting'] / figures['photos']:.2f}×;"
            f" answers {answers})",
            "",
        )
        rows["100 × 15 MB: RSS growth at its peak, as they arrive (MB), vs photos"] = (
            f"{figures['peak']:.0f} ({figures['peak'] / figures['photos']:.2f}×)",
            "",
        )


def _interleaved(rounds: int, measure, ours: Server, echo: Server) -> tuple[list, list]:
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(measure(ours))
        theirs.append(measure(echo))
    return mine, theirs


def _pair(ours: list[float], echo: list[float], pattern: str) -> tuple[str, str]:
    a, b = statistics.median(ours), statistics.median(echo)
    ratio = f" ({a / b:.1f}×)" if b else ""
    return pattern.format(a) + ratio, pattern.format(b)


def report(args, rows: dict, photos: dict, extra_env: dict) -> None:
    lines = ["| measure | PhotoChanger (× echo) | echo |", "|---|---|---|"]
    lines += [f"| {name} | {ours} | {echo} |" for name, (ours, echo) in rows.items()]
    table = "\n".join(lines)
    print(table)
    if not args.write:
        return
    sizes = ", ".join(f"{label} = {len(p) / 1e6:.2f} MB" for label, p in photos.items())
    env = ", ".join(f"`{k}={v}`" for k, v in extra_env.items()) or "default environment"
    record(
        f"## Gateway overhead, {args.write} (bench/gateway.py)",
        f"{'--long' if args.long else 'short run'}, {env}; photos {sizes}; "
        f"{args.history} earlier jobs in the slot; one uvicorn worker each, SQLite, `local` "
        "pass-through.",
        table,
    )


def record(heading: str, method: str, table: str) -> None:
    """Put `table` in RESULTS.md under `heading`, after when, on what and how it was measured."""
    section = (
        f"{heading}\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"{method}\n\n{table}\n"
    )
    write_section(ROOT / "bench" / "RESULTS.md", heading, section)


def warm_up(server: Server, big: bytes) -> None:
    """Uploads as a booth's first shots, big photos included: imports, caches, thread pools."""
    sequential(server, INGEST, photo_of_size(50_000), 5)
    sequential(server, INGEST, big, 2)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
