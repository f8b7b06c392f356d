"""A job's life: started once per distinct upload, followed by identical ones, ended exactly once.

Every job ends in one terminal state through `finish_job`, whoever ends it: the pipeline when
the job succeeds or fails, or the reconciliation of jobs whose worker died (crash, restart).
"""

import asyncio
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.db import release_db_connections
from ingest.errors import IngestError
from ingest.models import ConcurrencyLease, JobHistory
from media.models import MediaObject
from media.services import (
    StorageUnavailable,
    StoredFile,
    delete_media,
    read_file,
    record_files,
)
from slots.models import Slot

log = structlog.get_logger(__name__)

FOLLOWER_POLL_SECONDS = 0.2
METADATA_MAX_FIELDS = 32
METADATA_MAX_CHARS = 512


@dataclass(frozen=True)
class IngestResult:
    job_id: uuid.UUID
    data: bytes
    mime: str
    expires_at: datetime


class JobAlreadyEnded(Exception):
    """The job was ended elsewhere (reconciled as overdue) before its result could be recorded."""


@dataclass(frozen=True)
class JobClaim:
    """What an upload does: run a new job, or answer with an earlier one's outcome."""

    job: JobHistory
    new: bool  # False: `job` is an earlier upload's, which this one follows or replays


async def claim_job(
    *,
    slot: Slot,
    source: str,
    window_seconds: int,
    sha256: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> JobClaim:
    """Start a job for this upload, or name the earlier job it replays or follows.

    The database decides, not a read-then-insert: the unique constraints on running jobs of an
    input (single flight) and on a slot's live Idempotency-Keys let one concurrent first use
    insert; the others find its row on their next look. A key already naming a different file
    is refused (422 `idempotency_key_reused`, IETF Idempotency-Key draft): replaying it would
    hand the earlier guest's photo to this one. The looks and the insert take one thread hop.
    """
    key = idempotency_key_of(idempotency_key)
    job = JobHistory(
        slot=slot,
        slot_version=slot.version,
        source=source,
        provider=slot.provider,
        deadline_at=timezone.now() + timedelta(seconds=window_seconds),
        input_sha256=sha256,
        idempotency_key=key,
        metadata=cap_metadata(metadata),
        public_code=secrets.token_urlsafe(9),
    )
    return await sync_to_async(_claim)(job)


def _claim(job: JobHistory) -> JobClaim:
    slot, sha256, key = job.slot, job.input_sha256, job.idempotency_key
    for _ in range(_CLAIM_ATTEMPTS):
        earlier = _find_earlier_job(slot, sha256, key)
        if earlier is not None:
            if key and earlier.idempotency_key == key and earlier.input_sha256 != sha256:
                raise IngestError("idempotency_key_reused", "this key was used for another file")
            return JobClaim(earlier, new=False)
        if _insert(job):
            return JobClaim(job, new=True)
        if key:
            _release_expired_key(slot, key)
    raise IngestError("internal_error", "the job for this upload could not be claimed")


# Each failed attempt means another upload's row won the race; the next look finds it.
_CLAIM_ATTEMPTS = 3
_KEY_LENGTH = 128


def idempotency_key_of(header: str) -> str:
    """The Idempotency-Key header's key: an sf-string (quoted) or a bare token; '' if absent."""
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(key) > _KEY_LENGTH or any(not " " <= c <= "~" for c in key):
        raise IngestError(
            "bad_request", f"Idempotency-Key must be 1-{_KEY_LENGTH} printable ASCII characters"
        )
    return key


def _release_expired_key(slot: Slot, key: str) -> None:
    # A key names its job for the result's TTL; past it the key may name a new upload.
    JobHistory.objects.filter(
        slot=slot,
        idempotency_key=key,
        status=JobHistory.Status.DONE,
        result_expires_at__lte=timezone.now(),
    ).update(idempotency_key="")


def _insert(job: JobHistory) -> bool:
    """Whether `job` was inserted: False when a unique constraint says another upload owns it."""
    try:
        # A savepoint: the refused insert must not break a transaction around it.
        with transaction.atomic():
            job.save(force_insert=True)
    except IntegrityError:  # single flight or a live key: another upload's job
        return False
    return True


def _find_earlier_job(slot: Slot, sha256: str, idempotency_key: str) -> JobHistory | None:
    """A running or successful job whose outcome this upload may reuse.

    With a key: the job the key names, else the running job of the same input (single flight
    holds whatever the key). Without one: a job of the same input and slot version.
    """
    if idempotency_key:
        named = _reusable(slot).filter(idempotency_key=idempotency_key).first()
        if named is not None:
            return named
        running = JobHistory.Status.PROCESSING
        return _same_input(slot, sha256).filter(status=running).first()
    return _reusable(slot, _same_input(slot, sha256)).first()


def _same_input(slot: Slot, sha256: str):
    return JobHistory.objects.filter(slot=slot, slot_version=slot.version, input_sha256=sha256)


def _reusable(slot: Slot, jobs=None):
    jobs = JobHistory.objects.filter(slot=slot) if jobs is None else jobs
    return jobs.reusable().order_by("-started_at")


async def follow(leader: JobHistory, deadline: float) -> IngestResult:
    """Answer with an earlier job's outcome, waiting for it while it still runs."""
    while not leader.is_terminal:
        if time.monotonic() >= deadline:
            raise IngestError(
                "timeout",
                "the identical earlier upload did not finish in time",
                job_id=leader.job_id,
            )
        # The leader needs a connection to finish: a waiting follower must not hold one.
        await release_db_connections()
        await asyncio.sleep(FOLLOWER_POLL_SECONDS)
        leader = await sync_to_async(_current_state)(leader.pk)
    if not leader.result_is_live():
        raise IngestError(
            leader.failure_reason or "internal_error",
            "the identical earlier upload failed",
            job_id=leader.job_id,
        )
    try:
        data = await asyncio.to_thread(read_file, leader.result_path)
    except StorageUnavailable:
        raise IngestError(
            "storage_unavailable", "media storage unavailable", job_id=leader.job_id
        ) from None
    log.info("ingest.replayed", job_id=str(leader.job_id), slot_id=leader.slot_id)
    assert leader.result_expires_at is not None  # a live result has its expiry
    return IngestResult(leader.job_id, data, leader.result_mime, leader.result_expires_at)


def _current_state(job_id: uuid.UUID) -> JobHistory:
    reconcile_overdue_jobs()
    return JobHistory.objects.get(pk=job_id)


def finish_job(
    job: JobHistory,
    status: str,
    *,
    failure_reason: str = "",
    files: list[StoredFile] | None = None,
    result_expires_at: datetime | None = None,
    record: dict[str, Any] | None = None,
) -> None:
    """End `job` in `status`, free its concurrency seats and delete what it no longer needs.

    A `done` job records `files` (its result first) in the same transaction; every other ending
    deletes all of the job's files. `record` holds other fields the pipeline learned (provider
    attempts, the provider that answered, warnings). Ending a job that has already ended changes
    nothing, except that recording a result then raises JobAlreadyEnded (and rolls it back).
    """
    with transaction.atomic():
        if files:
            record_files(
                files=files, slot_id=job.slot_id, job_id=job.job_id, expires_at=result_expires_at
            )
        fields = _terminal_fields(job, status, failure_reason, files, result_expires_at)
        fields |= record or {}
        ended = JobHistory.objects.filter(pk=job.pk, status=JobHistory.Status.PROCESSING).update(
            **fields
        )
        if not ended and files:
            raise JobAlreadyEnded(str(job.job_id))
        ConcurrencyLease.objects.release(job.job_id)
    if ended:
        for name, value in fields.items():
            setattr(job, name, value)
        _log_finished(job)
    leftovers = MediaObject.objects.live().filter(job_id=job.job_id)
    if status == JobHistory.Status.DONE:
        leftovers = leftovers.filter(kind=MediaObject.Kind.PROVIDER_INPUT)
    delete_media(list(leftovers))


afinish_job = sync_to_async(finish_job)


def _terminal_fields(
    job: JobHistory,
    status: str,
    failure_reason: str,
    files: list[StoredFile] | None,
    result_expires_at: datetime | None,
) -> dict:
    now = timezone.now()
    fields = {
        "status": status,
        "failure_reason": failure_reason,
        "finished_at": now,
        "duration_ms": int((now - job.started_at).total_seconds() * 1000),
        "hash_check": job.hash_check,
    }
    if files:
        fields |= {
            "result_path": files[0].path,
            "result_mime": files[0].mime,
            "result_expires_at": result_expires_at,
        }
    return fields


def _log_finished(job: JobHistory) -> None:
    log.info(
        "ingest.finished",
        job_id=str(job.job_id),
        slot_id=job.slot_id,
        provider=job.provider,
        status=job.status,
        failure_reason=job.failure_reason,
        duration_ms=job.duration_ms,
    )


def reconcile_overdue_jobs() -> int:
    """End jobs whose worker died (crash, restart): failed, their seats freed, no files left."""
    overdue = list(JobHistory.objects.overdue())
    for job in overdue:
        finish_job(job, JobHistory.Status.FAILED, failure_reason="internal_error")
    return len(overdue)


def cap_metadata(fields: dict[str, str]) -> dict[str, str]:
    """Keep the booth's extra text fields for the record, bounded in count and size.

    Control characters go: PostgreSQL's jsonb refuses NUL, and none belongs in a booth's field.
    """
    return {
        _printable(key)[:64]: _printable(value)[:METADATA_MAX_CHARS]
        for key, value in list(fields.items())[:METADATA_MAX_FIELDS]
    }


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(text: object) -> str:
    return _CONTROL.sub("", str(text))
