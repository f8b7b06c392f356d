import base64
import io
import json
import logging

import pytest
import structlog
from asgiref.sync import async_to_sync

from ingest.passwords import set_ingest_password
from ingest.tests.conftest import jpeg_bytes, shot_form
from media.tests.factories import make_image_bytes
from photochanger import health
from photochanger.logging import REDACTED, formatter, redact
from slots.tests.factories import SlotFactory

IMAGE_B64 = base64.b64encode(make_image_bytes(size=(32, 32))).decode()
GEMINI_KEY = "AIzaSyD-example-key-0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"


@pytest.fixture
def json_lines():
    """Everything logged during the test, rendered exactly as production renders it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=True))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_secret_keys_are_redacted_at_any_depth():
    event = redact(
        None,
        "info",
        {
            "event": "provider.request",
            "password": "hunter2",
            "headers": {"Authorization": f"Bearer {JWT}", "x-goog-api-key": GEMINI_KEY},
            "form": [{"csrfmiddlewaretoken": "abc"}, {"username": "serg"}],
        },
    )

    assert event["password"] == REDACTED
    assert event["headers"] == {"Authorization": REDACTED, "x-goog-api-key": REDACTED}
    assert event["form"] == [{"csrfmiddlewaretoken": REDACTED}, {"username": "serg"}]


def test_secrets_inside_free_text_are_redacted():
    event = redact(
        None,
        "error",
        {
            "event": f"POST /v1beta/models?key={GEMINI_KEY} failed",
            "detail": f"sent Authorization: Bearer {JWT} with password=hunter2",
        },
    )

    rendered = json.dumps(event)
    assert GEMINI_KEY not in rendered
    assert JWT not in rendered
    assert "hunter2" not in rendered
    assert "failed" in event["event"]


def test_base64_image_data_and_raw_bytes_are_replaced_by_their_length():
    event = redact(
        None,
        "info",
        {
            "event": "gemini.response",
            "part": {"inlineData": {"mimeType": "image/png", "data": IMAGE_B64}},
            "data_url": f"data:image/jpeg;base64,{IMAGE_B64}",
            "body": b"\xff\xd8\xff\xe0 raw jpeg",
        },
    )

    assert event["part"]["inlineData"] == {
        "mimeType": "image/png",
        "data": f"[base64 {len(IMAGE_B64)} chars]",
    }
    assert IMAGE_B64 not in event["data_url"]
    assert event["body"] == "[13 bytes]"


def test_ordinary_values_pass_unchanged():
    event = {
        "event": "ingest.finished",
        "slot_id": "slot-001",
        "job_id": "3f2b1c9e-8d7a-4b6c-9e5f-1a2b3c4d5e6f",
        "status": "done",
        "duration_ms": 4210,
        "path": "results/slot-001/3f2b1c9e-8d7a-4b6c-9e5f-1a2b3c4d5e6f/payload.jpg",
        "input_sha256": "a" * 64,
    }

    assert redact(None, "info", dict(event)) == event


def test_rendered_log_lines_carry_no_secrets_or_image_bytes(json_lines):
    log = structlog.get_logger("photochanger.tests")
    log.warning("provider.failed", api_key=GEMINI_KEY, payload=IMAGE_B64, provider="gemini")
    logging.getLogger("photochanger.tests").warning("POST https://x.test/?key=%s", GEMINI_KEY)
    try:
        raise ValueError(f"bad answer for password=hunter2 {IMAGE_B64}")
    except ValueError:
        log.exception("ingest.crashed")

    lines = json_lines()
    text = json.dumps(lines)
    assert len(lines) == 3
    assert lines[0]["event"] == "provider.failed" and lines[0]["provider"] == "gemini"
    assert lines[1]["event"] == "POST https://x.test/?key=[redacted]"
    assert "ValueError" in lines[2]["exception"]
    for secret in (GEMINI_KEY, IMAGE_B64, "hunter2"):
        assert secret not in text


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz/live")["X-Request-Id"]
    second = client.get("/healthz/live")["X-Request-Id"]

    assert len(first) == 32 and first != second


def test_a_plain_request_id_from_the_proxy_is_kept_and_a_strange_one_replaced(client):
    kept = client.get("/healthz/live", headers={"X-Request-Id": "edge-42.a"})
    replaced = client.get("/healthz/live", headers={"X-Request-Id": "x\u202e" * 40})

    assert kept["X-Request-Id"] == "edge-42.a"
    assert len(replaced["X-Request-Id"]) == 32


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_request_id(client, json_lines, monkeypatch):
    def refuse():
        raise OSError("disk gone")

    monkeypatch.setattr(health, "_probe_storage", refuse)

    response = client.get("/healthz")

    failures = [line for line in json_lines() if line["event"] == "health.check_failed"]
    assert failures and failures[0]["request_id"] == response["X-Request-Id"]


def test_request_id_is_set_when_the_middleware_chain_runs_async(async_client):
    response = async_to_sync(async_client.get)("/healthz/live")

    assert len(response["X-Request-Id"]) == 32


@pytest.mark.django_db
def test_logs_of_ingests_logins_and_their_failures_hold_no_secrets_or_image_bytes(
    client, json_lines
):
    set_ingest_password(raw="booth-secret-42")
    SlotFactory(id="slot-002", provider="gemini", operation="edit", settings_json={"prompt": "x"})
    photo = jpeg_bytes()

    ok = client.post("/api/ingest/slot-001", shot_form(photo, password="booth-secret-42"))
    wrong = client.post("/api/ingest/slot-001", shot_form(photo, password="guessed-pass-7"))
    unconfigured = client.post("/api/ingest/slot-002", shot_form(photo, password="booth-secret-42"))
    client.post("/api/login", {"username": "serg", "password": "staff-pass-9"}, "application/json")

    assert (ok.status_code, wrong.status_code, unconfigured.status_code) == (200, 401, 503)
    lines = json_lines()
    text = json.dumps(lines)
    assert {"ingest.accepted", "ingest.finished", "auth.login.failure"} <= {
        line["event"] for line in lines
    }
    for secret in ("booth-secret-42", "guessed-pass-7", "staff-pass-9"):
        assert secret not in text
    for payload in (photo, ok.content):
        assert base64.b64encode(payload).decode()[:60] not in text
        assert repr(payload[:24])[2:-1] not in text
