"""The one shape of every JSON failure: {"status":"error","failure_reason":CODE,"detail":TEXT}.

Booths, scripts and the staff pages all read `failure_reason`; `detail` is for people.
"""

import json
from collections.abc import Mapping
from typing import Any

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
    send, status: int, failure_reason: str, detail: str, *, close: bool = True
) -> None:
    """Answer with the error body straight from an ASGI layer, before Django runs.

    `close` asks the client to drop the connection: an unread request body left on it would be
    taken for the next request.
    """
    body = json.dumps(error_body(failure_reason, detail)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
