"""Statistics over job history for the staff API and the stats page.

Every function here is a fixed number of aggregate queries whatever the number of slots or
jobs: they lean on the (slot, started_at) and (status, started_at) indexes of JobHistory.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDay, TruncHour, TruncMinute
from django.utils import timezone

from core.runtime import load_runtime_settings
from ingest.errors import failure_text
from ingest.models import JobHistory
from ingest.selectors import wrong_password_counts
from ingest.status import slot_statuses
from media.models import MediaObject
from providers.base import FAILURE_CODES
from slots.models import Slot

if TYPE_CHECKING:  # django-stubs-ext is a development requirement only
    from django_stubs_ext import WithAnnotations

Status = JobHistory.Status
WINDOW_CHOICES = (15, 60, 180, 360, 1440, 10080)
MAX_WINDOW_MINUTES = WINDOW_CHOICES[-1]


# Which jobs the statistics count: booth traffic by default, staff test runs apart.
SOURCES = (*JobHistory.Source.values, "all")
LATEST_RESULTS = 10


def stats_overview(
    *,
    window_minutes: int,
    slot_id: str | None = None,
    source: str = JobHistory.Source.INGEST,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The brief's §8 payload plus error shares, the latest results and a timeline; six queries.

    `source` is `ingest` (booth uploads, the default), `ui_test` (staff test runs) or `all`.
    """
    now = now or timezone.now()
    since = now - timedelta(minutes=window_minutes)
    jobs = JobHistory.objects.all() if source == "all" else JobHistory.objects.filter(source=source)
    if slot_id:
        jobs = jobs.filter(slot_id=slot_id)
    return {
        "window_minutes": window_minutes,
        "source": source,
        "system": _system_counters(jobs, since=since, now=now),
        "slots": _slot_rows(jobs, since=since, slot_id=slot_id),
        "latest_results": list(_latest_results(jobs, now=now)),
        "timeline": _timeline(jobs, since=since, now=now, window_minutes=window_minutes),
    }


def overview_with_slot_states(
    *,
    window_minutes: int,
    slot_id: str | None = None,
    source: str = JobHistory.Source.INGEST,
    now: datetime | None = None,
) -> dict[str, Any]:
    """stats_overview with each slot's state as the dashboard shows it (ingest.status), its
    failure in Russian, and the wrong ingest passwords sent to it within the window."""
    now = now or timezone.now()
    overview = stats_overview(
        window_minutes=window_minutes, slot_id=slot_id, source=source, now=now
    )
    by_id = {slot.pk: status for slot, status in slot_statuses(load_runtime_settings(), now=now)}
    wrong = wrong_password_counts(now - timedelta(minutes=window_minutes))
    for row in overview["slots"]:
        status = by_id[row["slot_id"]]
        reason = row["last_error_reason"]
        row |= {
            "status": status.state,
            "status_label": status.label,
            "last_error_text": failure_text(reason) if reason else None,
            "wrong_passwords_last_window": wrong.get(row["slot_id"], 0),
        }
    overview["system"]["wrong_passwords_last_window"] = sum(
        row["wrong_passwords_last_window"] for row in overview["slots"]
    )
    return overview


def error_share(counters: dict[str, Any]) -> float | None:
    """Failed and timed-out jobs as a fraction of the window's jobs; None without jobs."""
    jobs = counters["jobs_last_window"]
    errors = counters["failures_last_window"] + counters["timeouts_last_window"]
    return round(errors / jobs, 4) if jobs else None


# What each window counter counts; the same definitions serve the system and per-slot rows.
_OUTCOMES = {
    "jobs_last_window": Q(),
    "timeouts_last_window": Q(status=Status.TIMEOUT),
    "provider_errors_last_window": Q(status=Status.FAILED, failure_reason__in=FAILURE_CODES),
    "failures_last_window": Q(status=Status.FAILED),
}


def _outcome_counts(scope: Q) -> dict[str, Count]:
    return {name: Count("pk", filter=scope & outcome) for name, outcome in _OUTCOMES.items()}


