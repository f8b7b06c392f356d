"""The ingest pipeline: from an authenticated photo to a stored, served result.

Every job that starts here ends in exactly one terminal state, whatever happens: validation
errors, provider faults, the window running out, or the client going away (Django cancels the
view; finalisation is shielded from that cancellation).
"""

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from asgiref.sync import sync_to_async
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from ingest.models import ConcurrencyLease, JobHistory
from media import images
from media.models import MediaObject
from media.services import (
    delete_media,
    delete_stored_files,
    read_file,
    record_files,
    write_provider_inputs,
    write_result_files,
)
from photochanger import metrics
from photochanger.runtime import RuntimeSettings
from providers.base import (
    BAD_RESPONSE,
    PROVIDER_UNCONFIGURED,
    ImageInput,
    ProviderError,
    ProviderJob,
    TemplateImage,
)
from providers.registry import DRIVERS, get_driver
from slots.models import Slot

log = structlog.get_logger(__name__)

MB = 1024 * 1024
# A lease outlives its job's deadline by this much, so a crashed worker's seat frees itself.
LEASE_GRACE_SECONDS = 30
FOLLOWER_POLL_SECONDS = 0.2
METADATA_MAX_FIELDS = 32
METADATA_MAX_CHARS = 512

STATUS_FOR_REASON = {
    "slot_not_found": 404,
    "slot_inactive": 404,
    "payload_too_large": 413,
    "missing_field": 400,
    "bad_request": 400,
    "invalid_password": 401,
    "unsupported_media_type": 415,
    "invalid_image": 400,
    "hash_mismatch": 400,
    "slot_busy": 429,
    "provider_busy": 429,
    "provider_unconfigured": 503,
    "provider_5xx": 503,
    "quota": 503,
    "network": 503,
    "safety_blocked": 502,
    "bad_response": 502,
    "timeout": 504,
    "internal_error": 500,
}
OUTPUT_MIMES = {"jpeg": images.JPEG, "png": images.PNG, "webp": images.WEBP}
_HASH_BY_LENGTH = {32: hashlib.md5, 40: hashlib.sha1, 64: hashlib.sha256}


class IngestError(Exception):
    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        job_id: uuid.UUID | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason
        self.job_id = job_id
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return STATUS_FOR_REASON[self.reason]


@dataclass(frozen=True)
class _JobContext:
    job: JobHistory
    slot: Slot
    config: RuntimeSettings
    deadline: float
    public_base_url: str


@dataclass(frozen=True)
class IngestResult:
    job_id: uuid.UUID
    data: bytes
    mime: str
    expires_at: datetime


async def get_active_slot(slot_id: str) -> Slot:
    slot = await Slot.objects.filter(pk=slot_id).afirst()
    if slot is None:
        raise IngestError("slot_not_found", f"no slot {slot_id!r}")
    if not slot.is_active:
        raise IngestError("slot_inactive", f"slot {slot_id} is switched off")
    return slot


async def process_photo(
    *,
    slot: Slot,
    data: bytes,
    source: str,
    config: RuntimeSettings,
    claimed_hash: str | None = None,
    metadata: dict[str, str] | None = None,
    idempotency_key: str = "",
    public_base_url: str = "",
) -> IngestResult:
    """Run one upload through the pipeline, or replay an earlier job for the same input.

    `public_base_url` is where providers that download inputs by URL can reach this server.
    """
    window = slot.sync_response_seconds or config.sync_response_seconds
    deadline = time.monotonic() + window
    sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    earlier = await _find_earlier_job(slot, sha256, idempotency_key)
    if earlier is not None:
        return await _follow(earlier, deadline)
    try:
        job = await JobHistory.objects.acreate(
            slot=slot,
            slot_version=slot.version,
            source=source,
            provider=slot.provider,
            deadline_at=timezone.now() + timedelta(seconds=window),
            input_sha256=sha256,
            idempotency_key=idempotency_key[:128],
            metadata=cap_metadata(metadata or {}),
        )
    except IntegrityError:  # another request with the same input is running: single flight
        leader = await _find_earlier_job(slot, sha256, "")
        if leader is None:
            raise
        return await _follow(leader, deadline)
    log.info("ingest.accepted", job_id=str(job.job_id), slot_id=slot.pk, source=source)
    # The job runs in its own task: when the booth disconnects, Django cancels this coroutine
    # but the job still finishes inside its window, so a retry of the same shot (which follows
    # this job) gets the result instead of a second provider call.
    context = _JobContext(job, slot, config, deadline, public_base_url)
    task = asyncio.ensure_future(_run_to_terminal_state(context, data, claimed_hash))
    _running_jobs.add(task)
    task.add_done_callback(_forget_job)
    return await asyncio.shield(task)


