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
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from core import metrics
from media.models import MediaObject
from media.services import (
    StorageUnavailable,
    delete_media,
    delete_stored_files,
    storage_errors,
)
from media.storage import StoredEntry, swept_storage

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
# Every prefix PhotoChanger writes under (results and previews, provider inputs, staff uploads,
# templates, /healthz probes); the orphan sweep looks at all of them.
SWEPT_PREFIXES = ("results", "provider-media", "uploads", "templates", "healthz")
# Ingest writes result files before it records their rows; younger files may be mid-write.
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
        deleted: Counter[str] = Counter()
        freed = 0
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
    """Delete one batch of expired files; returns those deleted, nothing when none are left."""
    with transaction.atomic():
        batch = list(
            expired.select_for_update(skip_locked=True)
            .only("pk", "kind", "path", "size_bytes")
            # A job's files expire together; kept in one batch, its folder is removed at once.
            .order_by("expires_at", "path")[:BATCH_SIZE]
        )
        deleted = delete_media(batch) if batch else []
    if batch and not deleted:
        # Without this the loop would claim the same rows forever; the next run retries them.
        raise StorageUnavailable("the media storage deleted none of the expired files")
    return deleted


def sweep_orphans(*, dry_run: bool = False, now: datetime | None = None) -> CleanupReport:
    """Delete stored files that no live media row names (left by crashes or failed writes).

    Lists everything under each prefix PhotoChanger writes to (on S3, one request per 1 000
    objects), so it is meant for an occasional `cleanup_media --orphans`, not for every cron
    run. Files younger than ORPHAN_MIN_AGE are left alone: ingest writes a result before it
    records its rows.
    """
    started = time.monotonic()
    cutoff = (now or timezone.now()) - ORPHAN_MIN_AGE
    files = freed = 0
    for prefix in SWEPT_PREFIXES:
        with storage_errors():
            orphans = list(_orphans(prefix, cutoff))
        files += len(orphans)
        freed += sum(entry.size for entry in orphans)
        if not dry_run:
            _delete_orphans(prefix, orphans)
    report = CleanupReport(files, freed, round(time.monotonic() - started, 3), dry_run)
    log.info("cleanup.orphans_swept", **vars(report))
    return report


def _orphans(prefix: str, cutoff: datetime) -> Iterator[StoredEntry]:
    # Live rows are bounded by the TTL (templates aside), so their paths fit in memory.
    live = set(
        MediaObject.objects.live()
        .filter(path__startswith=f"{prefix}/")
        .values_list("path", flat=True)
    )
    for entry in swept_storage().list_files(prefix):
        if entry.name not in live and entry.modified < cutoff:
            yield entry


def _delete_orphans(prefix: str, orphans: list[StoredEntry]) -> None:
    for start in range(0, len(orphans), BATCH_SIZE):
        page = [entry.name for entry in orphans[start : start + BATCH_SIZE]]
        if len(delete_stored_files(page)) < len(page):
            raise StorageUnavailable("the media storage stopped deleting orphaned files")
    with storage_errors():
        swept_storage().remove_empty_folders(prefix)
