"""The ingest pipeline: from an authenticated photo to a stored, served result.

Every job that starts here ends in exactly one terminal state (see `ingest.jobs`), whatever
happens: validation errors, provider faults, the window running out, or the client going away
(Django cancels the view; the job runs in its own task, shielded from that cancellation).
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.utils import timezone

from core.cpu import run_cpu
from core.db import release_db_connections
from core.runtime import RuntimeSettings
from ingest.calls import call_provider, driver_for, publish_inputs, template_images
from ingest.errors import IngestError
from ingest.forms import FileDigests
from ingest.jobs import IngestResult, afinish_job, claim_job, follow
from ingest.limits import claim_seats
from ingest.models import JobHistory
from media import images
from media.services import delete_stored_files, write_result_files
from providers.base import BAD_RESPONSE, ImageInput, ProviderJob
from slots.models import Slot

log = structlog.get_logger(__name__)

OUTPUT_MIMES = {"jpeg": images.JPEG, "png": images.PNG, "webp": images.WEBP}


@dataclass(frozen=True)
class _JobContext:
    job: JobHistory
    slot: Slot
    config: RuntimeSettings
    deadline: float
    public_base_url: str
    digests: FileDigests
    normalised: images.EncodedImage | None


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
    digests: FileDigests | None = None,
    normalised: images.EncodedImage | None = None,
) -> IngestResult:
    """Run one upload through the pipeline, or replay an earlier job for the same input.

    `public_base_url` is where providers that download inputs by URL can reach this server.
    `digests` and `normalised` are what the upload's reading already worked out from `data`.
    """
    window = slot.response_window_seconds(config)
    deadline = time.monotonic() + window
    digests = digests or await asyncio.to_thread(FileDigests.of, data, claimed_hash)
    claim = await claim_job(
        slot=slot,
        source=source,
        window_seconds=window,
        sha256=digests.sha256,
        idempotency_key=idempotency_key,
        metadata=metadata or {},
    )
    if claim.earlier is not None:
        return await follow(claim.earlier, deadline)
    job = claim.job
    log.info("ingest.accepted", job_id=str(job.job_id), slot_id=slot.pk, source=source)
    # The job runs in its own task: when the booth disconnects, Django cancels this coroutine
    # but the job still finishes inside its window, so a retry of the same shot (which follows
    # this job) gets the result instead of a second provider call.
    context = _JobContext(job, slot, config, deadline, public_base_url, digests, normalised)
    # Handed over in a list the job empties: the raw upload is freed once normalised.
    task = asyncio.ensure_future(_run_to_terminal_state(context, [data], claimed_hash))
    del data
    _running_jobs.add(task)
    task.add_done_callback(_forget_job)
    return await asyncio.shield(task)


_running_jobs: set[asyncio.Task] = set()


def _forget_job(task: asyncio.Task) -> None:
    _running_jobs.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved here so an abandoned job's error is not reported as lost


async def _run_to_terminal_state(
    context: _JobContext, data: list[bytes], claimed_hash: str | None
) -> IngestResult:
    job = context.job
    try:
        return await _run(context, data, claimed_hash)
    except IngestError as error:
        error.job_id = job.job_id
        status = (
            JobHistory.Status.TIMEOUT if error.reason == "timeout" else JobHistory.Status.FAILED
        )
        await asyncio.shield(afinish_job(job, status, failure_reason=error.reason))
        raise
    except asyncio.CancelledError:  # only at shutdown: the loop is cancelling every task
        await asyncio.shield(_fail(job))
        raise
    except Exception:
        log.exception("ingest.internal_error", job_id=str(job.job_id))
        await asyncio.shield(_fail(job))
        raise IngestError("internal_error", "unexpected error", job_id=job.job_id) from None


async def _fail(job: JobHistory) -> None:
    await afinish_job(job, JobHistory.Status.FAILED, failure_reason="internal_error")


async def _run(context: _JobContext, upload: list[bytes], claimed_hash: str | None) -> IngestResult:
    job, slot, config = context.job, context.slot, context.config
    data = upload.pop()
    limit_mb = slot.upload_limit_mb(config)
    if len(data) > limit_mb * images.MB:
        raise IngestError("payload_too_large", f"file is over the {limit_mb} MB limit")
    await release_db_connections()  # decoding may wait behind other uploads' images
    photo = context.normalised or await _normalise(data)
    del data
    job.hash_check = _check_hash(job, context.digests, claimed_hash, config.hash_check)
    await claim_seats(job, config)
    driver = driver_for(slot, config)
    photo_input, templates = ImageInput(photo.data, photo.mime), await template_images(slot)
    if driver.needs_public_urls:
        photo_input, templates = await publish_inputs(
            job, photo_input, templates, context.public_base_url
        )
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
    answer = await call_provider(driver, provider_job)
    output_mime = OUTPUT_MIMES.get(slot.output_format, photo.mime)
    try:
        rendered = await run_cpu(
            images.render_result, answer.data, output_mime, trusted=driver.trusted_output
        )
    except (images.UnsupportedImage, images.InvalidImage) as error:
        raise IngestError(BAD_RESPONSE, f"provider answer is not a usable image: {error}") from None
    return await _store_result(job, slot, rendered, config)


async def _normalise(data: bytes) -> images.EncodedImage:
    try:
        return await run_cpu(images.normalise_upload, data)
    except images.UnsupportedImage as error:
        raise IngestError("unsupported_media_type", str(error)) from None
    except images.InvalidImage as error:
        raise IngestError("invalid_image", str(error)) from None


def _check_hash(job: JobHistory, digests: FileDigests, claimed: str | None, mode: str) -> str:
    """Compare the booth's `hash` with the file's digest; only `enforce` rejects a mismatch."""
    if mode == "off" or claimed is None:
        return JobHistory.HashCheck.OFF
    outcome = digests.hash_check(claimed)
    if outcome != JobHistory.HashCheck.MATCH:
        log.warning("ingest.hash_mismatch", job_id=str(job.job_id), outcome=outcome, mode=mode)
        if mode == "enforce":
            raise IngestError("hash_mismatch", "hash does not match the file's digest")
    return outcome


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
        await asyncio.shield(
            afinish_job(job, JobHistory.Status.DONE, files=files, result_expires_at=expires_at)
        )
    except BaseException:
        await asyncio.to_thread(delete_stored_files, [f.path for f in files])
        raise
    return IngestResult(job.job_id, rendered.payload.data, rendered.payload.mime, expires_at)
