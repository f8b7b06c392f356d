"""Two source trees of PhotoChanger, interleaved in one run: CPU and latency per upload.

Run by hand, e.g. for a change against the commit before it:

    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/compare.py /tmp/before

Starts one uvicorn worker per tree (SQLite, slot-003 on the `local` provider in pass-through
mode, as bench/gateway.py does), warms both up, then sends batches of sequential uploads of the
issue's camera photos (100 KB, 15 MB) to each in turn, alternating which goes first, and prints
the median and minimum of the batches. On a shared machine the CPU a worker needs moves by
several per cent from one minute to the next: two separate runs compare the minutes more than
the code, and batches taken turn about do not.
"""

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gateway import (  # noqa: E402
    INGEST,
    Server,
    camera_photo,
    prepare,
    record,
    sequential,
    warm_up,
)

BATCHES = {"100 KB": (100_000, 30), "15 MB": (14_600_000, 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="source tree of the 'before' server")
    parser.add_argument("after", type=Path, nargs="?", default=ROOT, help="default: this tree")
    parser.add_argument("--rounds", type=int, default=6, help="batches per tree and size")
    parser.add_argument("--write", metavar="LABEL", help="record the table in RESULTS.md")
    args = parser.parse_args()
    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    photos = {label: camera_photo(size) for label, (size, _) in BATCHES.items()}
    with contextlib.ExitStack() as running:
        servers = {name: running.enter_context(_server(root)) for name, root in roots.items()}
        for server in servers.values():
            warm_up(server, photos["15 MB"])
        figures = _rounds(servers, photos, args.rounds)
    table = _table(figures)
    print(table)
    if args.write:
        record(
            f"## Before and after, interleaved: {args.write} (bench/compare.py)",
            f"{args.rounds} batches per tree and size, turn about; 'before' is "
            f"{_described(roots['before'])}, 'after' {_described(roots['after'])}.",
            table,
        )


def _described(root: Path) -> str:
    """The tree's commit, when it is a git checkout, and whether it has changes besides."""
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return f"`{root}`"
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return f"{head.stdout.strip()}{' with uncommitted changes' if dirty.stdout else ''}"


def _server(root: Path) -> Server:
    env, workdir = prepare(root, {}, delay=25)
    return Server("photochanger.asgi:application", env, root, workdir / "pc.log")


def _rounds(servers: dict[str, Server], photos: dict[str, bytes], rounds: int) -> dict:
    """{(size, tree): [(cpu ms per upload, p50 ms), ...]}, one entry per batch."""
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    time.sleep(2)  # the warm-ups' previews and memory release, out of the first batch
    for turn in range(rounds):
        order = list(servers.items())
        for label, photo in photos.items():
            for name, server in order if turn % 2 == 0 else order[::-1]:
                times, cpu = sequential(server, INGEST, photo, BATCHES[label][1])
                batch = (cpu * 1000, statistics.median(times) * 1000)
                figures.setdefault((label, name), []).append(batch)
        print(f"round {turn + 1} of {rounds} done", file=sys.stderr)
    return figures


def _table(figures: dict) -> str:
    lines = [
        "| per upload | before: median (min) | after: median (min) | after ÷ before |",
        "|---|---|---|---|",
    ]
    for label in BATCHES:
        for index, measure in enumerate(("CPU", "latency p50")):
            before = [batch[index] for batch in figures[(label, "before")]]
            after = [batch[index] for batch in figures[(label, "after")]]
            ratio = statistics.median(after) / statistics.median(before)
            lines.append(
                f"| {measure}, {label} (ms) | {statistics.median(before):.1f} ({min(before):.1f})"
                f" | {statistics.median(after):.1f} ({min(after):.1f}) | {ratio:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
