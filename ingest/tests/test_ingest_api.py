"""The status table of DESIGN.md §3, row by row, through Django's test client."""

import asyncio
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.runtime import set_runtime_setting
from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.conftest import jpeg_bytes, shot_form, stored_files
from providers.base import ProviderError
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db
URL = "/api/ingest/slot-001"


def post(client, form, url=URL, **headers):
    return client.post(url, form, headers=headers)


def assert_error(response, status, reason):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["failure_reason"] == reason
    assert body["detail"]
    return body


def test_ingest_returns_the_edited_image_with_headers(client, ingest_password, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    response = post(client, shot_form(jpeg_bytes()))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert int(response["Content-Length"]) == len(response.content)
    assert response["Cache-Control"] == "no-store"
    job = JobHistory.objects.get()
    assert response["X-Job-Id"] == str(job.job_id)
    assert response["X-Result-Url"] == f"https://photo.example/public/results/{job.job_id}"
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"
    assert job.status == JobHistory.Status.DONE
    assert job.duration_ms is not None
    assert job.result_expires_at is not None


def test_short_alias_serves_the_same_pipeline(client, ingest_password):
    response = post(client, shot_form(jpeg_bytes()), url="/ingest/slot-001")
    assert response.status_code == 200


def test_booth_fields_are_kept_in_metadata_without_the_password(client, ingest_password):
    post(client, shot_form(jpeg_bytes(), extra_field="kept"))
    metadata = JobHistory.objects.get().metadata
    assert metadata["profile"].startswith("C:\\Users\\Acer")
    assert metadata["extra_field"] == "kept"
    assert "password" not in metadata


def test_metadata_is_capped_in_count_and_size(client, ingest_password):
    extra = {f"field{i}": "x" * 5000 for i in range(60)}
    post(client, shot_form(jpeg_bytes(), **extra))
    metadata = JobHistory.objects.get().metadata
    assert len(metadata) <= 32
    assert max(len(v) for v in metadata.values()) <= 512


def test_ingest_returns_404_for_unknown_slot(client, ingest_password):
    assert_error(
        post(client, shot_form(jpeg_bytes()), url="/api/ingest/slot-999"), 404, "slot_not_found"
    )


@pytest.mark.parametrize("slot_id", ["..%2F..%2Fetc", "slot-001;drop", "x" * 300, "SLOT-001"])
def test_ingest_returns_404_for_malformed_slot_ids(client, ingest_password, slot_id):
    response = post(client, shot_form(jpeg_bytes()), url=f"/api/ingest/{slot_id}")
    assert_error(response, 404, "slot_not_found")


def test_ingest_returns_404_for_inactive_slot(client, ingest_password):
    SlotFactory(is_active=False)
    assert_error(post(client, shot_form(jpeg_bytes())), 404, "slot_inactive")


@pytest.mark.parametrize("missing", ["password", "hash", "fileToUpload"])
def test_ingest_returns_400_when_a_required_field_is_missing(client, ingest_password, missing):
    form = shot_form(jpeg_bytes())
    del form[missing]
    assert_error(post(client, form), 400, "missing_field")
    assert not JobHistory.objects.exists()


def test_ingest_returns_400_for_zero_byte_file(client, ingest_password):
    form = shot_form(b"")
    form["fileToUpload"] = SimpleUploadedFile("IMG.JPG", b"", "image/jpeg")
    assert_error(post(client, form), 400, "missing_field")


def test_ingest_returns_400_for_non_multipart_body(client, ingest_password):
    response = client.post(URL, data=b'{"password": "x"}', content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_ingest_returns_400_for_truncated_multipart_body(client, ingest_password):
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nbooth-secret\r\n'
        b"--XYZ\r\nContent-Disp"
    )
    response = client.post(URL, data=body, content_type="multipart/form-data; boundary=XYZ")
    assert response.status_code == 400
    assert response.json()["failure_reason"] in ("bad_request", "missing_field")


def test_ingest_returns_400_for_a_form_with_ten_thousand_fields(client, ingest_password):
    form = shot_form(jpeg_bytes(), **{f"f{i}": "1" for i in range(10_000)})
    assert_error(post(client, form), 400, "bad_request")


def test_ingest_returns_401_for_wrong_password(client, ingest_password, fake_provider):
    body = assert_error(
        post(client, shot_form(jpeg_bytes(), password="nope")), 401, "invalid_password"
    )
    assert "job_id" not in body
    assert not JobHistory.objects.exists()
    assert fake_provider.calls == 0


def test_ingest_returns_401_when_no_password_was_ever_set(client, db):
    assert_error(post(client, shot_form(jpeg_bytes())), 401, "invalid_password")


def test_ingest_returns_413_for_file_over_the_slot_limit(
    client, ingest_password, fake_provider, settings
):
    SlotFactory(size_limit_mb=1)
    big = jpeg_bytes() + b"\0" * (1024 * 1024)
    body = assert_error(post(client, shot_form(big)), 413, "payload_too_large")
    job = JobHistory.objects.get(pk=body["job_id"])
    assert (job.status, job.failure_reason) == ("failed", "payload_too_large")
    assert fake_provider.calls == 0
    assert stored_files(settings.MEDIA_ROOT) == []


def test_ingest_uses_the_global_upload_limit_without_a_slot_override(client, ingest_password):
    set_runtime_setting(key="max_upload_mb", value=1)
    big = jpeg_bytes() + b"\0" * (1024 * 1024)
    assert_error(post(client, shot_form(big)), 413, "payload_too_large")


def _bytes_of(fmt: str, **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>not an image</body></html>",
        _bytes_of("GIF"),
        _bytes_of("BMP"),
        _bytes_of("TIFF"),
    ],
    ids=["text-as-jpg", "gif", "bmp", "tiff"],
)
def test_ingest_returns_415_for_formats_other_than_jpeg_png_webp(
    client, ingest_password, fake_provider, settings, data
):
    assert_error(post(client, shot_form(data)), 415, "unsupported_media_type")
    assert fake_provider.calls == 0
    assert stored_files(settings.MEDIA_ROOT) == []


