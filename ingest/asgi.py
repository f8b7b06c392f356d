"""An ASGI layer in front of Django that bounds request bodies.

Django reads a whole body before any middleware or view runs, with no size cap and no read
deadline. This layer decides first: a body declared far over the limit is refused with 413
before it is read (uvicorn sends `100 Continue` only at the first read, so a booth that sent
`Expect: 100-continue` never uploads it), a body that turns out too big is cut off at the
limit, and a client that trickles its body gets 408 when the read deadline passes.
"""

import asyncio
import re
import tempfile

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

from core import metrics
from core.db import close_idle_connections
from core.errors import send_asgi_error
from core.runtime import load_runtime_settings
from media.images import MB
from slots.models import Slot

_INGEST_PATH = re.compile(r"^/(?:api/)?ingest/(?P<slot_id>.+)$")
# Room for the multipart envelope and the booth's text fields around the file.
ENVELOPE_BYTES = 1 * MB
# Any other upload route (staff test runs, template images) is capped at the largest limit.
OTHER_ROUTES_LIMIT = 50 * MB + ENVELOPE_BYTES


class OffLoopBodyASGIHandler(ASGIHandler):
    """Django's ASGI handler, spooling request bodies in a worker thread.

    The stock handler writes every body chunk into a SpooledTemporaryFile on the event loop,
    rolling over to disk past FILE_UPLOAD_MAX_MEMORY_SIZE: with a few 15 MB uploads at once
    that blocks the loop for hundreds of milliseconds (measured by bench/ingest.py).
    """

    async def read_body(self, receive):
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return await asyncio.to_thread(_spool, chunks)


def _spool(chunks: list[bytes]) -> tempfile.SpooledTemporaryFile:
    # Returned open: Django reads the request from it and closes it with the request.
    body = tempfile.SpooledTemporaryFile(settings.FILE_UPLOAD_MAX_MEMORY_SIZE, "w+b")  # noqa: SIM115
    for chunk in chunks:
        body.write(chunk)
    chunks.clear()
    body.seek(0)
    return body


class BodyLimitMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        limit = await _body_limit(scope["path"])
        if limit is None:  # unknown or inactive slot: the view answers 404 without the body
            return await self.app(scope, _replay([_EMPTY_BODY], _never), send)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(
                scope, send, 413, "payload_too_large", "the body is over the limit"
            )
        try:
            async with asyncio.timeout(settings.UPLOAD_READ_TIMEOUT_SECONDS):
                messages = await _read_body(receive, limit)
        except TimeoutError:
            return await _refuse(scope, send, 408, "request_timeout", "the body arrived too slowly")
        if messages is None:
            return await _refuse(
                scope, send, 413, "payload_too_large", "the body is over the limit"
            )
        return await self.app(scope, _replay(messages, receive), send)


async def _body_limit(path: str) -> int | None:
    match = _INGEST_PATH.match(path)
    if match is None:
        return OTHER_ROUTES_LIMIT
    return await sync_to_async(_slot_body_limit)(match["slot_id"])


def _slot_body_limit(slot_id: str) -> int | None:
    # This runs before Django's request cycle, which would otherwise hand the connection back
    # at the end of the request: without the close, each upload would keep one checked out.
    try:
        slot = Slot.objects.filter(pk=slot_id, is_active=True).first()
        if slot is None:
            return None
        return slot.upload_limit_mb(load_runtime_settings()) * MB + ENVELOPE_BYTES
    finally:
        close_idle_connections()


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive, limit: int) -> list[dict] | None:
    """The body's messages, or None once it passes `limit` (whatever Content-Length said)."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # disconnected: Django sees it and gives up
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body"):
            return messages


def _replay(messages: list[dict], receive):
    async def replayed_receive():
        if messages:
            return messages.pop(0)
        return await receive()  # after the body: Django listens here for the disconnect

    return replayed_receive


_EMPTY_BODY = {"type": "http.request", "body": b"", "more_body": False}


async def _never():
    # The unread body must not reach Django as a second message; Django cancels this listener
    # as soon as its response is sent.
    await asyncio.get_running_loop().create_future()


async def _refuse(scope, send, status: int, reason: str, detail: str) -> None:
    match = _INGEST_PATH.match(scope["path"])
    if match is not None:  # answered before Django: counted here, like the view's answers
        metrics.observe_ingest(
            slot_id=match["slot_id"], provider="", outcome="rejected", status_code=status, seconds=0
        )
    await send_asgi_error(send, status, reason, detail)
