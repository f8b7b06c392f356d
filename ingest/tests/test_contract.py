"""Ingest driven through every documented status, each answer checked against the committed
contract (spec/contracts/openapi.yaml): every failure_reason of ingest/errors.py with its status,
the ASGI body limit's 408 and 413, and the 200 with its image and headers.
"""

import asyncio
import hashlib
import io
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from PIL import Image

from core.runtime import set_runtime_setting
from ingest import passwords
from ingest.models import ConcurrencyLease
from ingest.tests.conftest import jpeg_bytes, shot_form
from media.services import StorageUnavailable
from photochanger.openapi import failure_table
from photochanger.tests.contract import assert_conforms, assert_response_conforms
from providers.base import ProviderError, ProviderResult
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db
PATH = "/api/ingest/{slot_id}"


def post(client, form, slot_id="slot-001"):
    return client.post(f"/api/ingest/{slot_id}", form)


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, fmt)
    return out.getvalue()


def _hold_seat(scope: str) -> None:
    expires = timezone.now() + timedelta(seconds=60)
    ConcurrencyLease.objects.claim(scope=scope, limit=1, job_id=uuid.uuid4(), expires_at=expires)


def _provider_fails(code: str):
    def scenario(client, fake_provider):
        async def fail(job):
            raise ProviderError(code, "the fake provider says no", retry_after=7)

        fake_provider.behaviour = fail
        return post(client, shot_form(jpeg_bytes()))

    return scenario


def _slot_not_found(client, fake_provider):
    return post(client, shot_form(jpeg_bytes()), slot_id="slot-099")


def _slot_inactive(client, fake_provider):
    SlotFactory(is_active=False)
    return post(client, shot_form(jpeg_bytes()))


def _bad_request(client, fake_provider):
    return client.post("/api/ingest/slot-001", b"{}", content_type="application/json")


def _missing_field(client, fake_provider):
    form = shot_form(jpeg_bytes())
    del form["hash"]
    return post(client, form)


def _invalid_password(client, fake_provider):
    return post(client, shot_form(jpeg_bytes(), password="not-the-password"))


def _payload_too_large(client, fake_provider):
    SlotFactory(size_limit_mb=1)
    return post(client, shot_form(jpeg_bytes() + b"\0" * (1024 * 1024)))


def _unsupported_media_type(client, fake_provider):
    return post(client, shot_form(_image("GIF")))


def _invalid_image(client, fake_provider):
    return post(client, shot_form(jpeg_bytes()[:300]))


def _hash_mismatch(client, fake_provider):
    set_runtime_setting(key="hash_check", value="enforce")
    return post(client, shot_form(jpeg_bytes(), hash_="0" * 40))


def _slot_busy(client, fake_provider):
    set_runtime_setting(key="per_slot_concurrency", value=1)
    _hold_seat("slot:slot-001")
    return post(client, shot_form(jpeg_bytes()))


def _provider_busy(client, fake_provider):
    set_runtime_setting(key="per_provider_concurrency", value={"local": 1})
    _hold_seat("provider:local")
    return post(client, shot_form(jpeg_bytes()))


def _timeout(client, fake_provider):
    SlotFactory(sync_response_seconds=1)

    async def slow(job):
        await asyncio.sleep(30)

    fake_provider.behaviour = slow
    return post(client, shot_form(jpeg_bytes()))


def _internal_error(client, fake_provider):
    async def broken(job):
        raise RuntimeError("a bug")

    fake_provider.behaviour = broken
    return post(client, shot_form(jpeg_bytes()))


def _database_unavailable(client, fake_provider):
    async def connection_lost(job):
        raise OperationalError("server closed the connection unexpectedly")

    fake_provider.behaviour = connection_lost
    return post(client, shot_form(jpeg_bytes()))


def _storage_unavailable(client, fake_provider):
    def refuse(**kwargs):
        raise StorageUnavailable("the bucket does not answer")

    with mock.patch("ingest.pipeline.write_result_files", refuse):
        return post(client, shot_form(jpeg_bytes()))


def _idempotency_key_reused(client, fake_provider):
    key = {"Idempotency-Key": "shot-7"}
    client.post("/api/ingest/slot-001", shot_form(jpeg_bytes()), headers=key)
    return client.post("/api/ingest/slot-001", shot_form(jpeg_bytes(color=(9, 9, 9))), headers=key)


def _throttled(client, fake_provider):
    for _ in range(10):
        post(client, shot_form(jpeg_bytes(), password="not-the-password"))
    return post(client, shot_form(jpeg_bytes(), password="still-not-it"))


