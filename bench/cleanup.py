"""Cleanup benchmark (run by hand; prints figures, writes the "Cleanup" section of RESULTS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/cleanup.py

Works in a throw-away database it creates next to DATABASE_URL's and drops afterwards, and in a
temporary media folder. Each dataset holds 20 000 expired rows, each with a real 1 KB file
(a payload and a preview per job folder), among live rows (results, previews and templates)
that have no files: cleanup never reads those, which is the point being measured. Each
`cleanup_media()` run gets fresh data; ROUNDS runs are timed, then one more measures peak Python
memory with tracemalloc (which slows it down, hence the separate run).
"""

import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXPIRED = 20_000
DATASETS = (100_000, 500_000)
ROUNDS = 3
FILE_BYTES = b"x" * 1024


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(
            "set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1/postgres"
        )
    name = f"photochanger_bench_cleanup_{uuid.uuid4().hex[:6]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as media_root:
            rows = measure(f"{server}/{name}", media_root)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(rows)


def measure(database_url: str, media_root: str) -> list[dict]:
    # DEBUG off: with it, Django keeps every query's SQL, and the seeding's bulk inserts are big.
    os.environ.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url,
        MEDIA_ROOT=media_root,
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = []
    for total in DATASETS:
        runs = [run_once(total, media_root, trace=False) for _ in range(ROUNDS)]
        rows.append(
            {
                "total": total,
                "runs": sorted(run["seconds"] for run in runs),
                "seconds": statistics.median(run["seconds"] for run in runs),
                "files_seconds": statistics.median(run["files_seconds"] for run in runs),
                "peak_kb": run_once(total, media_root, trace=True)["peak_kb"],
                "plan": query_plan(),
                "pg": server_version(),
            }
        )
    return rows


def run_once(total: int, media_root: str, *, trace: bool) -> dict:
    """One cleanup run on fresh data: its seconds, those spent deleting files, its peak memory."""
    from django.db import connection

    import media.services
    from media.cleanup import cleanup_media

    with connection.cursor() as cursor:  # QuerySet.delete() would load every row first
        cursor.execute("TRUNCATE media_mediaobject CASCADE")  # template links: none here
    seed(total, media_root)
    files_seconds, delete_files = 0.0, media.services.delete_stored_files

    def timed_delete_files(paths):
        nonlocal files_seconds
        started = time.perf_counter()
        gone = delete_files(paths)
        files_seconds += time.perf_counter() - started
        return gone

    media.services.delete_stored_files = timed_delete_files
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        report = cleanup_media()
    finally:
        media.services.delete_stored_files = delete_files
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    left = sum(len(files) for _, _, files in os.walk(media_root))
    assert report.files == EXPIRED and left == 0, (report, left)
    return {"seconds": seconds, "files_seconds": files_seconds, "peak_kb": peak / 1024}


def seed(total: int, media_root: str) -> None:
    """`total` rows: EXPIRED expired ones with files, the rest live without files."""
    from django.db import connection

    from media.models import MediaObject

    now = datetime.now(UTC)
    for start in range(0, total, 10_000):
        MediaObject.objects.bulk_create(
            media_row(n, now, media_root) for n in range(start, min(start + 10_000, total))
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE media_mediaobject")


def media_row(n: int, now: datetime, media_root: str):
    from media.models import MediaObject

    expired = n < EXPIRED
    kind = ["result", "preview", "template"][n % 2 if expired else n % 3]
    slot_id, job = f"slot-{n // 2 % 15 + 1:03d}", uuid.UUID(int=n // 2)
    path = f"results/{slot_id}/{job}/{'payload.jpg' if n % 2 == 0 else 'preview.webp'}"
    expires_at: datetime | None
    if expired:
        write(Path(media_root) / path)
        expires_at = now - timedelta(minutes=5, seconds=n // 2)  # a job's files expire together
    else:
        expires_at = None if kind == "template" else now + timedelta(hours=n % 72 + 1)
    return MediaObject(
        job_id=job,
        slot_id=slot_id,
        kind=kind,
        path=path,
        mime="image/jpeg",
        size_bytes=len(FILE_BYTES),
        sha256="0" * 64,
        expires_at=expires_at,
    )


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(FILE_BYTES)


def query_plan() -> str:
    """How PostgreSQL reads one claimed batch (taken after the run, so nothing is left)."""
    from django.db import connection, transaction

    from media.cleanup import BATCH_SIZE, _expired

    batch = _expired(slot_id=None, now=datetime.now(UTC)).select_for_update(skip_locked=True)
    batch = batch.only("id", "kind", "path", "size_bytes").order_by("expires_at", "path")
    batch = batch[:BATCH_SIZE]
    with transaction.atomic(), connection.cursor() as cursor:
        sql, params = batch.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        lines = [line for (line,) in cursor.fetchall()]
    return next(line.strip().lstrip("-> ") for line in lines if "Scan" in line)


def report(rows: list[dict]) -> None:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "| rows stored | expired (files) | one run, s: median (all runs) | of it deleting files, s "
        "| of it database, s | files/s | peak Python memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = ", ".join(f"{run:.2f}" for run in r["runs"])
        lines.append(
            f"| {r['total']:,} | {EXPIRED:,} | {r['seconds']:.2f} ({runs}) | "
            f"{r['files_seconds']:.2f} | {r['seconds'] - r['files_seconds']:.2f} | "
            f"{EXPIRED / r['seconds']:,.0f} | {r['peak_kb'] / 1024:.1f} MB |"
        )
    table = "\n".join(lines)
    print(table)
    print(rows[0]["plan"])
    from bench.ingest import write_section

    section = (
        "## Cleanup (bench/cleanup.py)\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, PostgreSQL "
        f"{rows[0]['pg']}, local disk. `cleanup_media()` deletes 20 000 expired rows' files "
        "(1 KB each, two per job folder, folders removed) in batches of 500 claimed with "
        "`FOR UPDATE SKIP LOCKED`; the live rows around them have no files.\n\n"
        f"{table}\n\n"
        f"Peak RSS of the whole benchmark process (seeding included): {rss_mb:.0f} MB. "
        f"Load average while it ran: {os.getloadavg()[1]:.1f} (other work on the machine). "
        f"Batch query plan: `{rows[0]['plan']}`: the partial expiry index, so the statements "
        "read only expired rows. Deleting files dominates and varies with the disk and the "
        "machine's load; the database part grows a little with the rows stored (bigger indexes "
        "to update on each `cleaned_at` change, less of the table in cache).\n"
    )
    write_section(ROOT / "bench" / "RESULTS.md", "## Cleanup (bench/cleanup.py)", section)


def machine() -> str:
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def server_version() -> str:
    from django.db import connection

    major, minor = divmod(connection.pg_version, 10000)  # type: ignore[attr-defined]
    return f"{major}.{minor}"


if __name__ == "__main__":
    main()
