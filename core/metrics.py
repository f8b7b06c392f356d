"""PhotoChanger's own Prometheus metrics, the helpers that record them, and the /metrics body.

Process metrics (ingest, provider calls, cleanup) live in each worker. With several uvicorn
workers, PROMETHEUS_MULTIPROC_DIR must be set and emptied by `manage.py reset_metrics` before
the workers start; each scrape then sums the files of all workers. Stored-media figures are
read from the database at scrape time instead, so they are right whichever process stored or
cleaned the files (the cron container included); apps hand their collectors to render_metrics.
"""

import os
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager

import structlog
from django.db import DatabaseError
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

from core.runtime import load_runtime_settings

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
FALLBACKS = Counter(
    "photochanger_fallbacks",
    "Jobs answered by a fallback: a later provider of the chain, or the original photo.",
    ["slot", "kind"],
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
    # Provider names come from slots (validated against the registry), never from a client.
    return provider or "none"


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


def observe_fallback(*, slot_id: str, kind: str) -> None:
    """A job answered by a fallback; `kind` is "provider" or "original"."""
    FALLBACKS.labels(_slot_label(slot_id), kind).inc()


def observe_cleanup(*, files_by_kind: Mapping[str, int], bytes_freed: int) -> None:
    CLEANUP_RUNS.inc()
    for kind, files in files_by_kind.items():
        CLEANUP_DELETED_FILES.labels(kind).inc(files)
    CLEANUP_DELETED_BYTES.inc(bytes_freed)


class RuntimeCollector:
    """The global synchronous window, read from the runtime settings at scrape time."""

    def collect(self):
        try:
            window = load_runtime_settings().sync_response_seconds
        except DatabaseError:
            log.warning("metrics.database_unavailable")
            return
        yield GaugeMetricFamily(
            "photochanger_sync_response_seconds", "Global synchronous window.", value=window
        )


def render_metrics(*collectors) -> bytes:
    """The /metrics body: every worker's process metrics, then figures read at scrape time.

    `collectors` (each with a `collect()` yielding metric families) are read from state shared
    by all processes, such as the database, so they are right whichever process changed it.
    """
    state = CollectorRegistry(auto_describe=False)
    for collector in (RuntimeCollector(), *collectors):
        state.register(collector)
    return generate_latest(_process_registry()) + generate_latest(state)


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