def _password_check_busy(client, fake_provider):
    # Every KDF thread and its queue taken: an unknown password must wait its turn.
    with mock.patch.object(passwords._GENERAL, "busy", passwords.KDF_QUEUE + 1):
        return post(client, shot_form(jpeg_bytes(), password="never-seen-before"))


def _bad_response(client, fake_provider):
    async def garbage(job):
        return ProviderResult(b"<html>oops</html>", "image/png")

    fake_provider.behaviour = garbage
    return post(client, shot_form(jpeg_bytes()))


# One way to make ingest answer each failure_reason it documents (through Django's test client).
SCENARIOS = {
    "slot_not_found": _slot_not_found,
    "slot_inactive": _slot_inactive,
    "bad_request": _bad_request,
    "missing_field": _missing_field,
    "invalid_password": _invalid_password,
    "payload_too_large": _payload_too_large,
    "unsupported_media_type": _unsupported_media_type,
    "invalid_image": _invalid_image,
    "hash_mismatch": _hash_mismatch,
    "slot_busy": _slot_busy,
    "provider_busy": _provider_busy,
    "provider_unconfigured": _provider_fails("provider_unconfigured"),
    "provider_5xx": _provider_fails("provider_5xx"),
    "quota": _provider_fails("quota"),
    "network": _provider_fails("network"),
    "safety_blocked": _provider_fails("safety_blocked"),
    "bad_response": _bad_response,
    "timeout": _timeout,
    "internal_error": _internal_error,
    "database_unavailable": _database_unavailable,
    "storage_unavailable": _storage_unavailable,
    "idempotency_key_reused": _idempotency_key_reused,
    "throttled": _throttled,
    "password_check_busy": _password_check_busy,
}
# Answered by the ASGI body limit before Django: tested below with the real ASGI application.
ASGI_ONLY = {"request_timeout"}
DOCUMENTED = {
    (reason, status) for status, reasons in failure_table("ingest").items() for reason in reasons
}


def test_every_documented_failure_has_a_scenario_here():
    documented = {reason for reason, _ in DOCUMENTED}
    missing = documented - set(SCENARIOS) - ASGI_ONLY
    assert not missing, f"add a scenario for {sorted(missing)} to ingest/tests/test_contract.py"


@pytest.mark.parametrize("reason", sorted(SCENARIOS))
def test_each_failure_answers_its_documented_status_and_body(
    client, ingest_password, fake_provider, reason
):
    response = SCENARIOS[reason](client, fake_provider)

    body = assert_response_conforms("post", PATH, response)
    assert (body["failure_reason"], response.status_code) in DOCUMENTED
    assert body["failure_reason"] == reason


def test_success_is_the_image_with_its_documented_headers(client, ingest_password, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    photo = jpeg_bytes()
    form = shot_form(photo, hash_=hashlib.sha1(photo).hexdigest())  # noqa: S324 (the booth's)

    response = client.post("/ingest/slot-001", form, headers={"Idempotency-Key": "shot-1"})

    assert_response_conforms("post", "/ingest/{slot_id}", response)
    assert response.status_code == 200
    job = client.get(f"/api/jobs/{response['X-Job-Id']}")
    assert assert_response_conforms("get", "/api/jobs/{job_id}", job)["status"] == "done"
    download = client.get(response["X-Result-Url"].removeprefix("https://photo.example"))
    assert_response_conforms("get", "/public/results/{job_id}", download)
    preview = client.get(f"/public/results/{response['X-Job-Id']}/preview")
    assert_response_conforms("get", "/public/results/{job_id}/preview", preview)


async def _asgi_post(path: str, headers: dict[str, str], chunks: list[bytes]):
    """POST through the real ASGI application; a body that stops short never finishes."""
    from photochanger.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent = []

    async def receive():
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        await asyncio.Event().wait()  # the client goes quiet

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def test_a_body_declared_over_the_limit_gets_the_documented_413():
    headers = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "99999999"}

    status, answer_headers, body = asyncio.run(_asgi_post("/api/ingest/slot-001", headers, []))

    parsed = assert_conforms("post", PATH, status, answer_headers, body)
    assert (status, parsed["failure_reason"]) == (413, "payload_too_large")


def test_a_body_that_trickles_in_gets_the_documented_408(settings):
    settings.UPLOAD_READ_TIMEOUT_SECONDS = 0.2
    headers = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "1000"}

    status, answer_headers, body = asyncio.run(
        _asgi_post("/ingest/slot-001", headers, [b"--x\r\n"])
    )

    parsed = assert_conforms("post", "/ingest/{slot_id}", status, answer_headers, body)
    assert (status, parsed["failure_reason"]) == (408, "request_timeout")
