import base64
import json

import pytest
from asgiref.sync import async_to_sync

from ingest.passwords import set_ingest_password
from ingest.tests.conftest import jpeg_bytes, shot_form
from photochanger import health
from slots.tests.factories import SlotFactory


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

    monkeypatch.setattr(health, "check_writable", refuse)

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
    SlotFactory(
        id="slot-002", provider="gemini", operation="image_edit", settings_json={"prompt": "x"}
    )
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