def test_ingest_returns_400_for_jpeg_truncated_mid_stream(client, ingest_password, fake_provider):
    noisy = Image.effect_noise((600, 400), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    truncated = out.getvalue()[: len(out.getvalue()) // 2]
    assert_error(post(client, shot_form(truncated)), 400, "invalid_image")
    assert fake_provider.calls == 0


def test_ingest_returns_400_for_png_decompression_bomb(client, ingest_password, fake_provider):
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 MP in a few kilobytes
    assert len(out.getvalue()) < 100_000
    assert_error(post(client, shot_form(out.getvalue())), 400, "invalid_image")
    assert fake_provider.calls == 0


def test_ingest_accepts_png_and_webp(client, ingest_password):
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp")):
        response = post(client, shot_form(_bytes_of(fmt)))
        assert response.status_code == 200
        assert response["Content-Type"] == mime


def test_ingest_ignores_the_declared_type_and_hostile_filename(client, ingest_password, settings):
    form = shot_form(b"")
    form["fileToUpload"] = SimpleUploadedFile("../../etc/\xff\xfe.gif", jpeg_bytes(), "image/gif")
    response = post(client, form)
    assert response.status_code == 200
    assert all("etc" not in str(p) for p in stored_files(settings.MEDIA_ROOT))


def test_hash_mismatch_is_accepted_and_recorded_in_warn_mode(client, ingest_password):
    response = post(client, shot_form(jpeg_bytes(), hash_="a" * 40))
    assert response.status_code == 200
    assert JobHistory.objects.get().hash_check == JobHistory.HashCheck.MISMATCH


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_hash_is_checked_by_digest_length(client, ingest_password, algorithm):
    set_runtime_setting(key="hash_check", value="enforce")
    data = jpeg_bytes()
    digest = hashlib.new(algorithm, data).hexdigest().upper()
    assert post(client, shot_form(data, hash_=digest)).status_code == 200
    assert JobHistory.objects.get().hash_check == JobHistory.HashCheck.MATCH


def test_ingest_returns_400_for_hash_mismatch_when_enforced(client, ingest_password, fake_provider):
    set_runtime_setting(key="hash_check", value="enforce")
    body = assert_error(post(client, shot_form(jpeg_bytes(), hash_="b" * 64)), 400, "hash_mismatch")
    assert JobHistory.objects.get(pk=body["job_id"]).failure_reason == "hash_mismatch"
    assert fake_provider.calls == 0


def test_hash_is_not_checked_when_off(client, ingest_password):
    set_runtime_setting(key="hash_check", value="off")
    post(client, shot_form(jpeg_bytes(), hash_="not-hex"))
    assert JobHistory.objects.get().hash_check == JobHistory.HashCheck.OFF


def test_ingest_returns_429_when_the_slot_is_at_its_limit(client, ingest_password, fake_provider):
    set_runtime_setting(key="per_slot_concurrency", value=1)
    _hold_seat("slot:slot-001")
    response = post(client, shot_form(jpeg_bytes()))
    assert_error(response, 429, "slot_busy")
    assert int(response["Retry-After"]) >= 1
    assert fake_provider.calls == 0


def test_ingest_returns_429_when_the_provider_is_at_its_limit(
    client, ingest_password, fake_provider
):
    set_runtime_setting(key="per_provider_concurrency", value={"local": 1})
    _hold_seat("provider:local")
    response = post(client, shot_form(jpeg_bytes()))
    assert_error(response, 429, "provider_busy")
    assert "Retry-After" in response
    assert ConcurrencyLease.objects.filter(job_id__isnull=False).count() == 1  # slot seat freed


def _hold_seat(scope):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    ConcurrencyLease.objects.claim(
        scope=scope, limit=1, job_id=uuid.uuid4(), expires_at=timezone.now() + timedelta(seconds=60)
    )


def test_ingest_returns_503_when_the_provider_has_no_key(client, ingest_password):
    SlotFactory(provider="gemini", operation="image_edit", settings_json={"prompt": "x"})
    body = assert_error(post(client, shot_form(jpeg_bytes())), 503, "provider_unconfigured")
    assert JobHistory.objects.get(pk=body["job_id"]).status == "failed"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("provider_unconfigured", 503),
        ("provider_5xx", 503),
        ("quota", 503),
        ("network", 503),
        ("safety_blocked", 502),
        ("bad_response", 502),
    ],
)
def test_provider_failures_map_to_their_status(
    client, ingest_password, fake_provider, settings, code, status
):
    async def fail(job):
        raise ProviderError(code, "provider said no", retry_after=7 if code == "quota" else None)

    fake_provider.behaviour = fail
    response = post(client, shot_form(jpeg_bytes()))
    body = assert_error(response, status, code)
    job = JobHistory.objects.get(pk=body["job_id"])
    assert (job.status, job.failure_reason) == ("failed", code)
    assert response.get("Retry-After") == ("7" if code == "quota" else None)
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not ConcurrencyLease.objects.filter(job_id__isnull=False).exists()


