"""Reads of jobs for the staff pages, the staff API and the public gallery; they change nothing.

Each is a fixed number of queries whatever the number of slots or jobs: they lean on the
(slot, started_at) and (status, started_at) indexes of JobHistory.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.runtime import load_runtime_settings
from ingest.models import JobHistory, WrongPasswordCount
from media.models import MediaObject
from providers.base import FAILURE_CODES
from slots.models import Slot

if TYPE_CHECKING:  # django-stubs-ext is a development requirement only
    from django_stubs_ext import WithAnnotations

Status = JobHistory.Status
RECENT_RESULTS = 10


# Failures that mean a slot is in trouble; a guest's bad file or a busy slot are not.
FAILING_REASONS = frozenset({*FAILURE_CODES, "timeout", "internal_error", "storage_unavailable"})
# A slot whose latest booth shot within this long failed for one of those reasons is failing.
FAILING_WINDOW = timedelta(minutes=30)


class _ActivityColumns(TypedDict):
    """What slots_with_activity annotates each slot with."""

    last_job_at: datetime | None
    last_status: str | None
    last_failure_reason: str | None
    last_result_job_id: uuid.UUID | None
    last_result_at: datetime | None
    last_booth_job_at: datetime | None
    last_booth_reason: str | None
    in_flight: int


@dataclass(frozen=True)
class SlotActivity:
    last_job_at: datetime | None
    last_status: str | None
    in_flight: int
    last_failure_reason: str = ""
    last_result_job_id: uuid.UUID | None = None
    last_result_at: datetime | None = None
    last_booth_job_at: datetime | None = None
    last_booth_reason: str = ""

    def failing(self, now: datetime | None = None) -> bool:
        recent = (
            self.last_booth_job_at is not None
            and self.last_booth_job_at > (now or timezone.now()) - FAILING_WINDOW
        )
        return recent and self.last_booth_reason in FAILING_REASONS


def slots_with_activity(
    *, now: datetime | None = None, slot_id: str | None = None
) -> list[tuple[Slot, SlotActivity]]:
    """All slots, or the one `slot_id`, with their templates prefetched, their latest jobs and
    running jobs."""
    now = now or timezone.now()
    latest = JobHistory.objects.filter(slot=OuterRef("pk")).order_by("-started_at")
    booth = latest.filter(source=JobHistory.Source.INGEST).exclude(status=Status.PROCESSING)
    results = latest.filter(status=Status.DONE, result_expires_at__gt=now)
    slots = Slot.objects.prefetch_related("template_media").annotate(
        last_job_at=Subquery(latest.values("started_at")[:1]),
        last_status=Subquery(latest.values("status")[:1]),
        last_failure_reason=Subquery(latest.values("failure_reason")[:1]),
        last_result_job_id=Subquery(results.values("job_id")[:1]),
        last_result_at=Subquery(results.values("finished_at")[:1]),
        last_booth_job_at=Subquery(booth.values("started_at")[:1]),
        last_booth_reason=Subquery(booth.values("failure_reason")[:1]),
        in_flight=_count_of(_running(now).filter(slot=OuterRef("pk"))),
    )
    if slot_id is not None:
        slots = slots.filter(pk=slot_id)
    return [(slot, _activity(slot)) for slot in slots]


def _activity(slot: "WithAnnotations[Slot, _ActivityColumns]") -> SlotActivity:
    return SlotActivity(
        last_job_at=slot.last_job_at,
        last_status=slot.last_status,
        in_flight=slot.in_flight,
        last_failure_reason=slot.last_failure_reason or "",
        last_result_job_id=slot.last_result_job_id,
        last_result_at=slot.last_result_at,
        last_booth_job_at=slot.last_booth_job_at,
        last_booth_reason=slot.last_booth_reason or "",
    )


def recent_jobs(*, slot_id: str, limit: int = RECENT_RESULTS) -> QuerySet[JobHistory]:
    return JobHistory.objects.filter(slot_id=slot_id).order_by("-started_at")[:limit]


def gallery_jobs(
    *, slot_id: str, size: int | None = None, now: datetime | None = None
) -> QuerySet[JobHistory]:
    """The public gallery: the latest `size` results of booth uploads still within their TTL.

    `size` defaults to the runtime setting `gallery_size`.
    """
    size = size or load_runtime_settings().gallery_size
    return (
        JobHistory.objects.with_live_result(now)
        .filter(slot_id=slot_id, source=JobHistory.Source.INGEST)
        .order_by("-started_at")[:size]
    )


def job(job_id: uuid.UUID) -> JobHistory | None:
    return JobHistory.objects.filter(pk=job_id).first()


def job_by_code(code: str) -> JobHistory | None:
    return JobHistory.objects.filter(public_code=code).first() if code else None


def result_file(job_id: uuid.UUID, *, preview: bool) -> MediaObject | None:
    """The newest result (or preview) row of a job, cleaned or not."""
    kind = MediaObject.Kind.PREVIEW if preview else MediaObject.Kind.RESULT
    return MediaObject.objects.filter(job_id=job_id, kind=kind).order_by("-created_at").first()


def provider_input(media_id: uuid.UUID) -> MediaObject | None:
    return MediaObject.objects.filter(pk=media_id, kind=MediaObject.Kind.PROVIDER_INPUT).first()


def wrong_password_counts(since: datetime) -> dict[str, int]:
    """Wrong ingest passwords per slot id since `since` (counted by whole minutes)."""
    rows = (
        WrongPasswordCount.objects.filter(minute__gte=since.replace(second=0, microsecond=0))
        .values("slot")
        .annotate(total=Sum("count"))
        .values_list("slot", "total")
    )
    return dict(rows)


def _running(now: datetime) -> QuerySet[JobHistory]:
    # A `processing` row past its deadline lost its worker; it is not work in flight.
    return JobHistory.objects.filter(status=Status.PROCESSING, deadline_at__gt=now)


def _count_of(jobs: QuerySet) -> Coalesce:
    counted = jobs.order_by().values("slot").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
