"""Ingest when the media storage fails: a full disk, a bucket that stops answering."""

import errno
import io

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.conftest import jpeg_bytes, shot_form
from media.cleanup import cleanup_media
from media.models import MediaObject
from media.tests.s3 import MotoProcess, StorageUnderTest, new_bucket, s3_client
from providers.base import ProviderResult

URL = "/api/ingest/slot-001"


def noisy_jpeg(size=(900, 600)) -> bytes:
    """A photo that stays big once re-encoded: far more than the small disk's 64 KiB."""
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def assert_failed_for_storage(response) -> JobHistory:
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["failure_reason"] == "storage_unavailable"
    job = JobHistory.objects.get(pk=body["job_id"])
    assert (job.status, job.failure_reason) == ("failed", "storage_unavailable")
    assert not ConcurrencyLease.objects.filter(job_id=job.job_id).exists()
    return job


@pytest.mark.django_db
def test_a_full_disk_fails_the_upload_with_503_and_leaves_no_partial_file(
    full_disk, client, ingest_password, fake_provider
):
    async def big_answer(job):
        return ProviderResult(noisy_jpeg(), "image/jpeg")

    fake_provider.behaviour = big_answer
    response = client.post(URL, shot_form(jpeg_bytes()))

    assert_failed_for_storage(response)
    assert fake_provider.calls == 1  # the answer came, and was discarded
    assert [p for p in full_disk.rglob("*") if p.is_file()] == []


@pytest.fixture
def stoppable_bucket(tmp_path, settings):
    """A bucket on an S3 server of its own, in a process the test can stop and start again."""
    server = MotoProcess(tmp_path / "moto.log")
    server.start()
    bucket = StorageUnderTest(
        "s3", settings.MEDIA_ROOT, server.endpoint, new_bucket(server.endpoint)
    )
    settings.STORAGES = {**settings.STORAGES, "default": bucket.setting}
    yield server, bucket
    server.stop()


@pytest.mark.django_db
def test_a_bucket_that_goes_away_fails_uploads_with_503_until_it_returns(
    stoppable_bucket, client, ingest_password, fake_provider
):
    server, bucket = stoppable_bucket
    first = client.post(URL, shot_form(jpeg_bytes(color=(1, 1, 1))))
    assert first.status_code == 200

    server.stop()
    assert_failed_for_storage(client.post(URL, shot_form(jpeg_bytes(color=(2, 2, 2)))))
    assert fake_provider.calls == 2
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["checks"]["media_storage"]["status"] == "fail"
    download = client.get(f"/public/results/{first['X-Job-Id']}")
    assert (download.status_code, download.json()["failure_reason"]) == (
        503,
        "storage_unavailable",
    )

    server.start()  # a fresh server: its bucket comes back empty
    s3_client(server.endpoint).create_bucket(Bucket=bucket.bucket)
    again = client.post(URL, shot_form(jpeg_bytes(color=(3, 3, 3))))
    assert again.status_code == 200
    assert client.get("/healthz").json()["checks"]["media_storage"] == {"status": "ok"}
    job_id = again["X-Job-Id"]
    assert bucket.names() == [
        f"results/slot-001/{job_id}/payload.jpg",
        f"results/slot-001/{job_id}/preview.webp",
    ]


def refuse(*args, **kwargs):
    raise OSError(errno.EIO, "Input/output error")


@pytest.mark.django_db
def test_a_replay_the_storage_cannot_read_is_a_503(
    client, ingest_password, fake_provider, monkeypatch
):
    photo = jpeg_bytes(color=(4, 4, 4))
    first = client.post(URL, shot_form(photo))
    monkeypatch.setattr(default_storage, "open", refuse)

    again = client.post(URL, shot_form(photo))

    assert again.status_code == 503
    assert again.json()["failure_reason"] == "storage_unavailable"
    assert again.json()["job_id"] == first["X-Job-Id"]  # the earlier job, replayed
    assert fake_provider.calls == 1


@pytest.mark.django_db
def test_an_expired_result_is_410_even_when_its_file_cannot_be_deleted_yet(
    client, ingest_password, fake_provider, monkeypatch
):
    job_id = client.post(URL, shot_form(jpeg_bytes(color=(5, 5, 5))))["X-Job-Id"]
    MediaObject.objects.filter(job_id=job_id).update(expires_at=timezone.now())
    monkeypatch.setattr(default_storage, "delete", refuse)

    assert client.get(f"/public/results/{job_id}").status_code == 410
    # The rows stay live, so the next cleanup run deletes the files.
    assert MediaObject.objects.live().filter(job_id=job_id).count() == 2
    monkeypatch.undo()
    assert cleanup_media().files == 2
