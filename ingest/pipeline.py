"""The ingest pipeline: from an authenticated photo to a stored, served result.

Every job that starts here ends in exactly one terminal state (see `ingest.jobs`), whatever
happens: validation errors, provider faults, the window running out, or the client going away
(Django cancels the view; the job runs in its own task, shielded from that cancellation).
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.utils import timezone

from core import metrics
from core.cpu import run_cpu
from core.db import release_db_connections
from core.errors import failure_for
from core.runtime import RuntimeSettings
from ingest import previews
from ingest.calls import decode_side, template_images
from ingest.chain import FALLBACK_REASONS, Attempts, ChainRun, run_chain
from ingest.delivery import deliver, print_aspect_ratio
from ingest.errors import IngestError
from ingest.forms import FileDigests
from ingest.jobs import IngestResult, afinish_job, claim_job, follow
from ingest.limits import claim_seats
from ingest.models import JobHistory
from media import images
from media.services import StorageUnavailable, delete_stored_files, write_result_files
from providers.base import Handover, ImageInput, ProviderResult, TemplateImage
from slots.models import ProviderConfig, Slot, SlotTemplateMedia

log = structlog.get_logger(__name__)


# Template roles sent to providers; an overlay brands the print afterwards and is never sent.
PROVIDER_ROLES = set(SlotTemplateMedia.Role.values) - {SlotTemplateMedia.Role.OVERLAY}


@dataclass(frozen=True)
class _JobContext:
    job: JobHistory
    slot: Slot
    config: RuntimeSettings
    deadline: float
    public_base_url: str
    site_url: str
    digests: FileDigests
    normalised: images.EncodedImage | None
    attempts: Attempts = field(default_factory=Attempts)

    def record(self, **fields: Any) -> dict[str, Any]:
        """What the job learned on its way, kept on its row however it ends."""
        return {"attempts": self.attempts.entries, **fields}


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
    site_url: str = "",
    digests: FileDigests | None = None,
    normalised: images.EncodedImage | None = None,
) -> IngestResult:
    """Run one upload through the pipeline, or replay an earlier job for the same input.

    `public_base_url` is where providers that download inputs by URL can reach this server;
    `site_url` where guests do (the QR code on the print links there). `digests` and
    `normalised` are what the upload's reading already worked out from `data`.
    """
    window = slot.response_window_seconds(config)
    deadline = time.monotonic() + window
    if digests is None:
        digests = await asyncio.to_thread(FileDigests.of, data, claimed_hash)
    claim = await claim_job(
        slot=slot,
        source=source,
        window_seconds=window,
        sha256=digests.sha256,
        idempotency_key=idempotency_key,
        metadata=metadata or {},
    )
    job = claim.job
    if not claim.new:
        return await follow(job, deadline)
    log.info("ingest.accepted", job_id=str(job.job_id), slot_id=slot.pk, source=source)
    # The job runs in its own task: when the booth disconnects, Django cancels this coroutine
    # but the job still finishes inside its window, so a retry of the same shot (which follows
    # this job) gets the result instead of a second provider call.
    context = _JobContext(
        job, slot, config, deadline, public_base_url, site_url, digests, normalised
    )
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
        await asyncio.shield(
            afinish_job(job, status, failure_reason=error.reason, record=context.record())
        )
        raise
    except StorageUnavailable:  # the provider's answer, if any, is discarded: it cannot be kept
        await asyncio.shield(_fail(context, "storage_unavailable"))
        detail = "the media storage is unavailable"
        raise IngestError("storage_unavailable", detail, job_id=job.job_id) from None
    except asyncio.CancelledError:  # only at shutdown: the loop is cancelling every task
        await asyncio.shield(_fail(context))
        raise
    except Exception as error:
        failure = failure_for(error)
        reason = failure.failure_reason
        log.exception("ingest.failed", job_id=str(job.job_id), failure_reason=reason)
        # With the database gone the job cannot be ended here: reconciliation ends it later.
        with contextlib.suppress(Exception):
            await asyncio.shield(_fail(context, reason))
        raise IngestError(reason, failure.detail, job_id=job.job_id) from None


async def _fail(context: _JobContext, reason: str = "internal_error") -> None:
    await afinish_job(
        context.job, JobHistory.Status.FAILED, failure_reason=reason, record=context.record()
    )


async def _run(context: _JobContext, upload: list[bytes], claimed_hash: str | None) -> IngestResult:
    job, slot, config = context.job, context.slot, context.config
    data = upload.pop()
    limit_mb = slot.upload_limit_mb(config)
    if len(data) > limit_mb * images.MB:
        raise IngestError("payload_too_large", f"file is over the {limit_mb} MB limit")
    await release_db_connections()  # decoding may wait behind other uploads' images
    photo = context.normalised or await _normalise(data, decode_side(slot))
    del data
    job.hash_check = _check_hash(job, context.digests, claimed_hash, config.hash_check)
    await claim_seats(job, config)
    templates = await template_images(slot)
    await release_db_connections()
    sent = tuple(template for template in templates if template.role in PROVIDER_ROLES)
    # The validation decode goes to the provider; the job keeps what its preview needs of it.
    # Not taken by the provider (the photo itself came back), it is the print's source.
    provider_photo = ImageInput(photo.data, photo.mime, decoded=Handover(photo.draft))
    photo = images.keep_for_preview(photo)
    answer, link = await _edit(context, photo, provider_photo, sent)
    overlay = next((t.data for t in templates if t.role == SlotTemplateMedia.Role.OVERLAY), None)
    rendered, warnings = await deliver(
        context.slot,
        context.job,
        photo,
        answer,
        link,
        decoded=provider_photo.decoded.take(),
        overlay=overlay,
        site_url=context.site_url,
    )
    provider = link.provider if link else job.provider
    fallback = _fallback(slot, link)
    if fallback:
        metrics.observe_fallback(slot_id=slot.pk, kind=fallback)
    fields = {"provider": provider, "fallback": fallback, "warnings": warnings}
    return await _store_result(context, rendered, fields)


async def _edit(
    context: _JobContext,
    photo: images.EncodedImage,
    provider_photo: ImageInput,
    templates: tuple[TemplateImage, ...],
) -> tuple[ProviderResult, ProviderConfig | None]:
    """The chain's answer and the link that gave it; the original photo (no link) as the slot's
    last resort when every provider failed."""
    slot = context.slot
    keeps_original = slot.last_resort == Slot.LastResort.ORIGINAL
    reserve = settings.LAST_RESORT_SECONDS if keeps_original else 0
    run = ChainRun(
        job=context.job,
        config=context.config,
        chain=slot.chain(),
        photo=provider_photo,
        aspect_ratio=print_aspect_ratio(slot, photo),
        templates=templates,
        deadline=context.deadline,
        stop_at=context.deadline - reserve,
        public_base_url=context.public_base_url,
        attempts=context.attempts,
    )
    try:
        return await run_chain(run)
    except IngestError as error:
        if not keeps_original or error.reason not in FALLBACK_REASONS:
            raise
        log.warning("ingest.last_resort", job_id=str(context.job.job_id), reason=error.reason)
        return ProviderResult(photo.data, photo.mime), None


def _fallback(slot: Slot, link: ProviderConfig | None) -> str:
    if link is None:
        return JobHistory.Fallback.ORIGINAL
    return JobHistory.Fallback.NONE if link == slot.chain()[0] else JobHistory.Fallback.PROVIDER


async def _normalise(data: bytes, side: int) -> images.EncodedImage:
    try:
        return await run_cpu(images.normalise_upload, data, decode_side=side)
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
    context: _JobContext, rendered: images.RenderedResult, fields: dict[str, Any]
) -> IngestResult:
    """Store the payload and end the job; its preview is made after the answer is sent."""
    job = context.job
    files = await asyncio.to_thread(
        write_result_files, slot_id=job.slot_id, job_id=job.job_id, payload=rendered.payload
    )
    expires_at = timezone.now() + timedelta(hours=context.config.result_ttl_hours)
    try:
        await asyncio.shield(
            afinish_job(
                job,
                JobHistory.Status.DONE,
                files=files,
                result_expires_at=expires_at,
                record=context.record(**fields),
            )
        )
    except BaseException:
        await asyncio.to_thread(delete_stored_files, [f.path for f in files])
        raise
    previews.make_later(
        slot_id=job.slot_id, job_id=job.job_id, rendered=rendered, expires_at=expires_at
    )
    return IngestResult(job.job_id, rendered.payload.data, rendered.payload.mime, expires_at)
