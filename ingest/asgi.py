"""The ASGI layer in front of Django: it bounds every request body and reads uploads itself.

Django reads a whole body before any middleware or view runs, with no size cap and no read
deadline. This layer decides first:
- Every route has a body cap: the slot's upload limit for ingest and the staff test run, the
  global upload limit for the staff image uploads, API_BODY_LIMIT for the JSON API and the
  admin, OTHER_BODY_LIMIT for everything else. A body declared over it is refused with 413
  before it is read (uvicorn sends `100 Continue` only at the first read, so a booth that sent
  `Expect: 100-continue` never uploads it); a chunked one is cut off at it.
- A client that trickles its body gets 408 when the read deadline passes.
- An ingest or test-run upload is parsed here as it arrives (`ingest.forms`) and handed to the
  view in the scope, with the slot and settings it was checked against; Django then sees a
  request without a body. The ingest password is checked as soon as its field has arrived,
  before the photo: a wrong one is refused without reading the rest, and while the check waits
  nothing more is read, so a waiting upload holds no photo.
"""

import asyncio
import json
import re
import tempfile
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

from core import metrics
from core.auth import client_ip
from core.db import close_idle_connections
from core.errors import error_body
from core.runtime import RuntimeSettings, load_runtime_settings
from ingest.calls import decode_side
from ingest.errors import IngestError
from ingest.forms import UPLOAD_SCOPE_KEY, FormReader, UploadForm
from ingest.memory import RELEASE_AFTER_BYTES, UploadMemory
from ingest.passwords import authenticate_ingest, refuse_throttled
from ingest.requests import (
    ENVELOPE_BYTES,
    SLOT_SCOPE_KEY,
    UploadContext,
    body_limit,
    load_upload_context,
)
from media.images import MB
from slots.models import Slot

_INGEST_PATH = re.compile(r"^/(?:api/)?ingest/(?P<slot_id>.+)$")
_TEST_RUN_PATH = re.compile(r"^/api/slots/(?P<slot_id>[^/]+)/test-run$")
_STAFF_UPLOAD_PATHS = ("/api/template-media/register", "/api/media/register")
# The JSON API (login, settings, a slot's configuration) and the admin's forms.
API_BODY_LIMIT = 1 * MB
# Pages, public links, health and metrics take no body worth the name.
OTHER_BODY_LIMIT = 64 * 1024
# Bodies up to this size are copied into Django's request file on the event loop.
SPOOL_ON_LOOP_BYTES = 64 * 1024


