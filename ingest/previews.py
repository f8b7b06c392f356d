"""Result previews: made after the booth has its answer, and again whenever one is missing.

The booth waits for the payload only; the gallery, the dashboard and the admin show the
preview a moment later. A preview that was never stored (the worker stopped first, the
storage refused it) is made from the stored result the first time its link is asked for, so
no live result stays without one.
"""

import asyncio
import contextvars
import uuid
from datetime import datetime

import structlog
from asgiref.sync import SyncToAsync, sync_to_async

from core.cpu import run_cpu, submit_cpu
from core.db import close_idle_connections
from ingest import selectors
from media import images
from media.models import MediaObject
from media.services import (
    StorageUnavailable,
    StoredFile,
    read_file,
    record_files,
    result_folder,
    write_file,
)

log = structlog.get_logger(__name__)

# This process's previews still being made, by job: a link asked for meanwhile waits for it.
_making: dict[uuid.UUID, asyncio.Task] = {}


def make_later(
    *, slot_id: str, job_id: uuid.UUID, rendered: images.RenderedResult, expires_at: datetime
) -> None:
    """Make and store the preview of a result just sent, in the background.

    The request's thread for database work ends with the request. Left in its context, the
    task would start a thread of its own to record the row (and on SQLite open a connection
    in it for that one statement); outside it, the row is recorded where async code's
    database work runs outside requests.
    """
    context = contextvars.copy_context()
    context.run(SyncToAsync.thread_sensitive_context.set, None)  # type: ignore[arg-type]
    task = asyncio.get_running_loop().create_task(
        _make(slot_id, job_id, rendered, expires_at), context=context
    )
    _making[job_id] = task
    task.add_done_callback(lambda _: _making.pop(job_id, None))


async def drain() -> None:
    """Wait for the previews still being made (a worker shutting down)."""
    if _making:
        await asyncio.gather(*_making.values(), return_exceptions=True)


async def missing_preview(job_id: uuid.UUID, result: MediaObject) -> MediaObject:
    """The preview of a live `result` that has none (yet): the one this process is making,
    waited for, or one made now from the stored result. Raises StorageUnavailable."""
    if job_id in _making:
        await asyncio.shield(_making[job_id])
        found = await sync_to_async(selectors.result_file)(job_id, preview=True)
        if found is not None:
            return found
    stored = await run_cpu(_rebuild_file, result, job_id)
    log.info("ingest.preview_rebuilt", job_id=str(job_id))
    return await _record(result.slot_id, job_id, stored, result.expires_at)


async def _make(
    slot_id: str, job_id: uuid.UUID, rendered: images.RenderedResult, expires_at: datetime
) -> None:
    made = submit_cpu(_make_file, slot_id, job_id, rendered)
    del rendered  # the source picture can be a 24 MP decode: held by the work alone
    try:
        try:
            await _record(slot_id, job_id, await asyncio.shield(made), expires_at)
        except asyncio.CancelledError:
            # A loop that stops cancels every task at once, even one recording its preview
            # (a record not yet begun is then dropped). The file is being written anyway:
            # record it once, or it would be an orphan and its result without a preview.
            await _record(slot_id, job_id, await made, expires_at, again=True)
            raise
    except (StorageUnavailable, images.InvalidImage, images.UnsupportedImage) as error:
        # Its link makes it again when it is first asked for.
        log.warning("ingest.preview_failed", job_id=str(job_id), error=type(error).__name__)
    except Exception:
        log.exception("ingest.preview_failed", job_id=str(job_id))


def _rebuild_file(result: MediaObject, job_id: uuid.UUID) -> StoredFile:
    payload = images.EncodedImage(read_file(result.path), result.mime, 0, 0)
    return _make_file(result.slot_id, job_id, images.RenderedResult(payload))


def _make_file(slot_id: str, job_id: uuid.UUID, rendered: images.RenderedResult) -> StoredFile:
    preview = images.make_preview(rendered)
    name = f"{result_folder(slot_id, job_id)}/preview.webp"
    return write_file(name, MediaObject.Kind.PREVIEW, preview.data, preview.mime)


async def _record(
    slot_id: str,
    job_id: uuid.UUID,
    stored: StoredFile,
    expires_at: datetime | None,
    *,
    again: bool = False,
) -> MediaObject:
    """The preview's row; `again` when a first try may have made it already."""
    return await sync_to_async(_record_row)(slot_id, job_id, stored, expires_at, again)


def _record_row(
    slot_id: str, job_id: uuid.UUID, stored: StoredFile, expires_at: datetime | None, again: bool
) -> MediaObject:
    """Record the preview and hand the connection back: after the answer, no request's end
    does it (a connection left open would hold its pool slot for good)."""
    try:
        if again and (found := MediaObject.objects.filter(path=stored.path).first()):
            return found
        [row] = record_files(files=[stored], slot_id=slot_id, job_id=job_id, expires_at=expires_at)
        return row
    finally:
        close_idle_connections()
