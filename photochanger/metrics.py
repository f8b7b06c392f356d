"""PhotoChanger's own Prometheus metrics, the helpers that record them, and the /metrics body.

Process metrics (ingest, provider calls, cleanup) live in each worker. With several uvicorn
workers, PROMETHEUS_MULTIPROC_DIR must be set and emptied by `manage.py reset_metrics` before
the workers start; each scrape then sums the files of all workers. Stored-media figures are
read from the database at scrape time instead, so they are right whichever process stored or
cleaned the files (the cron container included).
"""

import os
import re
import shutil
from collections.abc import Mapping
from contextlib import AbstractContextManager

import structlog
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from media.models import MediaObject
from photochanger.runtime import PROVIDER_NAMES, load_runtime_settings

log = structlog.get_logger(__name__)
# A `_created` gauge beside every counter and histogram doubles the series and is never queried.
disable_created_metrics()

# Resolves 0.1–60 s; 48 is the default sync window, so "over the window" is a bucket edge.
INGEST_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 30, 40, 48, 60, 90)
PROVIDER_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 30, 45, 60)

INGEST_DURATION = Histogram(
    "photochanger_ingest_duration_seconds",
    "Time from receiving an ingest request to answering it.",
    ["slot", "provider", "outcome"],
    buckets=INGEST_BUCKETS,
)
INGEST_RESPONSES = Counter(
    "photochanger_ingest_responses",
    "Ingest answers by HTTP status code.",
    ["slot", "status_code"],
)
INGEST_IN_FLIGHT = Gauge(
    "photochanger_ingest_jobs_in_flight",
    "Ingest jobs waiting on a provider right now.",
    ["slot"],
    multiprocess_mode="livesum",
)
PROVIDER_CALL_DURATION = Histogram(
    "photochanger_provider_call_duration_seconds",
    "Duration of provider calls, failed ones included.",
    ["provider"],
    buckets=PROVIDER_BUCKETS,
)
PROVIDER_FAILURES = Counter(
    "photochanger_provider_failures",
    "Failed provider calls by normalised failure reason.",
    ["provider", "failure_reason"],
)
CLEANUP_RUNS = Counter("photochanger_cleanup_runs", "Cleanup runs that deleted (not dry runs).")
CLEANUP_DELETED_FILES = Counter(
    "photochanger_cleanup_deleted_files", "Files deleted by cleanup runs.", ["kind"]
)
CLEANUP_DELETED_BYTES = Counter(
    "photochanger_cleanup_deleted_bytes", "Bytes freed by cleanup runs."
)

_SLOT_ID = re.compile(r"slot-\d{3}")


def _slot_label(slot_id: str) -> str:
    # Ids from the URL of a 404 are arbitrary text; each would become a new time series.
    return slot_id if _SLOT_ID.fullmatch(slot_id or "") else "unknown"


def _provider_label(provider: str) -> str:
    return provider if provider in PROVIDER_NAMES else "none"


def observe_ingest(
    *, slot_id: str, provider: str, outcome: str, status_code: int, seconds: float
) -> None:
    """Record one answered ingest request.

    `outcome` is the job's terminal status (done, timeout, failed) or "rejected" when the
    request was refused before a job started (provider is then "" and is shown as "none").
    """
    slot = _slot_label(slot_id)
    INGEST_DURATION.labels(slot, _provider_label(provider), outcome).observe(seconds)
    INGEST_RESPONSES.labels(slot, str(status_code)).inc()


def ingest_in_flight(slot_id: str) -> AbstractContextManager:
    """`with ingest_in_flight(slot_id):` around the provider wait counts the job as in flight."""
    return INGEST_IN_FLIGHT.labels(_slot_label(slot_id)).track_inprogress()


def observe_provider_call(*, provider: str, seconds: float, failure_reason: str = "") -> None:
    """Record one provider call; `failure_reason` is empty for a success."""
    label = _provider_label(provider)
    PROVIDER_CALL_DURATION.labels(label).observe(seconds)
    if failure_reason:
        PROVIDER_FAILURES.labels(label, failure_reason).inc()


def observe_cleanup(*, files_by_kind: Mapping[str, int], bytes_freed: int) -> None:
    CLEANUP_RUNS.inc()
    for kind, files in files_by_kind.items():
        CLEANUP_DELETED_FILES.labels(kind).inc(files)
    CLEANUP_DELETED_BYTES.inc(bytes_freed)


class StoredMediaCollector:
    """Figures read from the database and the media volume when Prometheus scrapes."""

    def collect(self):
        yield from self._media_families()
        yield from self._volume_families()

    def _media_families(self):
        try:
            rows = _media_totals()
            window = load_runtime_settings().sync_response_seconds
        except DatabaseError:
            log.warning("metrics.database_unavailable")
            return
        files = GaugeMetricFamily("photochanger_media_files", "Stored media files.", None, ["kind"])
        size = GaugeMetricFamily("photochanger_media_bytes", "Stored media bytes.", None, ["kind"])
        expired = GaugeMetricFamily(
            "photochanger_media_expired_files", "Expired media files not cleaned up yet."
        )
        for kind in MediaObject.Kind.values:
            row = rows.get(kind, {})
            files.add_metric([kind], row.get("files", 0))
            size.add_metric([kind], row.get("bytes") or 0)
        expired.add_metric([], sum(row["expired"] for row in rows.values()))
        yield from (files, size, expired)
        yield GaugeMetricFamily(
            "photochanger_sync_response_seconds", "Global synchronous window.", value=window
        )

    def _volume_families(self):
        try:
            usage = shutil.disk_usage(default_storage.path(""))
        except (NotImplementedError, OSError):  # object storage, or the volume is missing
            return
        yield GaugeMetricFamily(
            "photochanger_media_volume_size_bytes", "Media volume size.", value=usage.total
        )
        yield GaugeMetricFamily(
            "photochanger_media_volume_avail_bytes", "Media volume free space.", value=usage.free
        )


def _media_totals() -> dict[str, dict]:
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


_STATE_REGISTRY = CollectorRegistry(auto_describe=False)
_STATE_REGISTRY.register(StoredMediaCollector())


def render_metrics() -> bytes:
    """The /metrics body: every worker's process metrics, then the stored-media figures."""
    return generate_latest(_process_registry()) + generate_latest(_STATE_REGISTRY)


def _process_registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def mark_worker_exited() -> None:
    """Drop this worker's in-flight gauge from the sums; call at worker shutdown."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())
