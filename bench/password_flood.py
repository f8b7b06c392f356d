"""Wrong-password floods against a fresh server: does a booth with the right password get through?

Run by hand: `python bench/password_flood.py [--write LABEL] [--root PATH]`. In each scenario
the server is restarted a few times on one database (a fresh process: no remembered verdicts;
the real PBKDF2 hasher); each time 300 clients keep sending 5 MB uploads with wrong passwords
(the booth's field order: password before photo) while a booth at another address sends its
1 MB shots with the right password one after another:

  one address    the 300 come from one address (a laptop on the event's Wi-Fi)
  300 addresses  each of the 300 has its own address (a botnet, a hall of phones, no NAT);
                 the booth has sent shots before the restart, as a booth in service has
  ..., booth never seen before   the same, for a booth whose first shot ever this is

Printed: the booth's latency (its first shot, when its password is not yet known, and all of
its shots: p50/p95, statuses), the answers the flood got, and the server's RSS growth meanwhile.
"""

import argparse
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gateway import (  # noqa: E402
    BOUNDARY,
    FIELDS,
    UVICORN,
    Server,
    _Reader,
    machine,
    prepare,
)
from bench.ingest import percentile, photo_of_size, write_section  # noqa: E402

FLOOD = 300
SHOTS = 12
RESTARTS = 3


def upload(port: int, photo: bytes, password: str, source: str) -> tuple[int, float]:
    """One DSLR-like upload from `source`; (status, seconds). A refusal may cut the body off."""
    fields = {**FIELDS, "password": password}
    head = b"".join(
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + k.encode() + b'"'
        b"\r\n\r\n" + v.encode() + b"\r\n"
        for k, v in fields.items()
    ) + (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="fileToUpload"; '
        b'filename="IMG.JPG"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    tail = str(time.perf_counter_ns()).encode() + b"\r\n--" + BOUNDARY + b"--\r\n"
    length = len(head) + len(photo) + len(tail)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), 300, source_address=(source, 0)) as sock:
        sock.sendall(
            (
                "POST /api/ingest/slot-003 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Length: {length}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}\r\n"
                "Expect: 100-continue\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        reader = _Reader(sock)
        status, _ = reader.head()
        if status == 100:
            try:
                for piece in (head, photo, tail):
                    sock.sendall(piece)
            except OSError:
                pass  # refused before the photo was read: the answer is waiting
            status, _ = reader.head()
    return status, time.perf_counter() - started


def flood(port: int, photo: bytes, sources: list[str], stop: threading.Event, seen: Counter):
    def attacker(index: int) -> None:
        attempt = 0
        while not stop.is_set():
            attempt += 1
            status: int | str
            try:
                status, _ = upload(port, photo, f"guess-{index}-{attempt}", sources[index])
            except OSError:
                status = "reset"
            seen[status] += 1

    threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(FLOOD)]
    for thread in threads:
        thread.start()
    return threads


def scenario(
    root: Path, sources: list[str], attack: bytes, shot: bytes, *, booth_known: bool, restarts: int
) -> dict:
    """`restarts` fresh server processes on one database, each flooded while the booth shoots.

    `booth_known`: the booth sent a shot before the first restart, as a booth in service has.
    """
    env, workdir = prepare(root, {}, delay=0)
    if booth_known:
        server = Server("photochanger.asgi:application", env, root, workdir / "pc.log")
        assert upload(server.port, shot, "bench-password", "127.0.0.1")[0] == 200
        server.stop()
    firsts: list[float] = []
    all_shots: list[float] = []
    statuses: Counter[int | str] = Counter()
    flood_seen: Counter[int | str] = Counter()
    growth: list[float] = []
    for _ in range(restarts):
        server = Server("photochanger.asgi:application", env, root, workdir / "pc.log")
        try:
            before, stop, peak = server.rss_mb(), threading.Event(), 0.0
            seen_before = sum(flood_seen.values())
            threads = flood(server.port, attack, sources, stop, flood_seen)
            while sum(flood_seen.values()) - seen_before < FLOOD // 2:  # in full swing
                peak = max(peak, server.rss_mb())
                time.sleep(0.05)
            for index in range(SHOTS):
                status, seconds = upload(server.port, shot, "bench-password", "127.0.0.1")
                statuses[status] += 1
                all_shots.append(seconds)
                if index == 0:
                    firsts.append(seconds)
                peak = max(peak, server.rss_mb())
            stop.set()
            for thread in threads:
                thread.join()
            growth.append(max(peak, server.rss_mb("VmHWM")) - before)
        finally:
            server.stop()
    return {
        "first": firsts,
        "p50": statistics.median(all_shots),
        "p95": percentile(all_shots, 0.95),
        "statuses": statuses,
        "flood": flood_seen,
        "growth": max(growth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree of the server")
    parser.add_argument("--write", metavar="LABEL", help="record the table in RESULTS.md")
    parser.add_argument("--restarts", type=int, default=RESTARTS, help="server starts per scenario")
    args = parser.parse_args()
    attack, shot = photo_of_size(5_000_000), photo_of_size(1_000_000)
    one = ["127.0.0.2"] * FLOOD
    many = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(FLOOD)]
    scenarios = {
        "one address": (one, True),
        "300 addresses": (many, True),
        "300 addresses, booth never seen before": (many, False),
    }
    lines = [
        "| flood of 300 | booth's first shot, s (each restart) | booth p50 / p95, s | booth "
        "answers | flood answers | server RSS growth, MB |",
        "|---|---|---|---|---|---|",
    ]
    for name, (sources, known) in scenarios.items():
        r = scenario(
            args.root.resolve(), sources, attack, shot, booth_known=known, restarts=args.restarts
        )
        lines.append(
            f"| {name} | {', '.join(f'{s:.2f}' for s in r['first'])} | {r['p50']:.2f} / "
            f"{r['p95']:.2f} | {_counts(r['statuses'])} | {_counts(r['flood'])} | "
            f"{r['growth']:.0f} |"
        )
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if args.write:
        heading = f"## Wrong-password flood, {args.write} (bench/password_flood.py)"
        section = (
            f"{heading}\n\nOn {machine()}; {' '.join(UVICORN[3:])}; a fresh server process for "
            f"each of {args.restarts} runs per scenario on one database (Django's PBKDF2 "
            "hasher, no verdict remembered in the process), "
            f"{FLOOD} clients sending 5 MB uploads with wrong passwords back to back, and a booth "
            f"sending {SHOTS} 1 MB shots with the right one.\n\n" + table + "\n"
        )
        write_section(ROOT / "bench" / "RESULTS.md", heading, section)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{n} × {status}" for status, n in counter.most_common())


if __name__ == "__main__":
    main()
