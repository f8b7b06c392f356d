"""End to end through uvicorn on each storage: the local disk and an S3 bucket (moto on loopback).

A shot goes in, comes out through the public links, a provider fetches published inputs, and a
separate `cleanup_media` process deletes what expired. With the bucket, the server's own
MEDIA_ROOT stays empty all along.
"""

import io

import httpx
import pytest
from PIL import Image

from ingest.tests.conftest import jpeg_bytes
from ingest.tests.live_server import (
    DSLR_FIELDS,
    manage,
    multipart,
    running_server,
    wait_until,
)
from media.tests.s3 import MotoProcess, StorageUnderTest, new_bucket, s3_client
from providers.tests.fakes import FakeTurbotext

pytestmark = pytest.mark.e2e
SETUP = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from media.models import MediaObject
from slots.models import Slot, SlotTemplateMedia
from providers.tests.fakes import png_bytes
Slot.objects.filter(pk="slot-005").update(
    provider="turbotext", operation="style_transfer", settings_json={"content": "oil painting"}
)
style = png_bytes((256, 256), (200, 40, 90))
path = default_storage.save("templates/slot-005/style.png", ContentFile(style))
media = MediaObject.objects.create(
    slot_id="slot-005", kind="template", path=path, mime="image/png",
    size_bytes=len(style), sha256="0" * 64,
)
SlotTemplateMedia.objects.create(slot_id="slot-005", media=media, role="style")
"""
EXPIRE_EVERYTHING = """
from django.utils import timezone
from media.models import MediaObject
MediaObject.objects.exclude(kind="template").update(expires_at=timezone.now())
"""


@pytest.fixture(scope="module", params=["local", "s3"])
def live(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"e2e-{request.param}")
    storage = StorageUnderTest("local", tmp_path / "media")
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        storage = StorageUnderTest("s3", tmp_path / "media", endpoint, new_bucket(endpoint))
    with FakeTurbotext() as turbotext:
        env = {
            **storage.env(),
            "TURBOTEXT_BASE_URL": turbotext.url,
            "TURBOTEXT_API_KEY": FakeTurbotext.api_key,
            "TURBOTEXT_POLL_SECONDS": "0.2",
        }
        with running_server(tmp_path, setup=SETUP, env=env) as server:
            yield server, storage, turbotext


def upload(server: dict, slot_id: str, photo: bytes) -> httpx.Response:
    content_type, body = multipart(DSLR_FIELDS, photo)
    return httpx.post(
        f"{server['base']}/api/ingest/{slot_id}",
        content=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )


def local_files(storage: StorageUnderTest) -> list[str]:
    return [str(p) for p in storage.media_root.rglob("*") if p.is_file()]


def test_a_shot_is_stored_served_and_cleaned_up_by_another_process(live):
    server, storage, _ = live
    response = upload(server, "slot-001", jpeg_bytes(size=(640, 480), color=(3, 120, 50)))
    assert response.status_code == 200, response.text
    job_id = response.headers["x-job-id"]
    folder = f"results/slot-001/{job_id}"
    assert f"{folder}/payload.jpg" in storage.names()
    # The preview is made after the answer went out, without anyone asking for it.
    wait_until(lambda: f"{folder}/preview.webp" in storage.names(), "the preview is stored")

    download = httpx.get(response.headers["x-result-url"])
    assert download.status_code == 200
    assert download.content == response.content
    assert download.headers["content-length"] == str(len(response.content))
    preview = httpx.get(f"{response.headers['x-result-url']}/preview")
    assert Image.open(io.BytesIO(preview.content)).format == "WEBP"

    manage(server, "shell", "-c", EXPIRE_EVERYTHING)
    assert "expired: deleted" in manage(server, "cleanup_media", "--orphans")

    assert httpx.get(response.headers["x-result-url"]).status_code == 410
    assert not [name for name in storage.names() if name.startswith(folder)]
    if storage.kind == "s3":
        assert local_files(storage) == []  # nothing ever touched the server's own disk


def test_a_provider_fetches_inputs_published_from_the_storage(live):
    server, storage, turbotext = live
    response = upload(server, "slot-005", jpeg_bytes(size=(800, 600), color=(9, 9, 200)))

    assert response.status_code == 200, response.text
    fetched = [status for url, status in turbotext.fetches if "/public/provider-media/" in url]
    assert fetched[-2:] == [200, 200]  # the photo and the style template
    assert httpx.get(turbotext.fetches[-1][0]).status_code == 410
    assert not [name for name in storage.names() if name.startswith("provider-media/")]
    if storage.kind == "s3":
        assert local_files(storage) == []


def test_a_server_rides_out_a_bucket_outage_without_a_restart(tmp_path):
    s3 = MotoProcess(tmp_path / "moto.log")
    s3.start()
    storage = StorageUnderTest("s3", tmp_path / "media", s3.endpoint, new_bucket(s3.endpoint))
    try:
        with running_server(tmp_path, setup="", env=storage.env()) as server:
            assert upload(server, "slot-003", jpeg_bytes(color=(1, 1, 1))).status_code == 200

            s3.stop()
            failed = upload(server, "slot-003", jpeg_bytes(color=(2, 2, 2)))
            assert failed.status_code == 503
            assert failed.json()["failure_reason"] == "storage_unavailable"
            job = httpx.get(f"{server['base']}/api/jobs/{failed.json()['job_id']}").json()
            assert (job["status"], job["failure_reason"]) == ("failed", "storage_unavailable")
            health = httpx.get(f"{server['base']}/healthz", timeout=30)
            assert health.status_code == 503
            assert health.json()["checks"]["media_storage"]["status"] == "fail"

            s3.start()  # a fresh server: its bucket comes back empty
            s3_client(s3.endpoint).create_bucket(Bucket=storage.bucket)
            assert upload(server, "slot-003", jpeg_bytes(color=(3, 3, 3))).status_code == 200
            assert httpx.get(f"{server['base']}/healthz", timeout=30).status_code == 200
            assert len(storage.names()) == 2  # the new result; the failed job wrote nothing
    finally:
        s3.stop()