def test_provider_answer_that_is_not_an_image_is_a_502(client, ingest_password, fake_provider):
    async def garbage(job):
        from providers.base import ProviderResult

        return ProviderResult(b"<html>oops</html>", "image/png")

    fake_provider.behaviour = garbage
    assert_error(post(client, shot_form(jpeg_bytes())), 502, "bad_response")


def test_ingest_returns_504_when_provider_exceeds_window(
    client, ingest_password, fake_provider, settings
):
    SlotFactory(sync_response_seconds=1)

    async def slow(job):
        await asyncio.sleep(30)

    fake_provider.behaviour = slow
    body = assert_error(post(client, shot_form(jpeg_bytes())), 504, "timeout")
    assert fake_provider.cancelled
    job = JobHistory.objects.get(pk=body["job_id"])
    assert (job.status, job.failure_reason) == ("timeout", "timeout")
    assert 900 <= job.duration_ms < 5000
    assert stored_files(settings.MEDIA_ROOT) == []


def test_unexpected_error_is_a_500_with_a_terminal_job(client, ingest_password, fake_provider):
    async def broken(job):
        raise RuntimeError("bug")

    fake_provider.behaviour = broken
    body = assert_error(post(client, shot_form(jpeg_bytes())), 500, "internal_error")
    assert JobHistory.objects.get(pk=body["job_id"]).status == "failed"


def test_get_is_not_allowed_on_ingest(client, db):
    assert client.get(URL).status_code == 405


def test_answers_and_provider_calls_are_counted_in_metrics(client, ingest_password, fake_provider):
    from prometheus_client import REGISTRY

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    ok = ("photochanger_ingest_responses_total", {"slot": "slot-001", "status_code": "200"})
    unauthorised = (
        "photochanger_ingest_responses_total",
        {"slot": "slot-001", "status_code": "401"},
    )
    calls = ("photochanger_provider_call_duration_seconds_count", {"provider": "local"})
    before = [sample(name, **labels) for name, labels in (ok, unauthorised, calls)]

    post(client, shot_form(jpeg_bytes()))
    post(client, shot_form(jpeg_bytes(), password="wrong"))

    after = [sample(name, **labels) for name, labels in (ok, unauthorised, calls)]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
