"""The one shape of every JSON failure: {"status":"error","failure_reason":CODE,"detail":TEXT}.

Booths, scripts and the staff pages all read `failure_reason`; `detail` is for people.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import DataError, InterfaceError, OperationalError
from django.http import JsonResponse


def error_body(failure_reason: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "failure_reason": failure_reason, "detail": detail, **extra}


def error_response(
    status: int,
    failure_reason: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    return JsonResponse(
        error_body(failure_reason, detail, **extra), status=status, headers=dict(headers or {})
    )


async def send_asgi_error(
    send,
    status: int,
    failure_reason: str,
    detail: str,
    *,
    close: bool = True,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with the error body straight from an ASGI layer, before Django runs.

    `close` asks the client to drop the connection: an unread request body left on it would be
    taken for the next request.
    """
    body = json.dumps(error_body(failure_reason, detail)).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    if close:
        raw_headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


# How long a client should wait before retrying while the database is unreachable: about the
# time PostgreSQL takes to restart or a replica to be promoted.
DATABASE_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Failure:
    """How to answer an exception that escaped a request."""

    status: int
    failure_reason: str
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> JsonResponse:
        return error_response(self.status, self.failure_reason, self.detail, headers=self.headers)


DATABASE_UNAVAILABLE = Failure(
    503,
    "database_unavailable",
    "the database is unavailable; try again shortly",
    {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
)
INTERNAL_ERROR = Failure(500, "internal_error", "unexpected error")


def failure_for(error: BaseException | None) -> Failure:
    """The answer to an unhandled exception: a lost database is a 503, never a 500.

    OperationalError and InterfaceError are what a connection killed by a restart or a
    fail-over raises; the request may be retried. DataError is a value the database refused
    (a NUL character in a text field): the request's fault, so a 400.
    """
    if isinstance(error, OperationalError | InterfaceError):
        return DATABASE_UNAVAILABLE
    if isinstance(error, DataError):
        return Failure(400, "bad_request", "a value in the request is not acceptable")
    return INTERNAL_ERROR