_running_jobs: set[asyncio.Task] = set()


def _forget_job(task: asyncio.Task) -> None:
    _running_jobs.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved here so an abandoned job's error is not reported as lost


async def _run_to_terminal_state(
    context: _JobContext, data: bytes, claimed_hash: str | None
) -> IngestResult:
    job = context.job
    try:
        return await _run(context, data, claimed_hash)
    except IngestError as error:
        error.job_id = job.job_id
        status = (
            JobHistory.Status.TIMEOUT if error.reason == "timeout" else JobHistory.Status.FAILED
        )
        await asyncio.shield(_finish(job, status, error.reason))
        raise
    except asyncio.CancelledError:  # only at shutdown: the loop is cancelling every task
        await asyncio.shield(_finish(job, JobHistory.Status.FAILED, "internal_error"))
        raise
    except Exception:
        log.exception("ingest.internal_error", job_id=str(job.job_id))
        await asyncio.shield(_finish(job, JobHistory.Status.FAILED, "internal_error"))
        raise IngestError("internal_error", "unexpected error", job_id=job.job_id) from None


async def _run(context: _JobContext, data: bytes, claimed_hash: str | None) -> IngestResult:
    job, slot, config = context.job, context.slot, context.config
    limit_mb = slot.size_limit_mb or config.max_upload_mb
    if len(data) > limit_mb * MB:
        raise IngestError("payload_too_large", f"file is over the {limit_mb} MB limit")
    await release_db_connections()  # decoding may wait behind other uploads' images
    photo = await _normalise(data)
    job.hash_check = await _check_hash(job, data, claimed_hash, config.hash_check)
    await _claim_leases(job, slot, config)
    driver = _driver_for(slot, config)
    photo_input, templates = ImageInput(photo.data, photo.mime), await _template_images(slot)
    if driver.needs_public_urls:
        photo_input, templates = await _publish_inputs(context, photo_input, templates)
    provider_job = ProviderJob(
        job_id=str(job.job_id),
        slot_id=slot.pk,
        operation=slot.operation,
        settings=slot.settings_json,
        photo=photo_input,
        templates=templates,
        api_key=config.api_key(slot.provider),
        deadline=context.deadline,
    )
    await release_db_connections()
    answer = await _call_provider(driver, provider_job)
    output_mime = OUTPUT_MIMES.get(slot.output_format, photo.mime)
    try:
        rendered = await images.run_image_work(
            images.render_result, answer.data, output_mime, trusted=driver.trusted_output
        )
    except (images.UnsupportedImage, images.InvalidImage) as error:
        raise IngestError(BAD_RESPONSE, f"provider answer is not a usable image: {error}") from None
    return await _store_result(job, slot, rendered, config)


async def _publish_inputs(
    context: _JobContext, photo: ImageInput, templates: tuple[TemplateImage, ...]
) -> tuple[ImageInput, tuple[TemplateImage, ...]]:
    """Publish the inputs at unguessable links that work until the job's deadline."""
    inputs = [images.EncodedImage(i.data, i.mime, 0, 0) for i in (photo, *templates)]
    files = await asyncio.to_thread(write_provider_inputs, job_id=context.job.job_id, images=inputs)
    media = await sync_to_async(record_files)(
        files=files,
        slot_id=context.slot.pk,
        job_id=context.job.job_id,
        expires_at=context.job.deadline_at,
    )
    urls = [f"{context.public_base_url}/public/provider-media/{m.pk}" for m in media]
    return (
        replace(photo, url=urls[0]),
        tuple(replace(t, url=url) for t, url in zip(templates, urls[1:], strict=True)),
    )


async def _normalise(data: bytes) -> images.EncodedImage:
    try:
        return await images.run_image_work(images.normalise_upload, data)
    except images.UnsupportedImage as error:
        raise IngestError("unsupported_media_type", str(error)) from None
    except images.InvalidImage as error:
        raise IngestError("invalid_image", str(error)) from None