class OffLoopBodyASGIHandler(ASGIHandler):
    """Django's ASGI handler, spooling large request bodies in a worker thread.

    The stock handler writes every body chunk into a SpooledTemporaryFile on the event loop,
    rolling over to disk past FILE_UPLOAD_MAX_MEMORY_SIZE: with a few 15 MB staff uploads at
    once that would block the loop for hundreds of milliseconds. A body of a few KB (every GET,
    most API calls, an upload the ASGI layer has already read) takes microseconds to copy: a
    thread hop would cost more than the copy.
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
        if sum(map(len, chunks)) <= SPOOL_ON_LOOP_BYTES:
            return _spool(chunks)
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
        self._memory = UploadMemory()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "POST" and _host_allowed(scope):
            if match := _INGEST_PATH.match(scope["path"]):
                return await self._upload(scope, receive, send, match["slot_id"], ingest=True)
            if match := _TEST_RUN_PATH.match(scope["path"]):
                return await self._upload(scope, receive, send, match["slot_id"], ingest=False)
        limit = await _body_limit(scope["path"])
        try:
            messages = await _read_body(scope, receive, limit)
        except _Refused as refused:
            return await _refuse(scope, send, refused.error)
        return await self.app(scope, _replay(messages, receive), send)

    async def _upload(self, scope, receive, send, slot_id: str, *, ingest: bool):
        if ingest:
            try:
                refuse_throttled(_client_address(scope), slot_id)
            except IngestError as error:
                return await _refuse(scope, send, error)
        context = await sync_to_async(_load_context)(slot_id)
        scope = {**scope, SLOT_SCOPE_KEY: context}
        slot = context.slot
        if slot is None or not slot.is_active:
            # The view answers 404 without the body (nor a `100 Continue` for it).
            no_body = _replay([_EMPTY_BODY], _never)
            return await self.app(_without_body(scope), no_body, _closing(send))
        try:
            with self._memory.reading(_content_length(scope) or RELEASE_AFTER_BYTES):
                form = await _read_upload(scope, receive, slot, context.config, ingest=ingest)
        except _Refused as refused:  # the body is left unread: answered here, connection closed
            return await _refuse(scope, send, refused.error, context)
        except IngestError as error:
            if ingest or error.reason == "payload_too_large":
                return await _refuse(scope, send, error, context)
            # A staff test run: the view answers, after checking who sent it.
            scope = {**_without_body(scope), UPLOAD_SCOPE_KEY: error}
            return await self.app(scope, _replay([_EMPTY_BODY], _never), _closing(send))
        if form is None:
            return None  # the client went away: nobody to answer
        scope = {**_without_body(scope), UPLOAD_SCOPE_KEY: form}
        return await self.app(scope, _replay([_EMPTY_BODY], receive), send)


class _Refused(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.error = IngestError(reason, detail)


_TOO_LARGE = ("payload_too_large", "the body is over the limit")
_TOO_SLOW = ("request_timeout", "the body arrived too slowly")


def _load_context(slot_id: str) -> UploadContext:
    try:
        return load_upload_context(slot_id)
    finally:
        # Outside Django's request cycle, which would otherwise hand the connection back:
        # each upload would keep one of the pool's connections checked out.
        close_idle_connections()


async def _body_limit(path: str) -> int:
    if path in _STAFF_UPLOAD_PATHS:
        return await sync_to_async(_staff_upload_limit)()
    if path.startswith(("/api/", "/admin/")):
        return API_BODY_LIMIT
    return OTHER_BODY_LIMIT


def _staff_upload_limit() -> int:
    try:
        return load_runtime_settings().max_upload_mb * MB + ENVELOPE_BYTES
    finally:
        close_idle_connections()


def _host_allowed(scope) -> bool:
    """Whether Django would accept the request's Host; if not, Django answers (400) unread."""
    host = (_header(scope, b"host") or b"").decode("latin-1")
    allowed = settings.ALLOWED_HOSTS or (
        [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
    )
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _content_length(scope) -> int | None:
    try:
        return int(_header(scope, b"content-length") or b"")
    except ValueError:
        return None


async def _read_body(scope, receive, limit: int) -> list[dict]:
    """The body's messages; _Refused past `limit` (whatever Content-Length said) or too slow."""
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        raise _Refused(*_TOO_LARGE)
    body, messages, size = _Body(receive), [], 0
    while message := await body.next():
        messages.append(message)
        size += len(message.get("body", b""))
        if size > limit:
            raise _Refused(*_TOO_LARGE)
    return messages


class _Body:
    """A request body's messages within the read deadline; None after the last one."""

    def __init__(self, receive):
        self._receive, self._ended = receive, False
        self._deadline = time.monotonic() + settings.UPLOAD_READ_TIMEOUT_SECONDS

    async def next(self) -> dict | None:
        if self._ended:
            return None
        try:
            async with asyncio.timeout(self._deadline - time.monotonic()):
                message = await self._receive()
        except TimeoutError:
            raise _Refused(*_TOO_SLOW) from None
        self._ended = message["type"] != "http.request" or not message.get("more_body")
        return message

    async def pause_for(self, awaitable):
        """Await something else between two reads, without counting that time against the client."""
        started = time.monotonic()
        try:
            return await awaitable
        finally:
            self._deadline += time.monotonic() - started


async def _read_upload(
    scope, receive, slot: Slot, config: RuntimeSettings, *, ingest: bool
) -> UploadForm | None:
    """The upload's form, or None when the client left; IngestError or _Refused to refuse it."""
    limit = body_limit(slot, config)
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        raise _Refused(*_TOO_LARGE)
    reader = FormReader(
        (_header(scope, b"content-type") or b"").decode("latin-1"),
        file_field="fileToUpload" if ingest else "test_image",
        max_body_bytes=limit,
        max_file_bytes=slot.upload_limit_mb(config) * MB,
        decode_side=decode_side(slot),
    )
    gate = _PasswordGate(scope, slot, config) if ingest else None
    body = _Body(receive)
    try:
        while message := await body.next():
            if message["type"] != "http.request":
                return None
            reader.feed(message.get("body", b""))
            if gate is not None:
                await body.pause_for(gate.check(reader))
        form = await reader.finish(required=("password", "hash") if ingest else ())
        if gate is not None:
            await gate.check(reader, form)
    except BaseException:
        reader.discard()
        raise
    return form


class _PasswordGate:
    """Checks the ingest password once, as soon as its field is complete."""

    def __init__(self, scope, slot: Slot, config: RuntimeSettings):
        self._scope, self._slot, self._config, self._done = scope, slot, config, False

    async def check(self, reader: FormReader, form: UploadForm | None = None) -> None:
        password = reader.fields.get("password")
        if password and not self._done:
            await authenticate_ingest(
                password,
                stored_hash=self._config.ingest_password_hash,
                address=_client_address(self._scope),
                slot_id=self._slot.pk,
                holding_body=reader.file_complete,
            )
            self._done = True
        if form is not None:
            form.authenticated = self._done


def _client_address(scope) -> str:
    # core.auth.client_ip reads a request's META: the peer, and X-Forwarded-For from proxies.
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = (scope.get("client") or ("", 0))[0]
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded.decode("latin-1")
    return client_ip(request)


def _without_body(scope) -> dict:
    """The scope Django sees once this layer consumed the body: a request without one."""
    headers = [
        (key, value)
        for key, value in scope["headers"]
        if key not in (b"content-length", b"transfer-encoding")
    ]
    return {**scope, "headers": [*headers, (b"content-length", b"0")]}


def _closing(send):
    """`send`, asking the client to drop the connection: part of its body may be left unread."""

    async def closing_send(message):
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message["headers"] if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing_send


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


async def _refuse(scope, send, error: IngestError, context: UploadContext | None = None) -> None:
    match = _INGEST_PATH.match(scope["path"])
    if match is not None:  # answered before Django: counted here, like the view's answers
        provider = context.slot.provider if context and context.slot else ""
        metrics.observe_ingest(
            slot_id=match["slot_id"],
            provider=provider,
            outcome="rejected",
            status_code=error.status,
            seconds=0,
        )
    await _send_error(send, error)


async def _send_error(send, error: IngestError) -> None:
    """The error body straight from this layer, asking the client to drop the connection: an
    unread request body left on it would be taken for the next request."""
    body = json.dumps(error_body(error.reason, error.detail)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if error.retry_after is not None:
        headers.append((b"retry-after", str(error.retry_after).encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
