"""Reads behind the public job and result links; they reconcile and expire lazily."""

import uuid
from datetime import timedelta

from django.utils import timezone

from ingest.models import JobHistory
from ingest.services import reconcile_overdue_jobs
from media.models import MediaObject
from media.services import delete_media
from photochanger.runtime import load_runtime_settings

EXPIRED = object()


def _parse_id(job_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(job_id)
    except ValueError:
        return None


def visible_job(job_id: str) -> JobHistory | None:
    """The job, unless unknown or past its TTL (failed jobs count from their start)."""
    job_uuid = _parse_id(job_id)
    job = JobHistory.objects.filter(pk=job_uuid).first() if job_uuid else None
    if job is None:
        return None
    if job.status == JobHistory.Status.PROCESSING:
        reconcile_overdue_jobs()
        job.refresh_from_db()
    ttl = timedelta(hours=load_runtime_settings().result_ttl_hours)
    visible_until = job.result_expires_at or job.started_at + ttl
    return job if visible_until > timezone.now() else None


def result_media(job_id: str, *, preview: bool) -> MediaObject | object | None:
    """The live result (or preview) file of a job, EXPIRED once its TTL passed, else None.

    An expired file is deleted here, at the first read after expiry, so a link stops working
    on time even when the periodic cleanup has not run yet.
    """
    job_uuid = _parse_id(job_id)
    if job_uuid is None:
        return None
    kind = MediaObject.Kind.PREVIEW if preview else MediaObject.Kind.RESULT
    media = MediaObject.objects.filter(job_id=job_uuid, kind=kind).order_by("-created_at").first()
    if media is None:
        return None
    if media.cleaned_at is not None:
        return EXPIRED
    if media.is_expired():
        delete_media(list(MediaObject.objects.filter(job_id=job_uuid, cleaned_at__isnull=True)))
        return EXPIRED
    return media


def provider_input(media_id: str) -> MediaObject | object | None:
    """A published provider input, EXPIRED after its job's deadline (deleted at that read)."""
    media_uuid = _parse_id(media_id)
    kind = MediaObject.Kind.PROVIDER_INPUT
    media = MediaObject.objects.filter(pk=media_uuid, kind=kind).first() if media_uuid else None
    if media is None:
        return None
    if media.cleaned_at is not None:
        return EXPIRED
    if media.is_expired():
        delete_media([media])
        return EXPIRED
    return media