async def _check_hash(job: JobHistory, data: bytes, claimed: str | None, mode: str) -> str:
    """Compare the booth's `hash` with the file's digest; only `enforce` rejects a mismatch."""
    if mode == "off" or claimed is None:
        return JobHistory.HashCheck.OFF
    outcome = await asyncio.to_thread(hash_outcome, data, claimed)
    if outcome != JobHistory.HashCheck.MATCH:
        log.warning("ingest.hash_mismatch", job_id=str(job.job_id), outcome=outcome, mode=mode)
        if mode == "enforce":
            raise IngestError("hash_mismatch", "hash does not match the file's digest")
    return outcome


def hash_outcome(data: bytes, claimed: str) -> str:
    claimed = claimed.strip().lower()
    algorithm = _HASH_BY_LENGTH.get(len(claimed))
    if algorithm is None or any(c not in "0123456789abcdef" for c in claimed):
        return JobHistory.HashCheck.UNRECOGNISED
    if algorithm(data).hexdigest() == claimed:
        return JobHistory.HashCheck.MATCH
    return JobHistory.HashCheck.MISMATCH


async def _claim_leases(job: JobHistory, slot: Slot, config: RuntimeSettings) -> None:
    expires_at = job.deadline_at + timedelta(seconds=LEASE_GRACE_SECONDS)
    scopes = [
        (f"slot:{slot.pk}", config.per_slot_concurrency, "slot_busy"),
        (
            f"provider:{slot.provider}",
            config.per_provider_concurrency[slot.provider],
            "provider_busy",
        ),
    ]
    for scope, limit, reason in scopes:
        claimed = await sync_to_async(ConcurrencyLease.objects.claim)(
            scope=scope, limit=limit, job_id=job.job_id, expires_at=expires_at
        )
        if not claimed:
            retry_after = await sync_to_async(ConcurrencyLease.objects.seconds_until_free)(
                scope, limit, LEASE_GRACE_SECONDS
            )
            raise IngestError(
                reason, f"{scope} is at its limit of {limit}", retry_after=retry_after
            )


def _driver_for(slot: Slot, config: RuntimeSettings):
    if slot.provider not in DRIVERS:
        raise IngestError(PROVIDER_UNCONFIGURED, f"provider {slot.provider} is not available")
    driver = get_driver(slot.provider)
    if driver.requires_api_key and not config.api_key(slot.provider):
        raise IngestError(PROVIDER_UNCONFIGURED, f"provider {slot.provider} has no API key")
    return driver


async def _template_images(slot: Slot) -> tuple[TemplateImage, ...]:
    links = [
        (link.role, link.media.path, link.media.mime)
        async for link in slot.template_media.select_related("media").filter(
            media__cleaned_at__isnull=True
        )
    ]
    contents = await asyncio.gather(*(asyncio.to_thread(read_file, path) for _, path, _ in links))
    return tuple(
        TemplateImage(data, mime, role=role)
        for (role, _, mime), data in zip(links, contents, strict=True)
    )


async def _call_provider(driver, provider_job: ProviderJob):
    # The timeout cancels the driver's coroutine at the deadline, which closes its connection;
    # a late answer therefore never arrives anywhere.
    window = asyncio.timeout(max(provider_job.remaining_seconds(), 0))
    started, failure = time.monotonic(), ""
    try:
        with metrics.ingest_in_flight(provider_job.slot_id):
            async with window:
                return await driver.process(provider_job)
    except TimeoutError:
        if not window.expired():
            failure = "internal_error"
            raise  # the driver's own fault, not the end of the window
        failure = "timeout"
        raise IngestError("timeout", "no result within the sync window") from None
    except ProviderError as error:
        failure = error.code
        log.warning("ingest.provider_failed", job_id=provider_job.job_id, reason=error.code)
        raise IngestError(error.code, error.detail, retry_after=error.retry_after) from None
    finally:
        metrics.observe_provider_call(
            provider=driver.name, seconds=time.monotonic() - started, failure_reason=failure
        )


async def _store_result(
    job: JobHistory, slot: Slot, rendered: images.RenderedResult, config: RuntimeSettings
) -> IngestResult:
    files = await asyncio.to_thread(
        write_result_files,
        slot_id=slot.pk,
        job_id=job.job_id,
        payload=rendered.payload,
        preview=rendered.preview,
    )
    expires_at = timezone.now() + timedelta(hours=config.result_ttl_hours)
    try:
        await asyncio.shield(_finish_done(job, files, expires_at))
    except BaseException:
        await asyncio.to_thread(delete_stored_files, [f.path for f in files])
        raise
    return IngestResult(job.job_id, rendered.payload.data, rendered.payload.mime, expires_at)


