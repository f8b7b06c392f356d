"""TTL cleanup: delete the files of expired media and mark their rows cleaned.

The normal path reads only expired rows through the partial index on `expires_at`, so a run
costs what expired, not what is stored. Each batch is claimed with SELECT ... FOR UPDATE SKIP
LOCKED: a second run that overlaps passes the rows the first one holds instead of deleting
them again (SQLite has no row locks; its IMMEDIATE transactions make the runs take turns).
"""

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from core import metrics
from media.models import MediaObject
from media.services import delete_media, delete_stored_files

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
RESULTS_ROOT = "results"
# Ingest writes result files before it records their rows; younger folders may be mid-write.
ORPHAN_MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class CleanupReport:
    files: int
    bytes: int
    seconds: float
    dry_run: bool = False


def cleanup_media(
    *, slot_id: str | None = None, dry_run: bool = False, now: datetime | None = None
) -> CleanupReport:
    """Delete expired non-template media (of one slot when `slot_id` is given)."""
    started = time.monotonic()
    expired = _expired(slot_id=slot_id, now=now or timezone.now())
    if dry_run:
        totals = expired.aggregate(files=Count("pk"), bytes=Sum("size_bytes"))
        files, freed = totals["files"], totals["bytes"] or 0
    else:
        deleted, freed = Counter(), 0
        while batch := _claim_and_delete_batch(expired):
            deleted.update(obj.kind for obj in batch)
            freed += sum(obj.size_bytes for obj in batch)
        files = deleted.total()
        metrics.observe_cleanup(files_by_kind=deleted, bytes_freed=freed)
    report = CleanupReport(files, freed, round(time.monotonic() - started, 3), dry_run)
    log.info("cleanup.finished", slot_id=slot_id, **vars(report))
    return report


def _expired(*, slot_id: str | None, now: datetime):
    expired = MediaObject.objects.expired(now).exclude(kind=MediaObject.Kind.TEMPLATE)
    return expired.filter(slot_id=slot_id) if slot_id else expired


def _claim_and_delete_batch(expired) -> list[MediaObject]:
    with transaction.atomic():
        batch = list(
            expired.select_for_update(skip_locked=True)
            .only("pk", "kind", "path", "size_bytes")
            # A job's files expire together; kept in one batch, its folder is removed at once.
            .order_by("expires_at", "path")[:BATCH_SIZE]
        )
        if batch:
            delete_media(batch)
    return batch


def sweep_orphan_folders(*, dry_run: bool = False, now: datetime | None = None) -> CleanupReport:
    """Delete result folders that no live media row references (left by crashes or bugs).

    Walks the whole results tree, so it is meant for an occasional `cleanup_media --orphans`,
    not for every cron run. Folders younger than ORPHAN_MIN_AGE are left alone.
    """
    started = time.monotonic()
    cutoff = (now or timezone.now()) - ORPHAN_MIN_AGE
    files = freed = 0
    for folder in _orphan_folders(cutoff):
        paths = [f"{folder}/{name}" for name in default_storage.listdir(folder)[1]]
        files += len(paths)
        freed += sum(default_storage.size(path) for path in paths)
        if dry_run:
            continue
        if paths:
            delete_stored_files(paths)  # also removes the folder they leave empty
        else:
            default_storage.delete(folder)
    report = CleanupReport(files, freed, round(time.monotonic() - started, 3), dry_run)
    log.info("cleanup.orphans_swept", **vars(report))
    return report


def _orphan_folders(cutoff: datetime) -> Iterator[str]:
    if not default_storage.exists(RESULTS_ROOT):
        return
    live_paths = MediaObject.objects.live().filter(path__startswith=f"{RESULTS_ROOT}/")
    referenced = {path.rsplit("/", 1)[0] for path in live_paths.values_list("path", flat=True)}
    for slot_dir in default_storage.listdir(RESULTS_ROOT)[0]:
        for job_dir in default_storage.listdir(f"{RESULTS_ROOT}/{slot_dir}")[0]:
            folder = f"{RESULTS_ROOT}/{slot_dir}/{job_dir}"
            if folder not in referenced and _untouched_since(folder, cutoff):
                yield folder


def _untouched_since(folder: str, cutoff: datetime) -> bool:
    names = default_storage.listdir(folder)[1]
    return all(default_storage.get_modified_time(f"{folder}/{name}") < cutoff for name in names)
