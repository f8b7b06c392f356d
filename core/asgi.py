"""The outermost ASGI layer: whatever fails below it, an HTTP client gets the JSON error body.

Without it an exception raised before Django's own handling (an ASGI layer reading the
database, say) reaches uvicorn, which answers a text/plain 500 that booths and scripts cannot
read. A lost database answers 503 with Retry-After (`core.errors.failure_for`).
"""

import re

import structlog
from django.conf import settings

from core.errors import failure_for, send_asgi_error

log = structlog.get_logger(__name__)

# No route has a control character in it, and a NUL reaching PostgreSQL is an error there.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


class JsonErrorsMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _has_control_character(scope):
            return await send_asgi_error(
                send, 400, "bad_request", "the path or query contains control characters"
            )
        if _head_size(scope) > settings.SERVER_MAX_HEADER_BYTES:
            # The parser (h11) stops a head only once it outgrows a read; this is the exact line.
            return await send_asgi_error(
                send, 431, "headers_too_large", "the request headers are too large"
            )
        started = False

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            failure = failure_for(error)
            log.exception(
                "request.unhandled_error",
                method=scope["method"],
                path=scope["path"],
                failure_reason=failure.failure_reason,
            )
            if started:  # too late for an answer: uvicorn closes the unfinished response
                return
            await send_asgi_error(
                send,
                failure.status,
                failure.failure_reason,
                failure.detail,
                headers=failure.headers,
            )


def _has_control_character(scope) -> bool:
    query = scope.get("query_string", b"").lower()
    return bool(_CONTROL_CHARACTER.search(scope["path"])) or b"%00" in query


def _head_size(scope) -> int:
    target = len(scope.get("raw_path") or scope["path"]) + len(scope.get("query_string", b""))
    return target + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
