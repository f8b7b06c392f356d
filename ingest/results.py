"""What the public links serve: a job's status and files, expiring on time.

An expired file is deleted at the first read after its expiry, so a link stops working on time
even when the periodic cleanup has not run yet; a job still `processing` past its deadline is
reconciled before it is shown.
"""

import uuid
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.utils import timezone

from core.runtime import load_runtime_settings
from ingest import previews, selectors
from ingest.jobs import reconcile_overdue_jobs
from ingest.models import JobHistory
from media.models import MediaObject
from media.services import delete_media

EXPIRED = object()


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def visible_job(job_id: str) -> JobHistory | None:
    """The job, unless unknown or past its TTL (failed jobs count from their start)."""
    job_uuid = parse_id(job_id)
    job = selectors.job(job_uuid) if job_uuid else None
    if job is None:
        return None
    if job.status == JobHistory.Status.PROCESSING:
        reconcile_overdue_jobs()
        job.refresh_from_db()
    ttl = timedelta(hours=load_runtime_settings().result_ttl_hours)
    visible_until = job.result_expires_at or job.started_at + ttl
    return job if visible_until > timezone.now() else None


def result_media(job_id: str, *, preview: bool) -> MediaObject | object | None:
    """The live result (or preview) file of a job, EXPIRED once its TTL passed, else None."""
    job_uuid = parse_id(job_id)
    media = selectors.result_file(job_uuid, preview=preview) if job_uuid else None
    if media is None:
        return None
    if media.cleaned_at is not None:
        return EXPIRED
    if media.is_expired():
        delete_media(list(MediaObject.objects.live().filter(job_id=job_uuid)))
        return EXPIRED
    return media


async def preview_media(job_id: str) -> MediaObject | object | None:
    """`result_media` for a job's preview; a live result without one gets it made now.

    Raises StorageUnavailable when it has to be made and the storage cannot be read."""
    found = await sync_to_async(result_media)(job_id, preview=True)
    if found is not None:
        return found
    result = await sync_to_async(result_media)(job_id, preview=False)
    job_uuid = parse_id(job_id)
    if not isinstance(result, MediaObject) or job_uuid is None:
        return result  # EXPIRED, or no result at all
    return await previews.missing_preview(job_uuid, result)


def guest_result(code: str) -> JobHistory | object | None:
    """The done job behind a guest link, EXPIRED past its TTL (its files deleted then)."""
    job = selectors.job_by_code(code)
    if job is None or job.status != JobHistory.Status.DONE:
        return None
    if not job.result_is_live():
        delete_media(list(MediaObject.objects.live().filter(job_id=job.job_id)))
        return EXPIRED
    return job


def provider_input(media_id: str) -> MediaObject | object | None:
    """A published provider input, EXPIRED after its job's deadline (deleted at that read)."""
    media_uuid = parse_id(media_id)
    media = selectors.provider_input(media_uuid) if media_uuid else None
    if media is None:
        return None
    if media.cleaned_at is not None:
        return EXPIRED
    if media.is_expired():
        delete_media([media])
        return EXPIRED
    return media