@sync_to_async
def _finish_done(job: JobHistory, files, expires_at: datetime) -> None:
    with transaction.atomic():
        record_files(files=files, slot_id=job.slot_id, job_id=job.job_id, expires_at=expires_at)
        _mark_finished(
            job,
            JobHistory.Status.DONE,
            result_path=files[0].path,
            result_mime=files[0].mime,
            result_expires_at=expires_at,
        )
        ConcurrencyLease.objects.release(job.job_id)
    _delete_provider_inputs(job)


@sync_to_async
def _finish(job: JobHistory, status: str, reason: str) -> None:
    with transaction.atomic():
        _mark_finished(job, status, failure_reason=reason)
        ConcurrencyLease.objects.release(job.job_id)
    delete_media(list(MediaObject.objects.filter(job_id=job.job_id, cleaned_at__isnull=True)))


def _delete_provider_inputs(job: JobHistory) -> None:
    inputs = MediaObject.objects.live().filter(
        job_id=job.job_id, kind=MediaObject.Kind.PROVIDER_INPUT
    )
    delete_media(list(inputs))


def _mark_finished(job: JobHistory, status: str, **fields) -> None:
    now = timezone.now()
    fields |= {
        "status": status,
        "finished_at": now,
        "duration_ms": int((now - job.started_at).total_seconds() * 1000),
        "hash_check": job.hash_check,
    }
    JobHistory.objects.filter(pk=job.pk, status=JobHistory.Status.PROCESSING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    log.info(
        "ingest.finished",
        job_id=str(job.job_id),
        slot_id=job.slot_id,
        provider=job.provider,
        status=status,
        failure_reason=fields.get("failure_reason", ""),
        duration_ms=fields["duration_ms"],
    )


async def _find_earlier_job(slot: Slot, sha256: str, idempotency_key: str) -> JobHistory | None:
    now = timezone.now()
    same_input = JobHistory.objects.filter(slot=slot).exclude(
        status__in=[JobHistory.Status.FAILED, JobHistory.Status.TIMEOUT]
    )
    if idempotency_key:
        same_input = same_input.filter(idempotency_key=idempotency_key[:128])
    else:
        same_input = same_input.filter(slot_version=slot.version, input_sha256=sha256)
    candidates = same_input.filter(
        status=JobHistory.Status.PROCESSING
    ) | same_input.with_live_result(now)
    return await candidates.order_by("-started_at").afirst()


async def _follow(leader: JobHistory, deadline: float) -> IngestResult:
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
    data = await asyncio.to_thread(read_file, leader.result_path)
    log.info("ingest.replayed", job_id=str(leader.job_id), slot_id=leader.slot_id)
    return IngestResult(leader.job_id, data, leader.result_mime, leader.result_expires_at)


def _current_state(job_id: uuid.UUID) -> JobHistory:
    reconcile_overdue_jobs()
    return JobHistory.objects.get(pk=job_id)


async def release_db_connections() -> None:
    """Hand the request's connections back before a wait that needs no database.

    A request otherwise keeps its connection until it ends: a few dozen uploads waiting on a
    provider (or queued for a password hash or image decoding) would hold every connection
    while others time out waiting for one. With the pool, getting one back is cheap.
    """
    await sync_to_async(close_idle_connections)()


def close_idle_connections() -> None:
    """Close this thread's connections, never inside a transaction."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def reconcile_overdue_jobs() -> int:
    """Close jobs whose worker died (crash, restart): they end as failed, leaving no files."""
    overdue = list(JobHistory.objects.overdue())
    for job in overdue:
        with transaction.atomic():
            _mark_finished(job, JobHistory.Status.FAILED, failure_reason="internal_error")
            ConcurrencyLease.objects.release(job.job_id)
        delete_media(list(MediaObject.objects.filter(job_id=job.job_id, cleaned_at__isnull=True)))
    return len(overdue)


def cap_metadata(fields: dict[str, str]) -> dict[str, str]:
    """Keep the booth's extra text fields for the record, bounded in count and size."""
    return {
        str(key)[:64]: str(value)[:METADATA_MAX_CHARS]
        for key, value in list(fields.items())[:METADATA_MAX_FIELDS]
    }
