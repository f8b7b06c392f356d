import base64
import json
import logging

import structlog

from core.logging import REDACTED, redact
from media.tests.factories import make_image_bytes

IMAGE_B64 = base64.b64encode(make_image_bytes(size=(32, 32))).decode()
GEMINI_KEY = "AIzaSyD-example-key-0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"


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
