"""The outermost ASGI layer: an exception anywhere below it still gets the JSON error body."""

import asyncio
import json

import pytest
from django.db import InterfaceError, OperationalError
from structlog.testing import capture_logs

from core.asgi import JsonErrorsMiddleware


def call(app, path: str = "/api/ingest/slot-001", query: bytes = b"") -> list[dict]:
    scope = {"type": "http", "method": "POST", "path": path, "query_string": query}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(JsonErrorsMiddleware(app)(scope, receive, send))
    return sent


def failing(error: Exception):
    async def app(scope, receive, send):
        raise error

    return app


def answer(sent: list[dict]) -> tuple[int, dict, dict]:
    start, body = sent
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    return start["status"], headers, json.loads(body["body"])


def test_an_exception_before_django_answers_a_json_500_and_is_logged():
    with capture_logs() as logs:
        status, headers, body = answer(call(failing(RuntimeError("boom"))))

    assert status == 500
    assert headers["content-type"] == "application/json"
    assert body == {
        "status": "error",
        "failure_reason": "internal_error",
        "detail": "unexpected error",
    }
    assert logs[0]["event"] == "request.unhandled_error"
    assert logs[0]["path"] == "/api/ingest/slot-001"


@pytest.mark.parametrize("error", [OperationalError("gone"), InterfaceError("closed")])
def test_a_lost_database_before_django_answers_503_with_retry_after(error):
    status, headers, body = answer(call(failing(error)))

    assert status == 503
    assert body["failure_reason"] == "database_unavailable"
    assert int(headers["retry-after"]) > 0


def test_an_exception_after_the_answer_started_sends_nothing_more():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("half-way")

    sent = call(app)

    assert [message["type"] for message in sent] == ["http.response.start"]


@pytest.mark.parametrize(
    ("path", "query"),
    [("/api/jobs/\x00", b""), ("/api/slots/\x1b[2J", b""), ("/api/stats", b"slot=%00")],
)
def test_control_characters_are_refused_before_the_app_runs(path, query):
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    status, _, body = answer(call(app, path, query))

    assert status == 400
    assert body["failure_reason"] == "bad_request"
    assert reached == []


def test_headers_over_the_limit_are_refused_with_431(settings):
    settings.SERVER_MAX_HEADER_BYTES = 1000
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    def head(padding: int) -> dict:
        return {
            "type": "http",
            "method": "GET",
            "path": "/api/slots",
            "query_string": b"",
            "headers": [(b"x-padding", b"a" * padding)],
        }

    async def send_to(scope, sent):
        async def send(message):
            sent.append(message)

        await JsonErrorsMiddleware(app)(scope, None, send)

    refused_answer, accepted = [], []
    asyncio.run(send_to(head(2000), refused_answer))
    asyncio.run(send_to(head(500), accepted))

    status, _, body = answer(refused_answer)
    assert (status, body["failure_reason"]) == (431, "headers_too_large")
    assert len(reached) == 1  # only the small head reached the app


def test_other_scopes_pass_through_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(JsonErrorsMiddleware(app)({"type": "lifespan"}, None, None))

    assert seen == ["lifespan"]
