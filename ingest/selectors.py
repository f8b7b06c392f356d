"""Reads of jobs for the staff pages, the staff API and the public gallery; they change nothing.

Each is a fixed number of queries whatever the number of slots or jobs: they lean on the
(slot, started_at) and (status, started_at) indexes of JobHistory.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ingest.models import JobHistory, WrongPasswordCount
from media.models import MediaObject
from slots.models import Slot

Status = JobHistory.Status
RECENT_RESULTS = 10


@dataclass(frozen=True)
class SlotActivity:
    last_job_at: datetime | None
    last_status: str | None
    in_flight: int

    @property
    def failing(self) -> bool:
        return self.last_status in (Status.FAILED, Status.TIMEOUT)


def slots_with_activity(*, now: datetime | None = None) -> list[tuple[Slot, SlotActivity]]:
    """All slots with their latest job and running jobs, in one query."""
    latest = JobHistory.objects.filter(slot=OuterRef("pk")).order_by("-started_at")
    slots = Slot.objects.annotate(
        last_job_at=Subquery(latest.values("started_at")[:1]),
        last_status=Subquery(latest.values("status")[:1]),
        in_flight=_count_of(_running(now or timezone.now()).filter(slot=OuterRef("pk"))),
    )
    return [
        (slot, SlotActivity(slot.last_job_at, slot.last_status, slot.in_flight)) for slot in slots
    ]


def recent_jobs(*, slot_id: str, limit: int = RECENT_RESULTS) -> QuerySet[JobHistory]:
    return JobHistory.objects.filter(slot_id=slot_id).order_by("-started_at")[:limit]


def gallery_jobs(*, slot_id: str, now: datetime | None = None) -> QuerySet[JobHistory]:
    """The public gallery: the latest results of booth uploads still within their TTL."""
    return (
        JobHistory.objects.with_live_result(now)
        .filter(slot_id=slot_id, source=JobHistory.Source.INGEST)
        .order_by("-started_at")[:RECENT_RESULTS]
    )


def job(job_id: uuid.UUID) -> JobHistory | None:
    return JobHistory.objects.filter(pk=job_id).first()


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
