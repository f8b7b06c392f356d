"""Stored-media figures for /metrics, read from the database and the media volume at scrape time."""

import shutil
from typing import TypedDict

import structlog
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from media.models import MediaObject

log = structlog.get_logger(__name__)


class StoredMediaCollector:
    """Figures read from the database and the media volume when Prometheus scrapes."""

    def collect(self):
        yield from self._media_families()
        yield from self._volume_families()

    def _media_families(self):
        try:
            rows = _media_totals()
        except DatabaseError:
            log.warning("metrics.database_unavailable")
            return
        files = GaugeMetricFamily("photochanger_media_files", "Stored media files.", None, ["kind"])
        size = GaugeMetricFamily("photochanger_media_bytes", "Stored media bytes.", None, ["kind"])
        expired = GaugeMetricFamily(
            "photochanger_media_expired_files", "Expired media files not cleaned up yet."
        )
        for kind in MediaObject.Kind.values:
            row = rows.get(kind) or _KindTotals(kind=kind, files=0, bytes=None, expired=0)
            files.add_metric([kind], row["files"])
            size.add_metric([kind], row["bytes"] or 0)
        expired.add_metric([], sum(row["expired"] for row in rows.values()))
        yield from (files, size, expired)

    def _volume_families(self):
        if not isinstance(default_storage, FileSystemStorage):
            return  # a bucket has no volume to measure; its provider reports its size
        try:
            usage = shutil.disk_usage(default_storage.location)
        except OSError:  # the volume is not mounted
            return
        yield GaugeMetricFamily(
            "photochanger_media_volume_size_bytes", "Media volume size.", value=usage.total
        )
        yield GaugeMetricFamily(
            "photochanger_media_volume_avail_bytes", "Media volume free space.", value=usage.free
        )


class _KindTotals(TypedDict):
    kind: str
    files: int
    bytes: int | None  # the sum of no rows
    expired: int


def _media_totals() -> dict[str, _KindTotals]:
    """One aggregate over live rows (bounded by the TTL): files, bytes and expired per kind."""
    rows = (
        MediaObject.objects.live()
        .values("kind")
        .annotate(
            files=Count("id"),
            bytes=Sum("size_bytes"),
            # What cleanup_media would delete: it never touches templates.
            expired=Count(
                "id",
                filter=Q(expires_at__lte=timezone.now()) & ~Q(kind=MediaObject.Kind.TEMPLATE),
            ),
        )
        .order_by()
    )
    return {row["kind"]: row for row in rows}
