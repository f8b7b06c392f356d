"""Calling one provider: its driver and key, the inputs it is sent, and the window.

Providers that download their inputs by URL get them published at unguessable links that work
until the job's deadline. The window is enforced here: the driver is cancelled when it ends.
"""

import asyncio
import time
from dataclasses import replace

import structlog
from asgiref.sync import sync_to_async

from core import metrics
from core.runtime import RuntimeSettings
from ingest.errors import IngestError
from ingest.models import JobHistory
from media import images
from media.output import ProfileError
from media.services import read_file, record_files, write_provider_inputs
from providers.base import (
    PROVIDER_UNCONFIGURED,
    ImageInput,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
    TemplateImage,
)
from providers.registry import DRIVERS, get_driver
from slots.models import Slot

log = structlog.get_logger(__name__)


def driver_for(provider: str, config: RuntimeSettings) -> ProviderDriver:
    if provider not in DRIVERS:
        raise IngestError(PROVIDER_UNCONFIGURED, f"provider {provider} is not available")
    driver = get_driver(provider)
    if driver.requires_api_key and not config.api_key(provider):
        raise IngestError(PROVIDER_UNCONFIGURED, f"provider {provider} has no API key")
    return driver


def decode_side(slot: Slot) -> int:
    """The long side the upload's validation decode keeps: the preview's; the largest copy of
    the photo a driver of the slot's chain sends; the print's, when a link answers with the
    photo itself. Then neither a driver nor the print decodes the photo again."""
    sides = [images.PREVIEW_MIN_SIDE]
    for link in slot.chain():
        if link.provider not in DRIVERS:
            continue
        driver = get_driver(link.provider)
        sides.append(driver.input_side(link.settings) or 0)
        operation = driver.operations.get(link.operation)
        if operation is not None and operation.returns_photo:
            sides.append(_print_side(slot))
    return max(sides)


def _print_side(slot: Slot) -> int:
    """The print's long side; 0 when the print keeps the answer's own size (or its stored
    profile has gone bad: the job then fails on it, not the upload's reading)."""
    try:
        return slot.print_profile().long_side or 0
    except ProfileError:
        return 0


async def template_images(slot: Slot) -> tuple[TemplateImage, ...]:
    """The slot's template images, in the slot's order."""
    links = [
        (link.role, link.media.path, link.media.mime)
        async for link in slot.template_media.select_related("media").filter(
            media__cleaned_at__isnull=True
        )
    ]
    contents = await asyncio.gather(
        *(asyncio.to_thread(_read_template, path) for _, path, _ in links)
    )
    return tuple(
        TemplateImage(data, mime, role=role)
        for (role, _, mime), data in zip(links, contents, strict=True)
        if data is not None
    )


def _read_template(path: str) -> bytes | None:
    """A template's bytes; None when its file is gone (the slot then lacks that template)."""
    try:
        return read_file(path)
    except FileNotFoundError:
        log.error("ingest.template_missing", path=path)
        return None


async def call_provider(driver: ProviderDriver, provider_job: ProviderJob) -> ProviderResult:
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


async def publish_inputs(
    job: JobHistory, photo: ImageInput, templates: tuple[TemplateImage, ...], base_url: str
) -> tuple[ImageInput, tuple[TemplateImage, ...]]:
    """Publish the inputs at unguessable links that work until the job's deadline."""
    inputs = [images.EncodedImage(i.data, i.mime, 0, 0) for i in (photo, *templates)]
    files = await asyncio.to_thread(write_provider_inputs, job_id=job.job_id, images=inputs)
    media = await sync_to_async(record_files)(
        files=files, slot_id=job.slot_id, job_id=job.job_id, expires_at=job.deadline_at
    )
    urls = [f"{base_url}/public/provider-media/{m.pk}" for m in media]
    return (
        replace(photo, url=urls[0]),
        tuple(replace(t, url=url) for t, url in zip(templates, urls[1:], strict=True)),
    )
