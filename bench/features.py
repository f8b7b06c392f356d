"""What an upload's features cost alone, beside the whole upload through the server, in one run.

Run by hand: `.venv/bin/python bench/features.py` (`--write` records the table in RESULTS.md).

The gateway's CPU targets (100 KB ≤ 20 ms, 15 MB ≤ 160 ms) keep every feature: the validation
decode, the metadata strip, the digests, the preview. This script measures that work alone,
with the project's own functions, in this process and one thread at a time, on the issue's
camera photos (4000×3000, 100 KB and 14.6 MB):

  decode   the validation decode (every entropy-coded block, at 1/8 scale), fed in the ASGI
           layer's batches, with the marker notes the strip uses
  strip    the photo without its metadata (one copy of the kept bytes)
  digests  SHA-256 and the booth's SHA-1 of the upload
  result   the result file written through the storage (fsynced), with its SHA-256
  preview  the WEBP preview from the validation decode, written the same way

and, turn about with those, two whole uploads as bench/gateway.py makes them (server CPU per
upload): to a PhotoChanger worker (SQLite, slot-003 on the `local` provider in pass-through
mode) and to the bare ASGI echo app, whose cost is the transport's floor. What PhotoChanger
spends beyond the features and that floor is Django, the database, the pipeline around them and
the copies it makes of the photo.
"""

import argparse
import contextlib
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import gateway  # noqa: E402
from bench.gateway import Server  # noqa: E402

BATCH_BYTES = 256 * 1024  # ingest.forms hands the check the body in batches of this size
PHOTOS = {"100 KB": (100_000, 30), "15 MB": (14_600_000, 6)}  # target size, uploads per batch
PARTS = ("decode", "strip", "digests", "result", "preview")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="batches per size")
    parser.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    args = parser.parse_args()
    photos = {label: gateway.camera_photo(size) for label, (size, _) in PHOTOS.items()}
    env, workdir = gateway.prepare(ROOT, {}, delay=25)
    _set_up_django(env)
    with contextlib.ExitStack() as running:
        apps = {"photochanger": "photochanger.asgi:application", "echo": "bench.echo_app:app"}
        servers = {
            name: running.enter_context(Server(app, env, ROOT, workdir / f"{name}.log"))
            for name, app in apps.items()
        }
        for server in servers.values():
            gateway.warm_up(server, photos["15 MB"])
        figures = _rounds(servers, photos, args.rounds)
    table = _table(figures)
    print(table)
    if args.write:
        gateway.record(
            "## An upload's features alone, beside the whole upload (bench/features.py)",
            f"{args.rounds} batches per size, turn about with the server's; medians of the "
            "batches, CPU ms per upload.",
            table,
        )


def _set_up_django(env: dict) -> None:
    """The storage as the server has it: the same settings, media under the run's folder."""
    for key in ("SECRET_KEY", "DATABASE_URL", "MEDIA_ROOT"):
        os.environ[key] = env[key]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
    import django

    django.setup(set_prefix=False)


def _rounds(servers: dict[str, Server], photos: dict[str, bytes], rounds: int) -> dict:
    """{(size, part): [cpu ms per upload, ...]}, one entry per batch; the servers' parts are
    their CPU per upload."""
    figures: dict[tuple[str, str], list[float]] = {}
    time.sleep(2)  # the warm-ups' previews, out of the first batch
    for turn in range(rounds):
        for label, photo in photos.items():
            count = PHOTOS[label][1]
            steps: list[tuple[Callable, tuple]] = [
                (_features, (photo, count)),
                *((_upload, (name, server, photo, count)) for name, server in servers.items()),
            ]
            for step, args in steps if turn % 2 == 0 else steps[::-1]:
                for part, ms in step(*args).items():
                    figures.setdefault((label, part), []).append(ms)
        print(f"round {turn + 1} of {rounds} done", file=sys.stderr)
    return figures


def _upload(name: str, server: Server, photo: bytes, count: int) -> dict[str, float]:
    _, cpu = gateway.sequential(server, gateway.INGEST, photo, count)
    return {name: cpu * 1000}


def _features(photo: bytes, count: int) -> dict[str, float]:
    """CPU ms per upload of each part, the project's functions doing the work."""
    from media.images import JPEG, JpegCheck, RenderedResult, normalise_checked_jpeg

    totals = dict.fromkeys(PARTS, 0.0)
    for _ in range(count):
        chunks = [photo[at : at + BATCH_BYTES] for at in range(0, len(photo), BATCH_BYTES)]
        check = JpegCheck()
        _timed(totals, "decode", _check, check, chunks)
        stripped = _timed(totals, "strip", normalise_checked_jpeg, chunks, check)
        assert stripped is not None and stripped.mime == JPEG, "the check vouched for the photo"
        _timed(totals, "digests", _digests, chunks)
        job = uuid.uuid4()
        _timed(totals, "result", _write_result, job, stripped)
        _timed(totals, "preview", _write_preview, job, RenderedResult(stripped, stripped.draft))
    return {part: ms / count for part, ms in totals.items()}


def _check(check, chunks: list[bytes]) -> None:
    for chunk in chunks:
        check.feed(chunk)


def _digests(chunks: list[bytes]) -> None:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()  # noqa: S324  (the booth's, compared only)
    for chunk in chunks:
        sha256.update(chunk)
        sha1.update(chunk)
    sha256.hexdigest(), sha1.hexdigest()


def _write_result(job: uuid.UUID, payload) -> None:
    from media.services import write_result_files

    write_result_files(slot_id="bench", job_id=job, payload=payload)


def _write_preview(job: uuid.UUID, rendered) -> None:
    from media.images import WEBP, make_preview
    from media.models import MediaObject
    from media.services import write_file

    preview = make_preview(rendered)
    write_file(f"results/bench/{job}/preview.webp", MediaObject.Kind.PREVIEW, preview.data, WEBP)


def _timed(totals: dict[str, float], part: str, work: Callable, *args):
    """`work(*args)`, its CPU (every thread of this process: the storage hashes alongside)
    added to `part`."""
    started = time.process_time()
    result = work(*args)
    totals[part] += (time.process_time() - started) * 1000
    return result


def _table(figures: dict) -> str:
    def median(size: str, part: str) -> float:
        return statistics.median(figures[(size, part)])

    rows = {part: {s: median(s, part) for s in PHOTOS} for part in PARTS}
    features = {s: sum(rows[part][s] for part in PARTS) for s in PHOTOS}
    echo = {s: median(s, "echo") for s in PHOTOS}
    upload = {s: median(s, "photochanger") for s in PHOTOS}
    rows |= {
        "**the features**": features,
        "the echo app's whole upload: the transport's floor": echo,
        "**features + transport floor**": {s: features[s] + echo[s] for s in PHOTOS},
        "**PhotoChanger's whole upload**": upload,
        "the rest: whole upload − features − transport floor": {
            s: upload[s] - features[s] - echo[s] for s in PHOTOS
        },
    }
    lines = ["| CPU per upload (ms) | " + " | ".join(PHOTOS) + " |", "|---|" + "---|" * len(PHOTOS)]
    lines += [
        f"| {name} | " + " | ".join(f"{v:.1f}" for v in row.values()) + " |"
        for name, row in rows.items()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