def _system_counters(jobs: QuerySet, *, since: datetime, now: datetime) -> dict[str, Any]:
    in_window = Q(started_at__gte=since)
    counters = jobs.aggregate(
        jobs_total=Count("pk"),
        **_outcome_counts(in_window),
        hash_mismatches_last_window=Count(
            "pk", filter=in_window & Q(hash_check=JobHistory.HashCheck.MISMATCH)
        ),
        in_flight=Count("pk", filter=Q(status=Status.PROCESSING, deadline_at__gt=now)),
    )
    stored = MediaObject.objects.live().aggregate(total=Coalesce(Sum("size_bytes"), 0))["total"]
    return {
        **counters,
        "error_share_last_window": error_share(counters),
        "storage_usage_mb": round(stored / 1_048_576, 1),
    }


def _slot_rows(jobs: QuerySet, *, since: datetime, slot_id: str | None) -> list[dict[str, Any]]:
    per_slot = {
        row.pop("slot_id"): row
        for row in jobs.filter(started_at__gte=since)
        .values("slot_id")
        .annotate(**_outcome_counts(Q()))
    }
    latest = jobs.filter(slot=OuterRef("pk")).order_by("-started_at")
    slots = Slot.objects.filter(pk=slot_id) if slot_id else Slot.objects.all()
    slots = slots.annotate(
        last_success_at=Subquery(latest.filter(status=Status.DONE).values("finished_at")[:1]),
        last_error_reason=Subquery(
            latest.filter(status__in=(Status.FAILED, Status.TIMEOUT)).values("failure_reason")[:1]
        ),
    )
    empty = dict.fromkeys(_OUTCOMES, 0)
    return [_slot_row(slot, per_slot.get(slot.pk, empty)) for slot in slots]


class _LatestOutcomes(TypedDict):
    """What _slot_rows annotates each slot with."""

    last_success_at: datetime | None
    last_error_reason: str | None


def _slot_row(
    slot: "WithAnnotations[Slot, _LatestOutcomes]", counters: dict[str, int]
) -> dict[str, Any]:
    return {
        "slot_id": slot.pk,
        "display_name": slot.display_name or slot.pk,
        "is_active": slot.is_active,
        **counters,
        "error_share_last_window": error_share(counters),
        "last_success_at": slot.last_success_at,
        "last_error_reason": slot.last_error_reason or None,
    }


def _latest_results(jobs: QuerySet, *, now: datetime) -> QuerySet:
    """The newest results still downloadable, with their public links (the view adds them)."""
    return (
        jobs.filter(status=Status.DONE, result_expires_at__gt=now)
        .order_by("-finished_at")
        .values("job_id", "slot_id", "source", "finished_at", "duration_ms", "result_expires_at")[
            :LATEST_RESULTS
        ]
    )


def _timeline(
    jobs: QuerySet, *, since: datetime, now: datetime, window_minutes: int
) -> list[dict[str, Any]]:
    """Counts per minute, hour or day (by window width), with empty buckets filled in."""
    trunc, step = _bucket_for(window_minutes)
    rows = (
        jobs.filter(started_at__gte=since)
        .annotate(bucket=trunc("started_at"))
        .values("bucket")
        .annotate(
            jobs=Count("pk"),
            timeouts=Count("pk", filter=Q(status=Status.TIMEOUT)),
            errors=Count("pk", filter=Q(status=Status.FAILED)),
        )
    )
    counted = {row.pop("bucket"): row for row in rows}
    start = _truncate(since, step)
    buckets = []
    while start <= now:
        buckets.append(
            {"start": start, **counted.get(start, {"jobs": 0, "timeouts": 0, "errors": 0})}
        )
        start += step
    return buckets


def _bucket_for(window_minutes: int):
    if window_minutes <= 180:
        return TruncMinute, timedelta(minutes=1)
    if window_minutes <= 2880:
        return TruncHour, timedelta(hours=1)
    return TruncDay, timedelta(days=1)


def _truncate(moment: datetime, step: timedelta) -> datetime:
    moment = timezone.localtime(moment)
    if step >= timedelta(days=1):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if step >= timedelta(hours=1):
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)
