"""The job lifecycle: replay, single flight, disconnects, crashes, public links."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.test.client import encode_multipart
from django.utils import timezone

from ingest.jobs import _find_earlier_job, reconcile_overdue_jobs
from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.conftest import FakeDriver, jpeg_bytes, shot_form
from ingest.tests.factories import JobFactory
from media.models import MediaObject
from photochanger.asgi import django_application
from slots.tests.factories import SlotFactory

URL = "/api/ingest/slot-001"


def slow_answer(seconds):
    async def behaviour(job):
        await asyncio.sleep(seconds)
        return await FakeDriver.answer_png(job)

    return behaviour


@pytest.mark.django_db
def test_same_photo_again_replays_the_earlier_result(client, ingest_password, fake_provider):
    photo = jpeg_bytes()
    first = client.post(URL, shot_form(photo))
    second = client.post(URL, shot_form(photo))

    assert second.status_code == 200
    assert second["X-Job-Id"] == first["X-Job-Id"]
    assert second.content == first.content
    assert fake_provider.calls == 1
    assert JobHistory.objects.count() == 1


@pytest.mark.django_db
def test_changed_slot_config_processes_the_same_photo_again(client, ingest_password, fake_provider):
    photo = jpeg_bytes()
    client.post(URL, shot_form(photo))
    SlotFactory(version=2)
    assert client.post(URL, shot_form(photo)).status_code == 200
    assert fake_provider.calls == 2


@pytest.mark.django_db
def test_idempotency_key_replays_the_same_shot(client, ingest_password, fake_provider):
    photo = jpeg_bytes()
    first = client.post(URL, shot_form(photo), headers={"Idempotency-Key": "shot-42"})
    second = client.post(URL, shot_form(photo), headers={"Idempotency-Key": '"shot-42"'})
    assert second.status_code == 200
    assert second["X-Job-Id"] == first["X-Job-Id"]
    assert fake_provider.calls == 1


@pytest.mark.django_db
def test_idempotency_key_reused_for_another_photo_is_422_not_the_earlier_guests_image(
    client, ingest_password, fake_provider
):
    first = client.post(URL, shot_form(jpeg_bytes()), headers={"Idempotency-Key": "shot-42"})
    second = client.post(
        URL, shot_form(jpeg_bytes(color=(1, 2, 3))), headers={"Idempotency-Key": "shot-42"}
    )
    assert second.status_code == 422
    assert second.json()["failure_reason"] == "idempotency_key_reused"
    assert "X-Job-Id" not in second and second.content != first.content
    assert fake_provider.calls == 1
    assert JobHistory.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_keys_are_scoped_per_slot(client, ingest_password, fake_provider):
    photo = jpeg_bytes()
    client.post(URL, shot_form(photo), headers={"Idempotency-Key": "shot-42"})
    other = client.post(
        "/api/ingest/slot-002",
        shot_form(jpeg_bytes(color=(9, 9, 9))),
        headers={"Idempotency-Key": "shot-42"},
    )
    assert other.status_code == 200
    assert fake_provider.calls == 2


@pytest.mark.django_db
def test_a_key_past_the_result_ttl_names_a_new_upload(client, ingest_password, fake_provider):
    client.post(URL, shot_form(jpeg_bytes()), headers={"Idempotency-Key": "shot-42"})
    JobHistory.objects.update(result_expires_at=timezone.now() - timedelta(seconds=1))
    again = client.post(
        URL, shot_form(jpeg_bytes(color=(1, 2, 3))), headers={"Idempotency-Key": "shot-42"}
    )
    assert again.status_code == 200
    assert fake_provider.calls == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 129, "bad\x00key", "ключ"])
def test_malformed_idempotency_keys_are_400(client, ingest_password, fake_provider, key):
    response = client.post(URL, shot_form(jpeg_bytes()), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["failure_reason"] == "bad_request"
    assert not JobHistory.objects.exists()


@pytest.mark.django_db
def test_only_running_jobs_and_live_results_are_reusable():
    now = timezone.now()
    hour = timedelta(hours=1)
    done = JobHistory.Status.DONE
    running = JobFactory(status=JobHistory.Status.PROCESSING)
    live = JobFactory(status=done, result_expires_at=now + hour)
    JobFactory(status=done, result_expires_at=now - hour)  # expired
    JobFactory(status=JobHistory.Status.FAILED)
    JobFactory(status=JobHistory.Status.TIMEOUT)

    assert set(JobHistory.objects.reusable(now)) == {running, live}


@pytest.mark.parametrize(
    ("key", "searched_by"),
    [("", "input_sha256=?"), ("shot-1", "idempotency_key=?")],
)
def test_an_uploads_earlier_job_is_looked_up_by_index_not_through_the_slots_history(
    sqlite_query_plans, key, searched_by
):
    slot = SlotFactory()

    plans = sqlite_query_plans(lambda: _find_earlier_job(slot, "ab" * 32, key))

    assert searched_by in plans[0], plans
    for plan in plans:  # the same-input lookup follows a key's: by index too, with no sort
        assert "input_sha256=?" in plan or "idempotency_key=?" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


@pytest.mark.django_db
def test_a_failed_job_is_not_replayed(client, ingest_password, fake_provider):
    photo = jpeg_bytes()

    async def fail_once(job):
        fake_provider.behaviour = FakeDriver.answer_png
        raise TimeoutError  # the driver's own fault: not the window running out

    fake_provider.behaviour = fail_once
    assert client.post(URL, shot_form(photo)).status_code == 500
    assert client.post(URL, shot_form(photo)).status_code == 200
    assert fake_provider.calls == 2


@pytest.mark.django_db(transaction=True)
def test_identical_uploads_in_flight_call_the_provider_once(ingest_password, fake_provider):
    fake_provider.behaviour = slow_answer(0.6)
    photo = jpeg_bytes()

    async def upload_twice():
        client = AsyncClient()
        return await asyncio.gather(
            client.post(URL, shot_form(photo)), client.post(URL, shot_form(photo))
        )

    first, second = async_to_sync(upload_twice)()
    assert (first.status_code, second.status_code) == (200, 200)
    assert first["X-Job-Id"] == second["X-Job-Id"]
    assert fake_provider.calls == 1
    assert JobHistory.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_booth_disconnect_mid_wait_still_ends_the_job_and_frees_its_seats(
    ingest_password, fake_provider, settings
):
    fake_provider.behaviour = slow_answer(0.5)
    body = encode_multipart("BoUnDaRy", shot_form(jpeg_bytes()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=BoUnDaRy"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent = []

    async def scenario():
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.to_thread(fake_provider.started.wait, 10)
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await django_application(scope, receive, send)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job = await JobHistory.objects.afirst()
            if job is not None and job.is_terminal:
                return
            await asyncio.sleep(0.05)

    async_to_sync(scenario)()
    job = JobHistory.objects.get()
    assert not any(m.get("status") == 200 for m in sent)  # nobody was there to answer
    assert job.status == JobHistory.Status.DONE  # the retry of the same shot can replay it
    assert fake_provider.calls == 1
    assert not ConcurrencyLease.objects.filter(job_id__isnull=False).exists()


@pytest.mark.django_db
def test_crashed_jobs_are_reconciled_and_leave_no_files(settings):
    overdue = JobFactory(
        started_at=timezone.now() - timedelta(minutes=5),
        deadline_at=timezone.now() - timedelta(minutes=4),
    )
    running = JobFactory()
    MediaObject.objects.create(
        job_id=overdue.job_id,
        kind="provider_input",
        path="x/y.jpg",
        mime="image/jpeg",
        size_bytes=1,
        sha256="0" * 64,
    )

    assert reconcile_overdue_jobs() == 1
    overdue.refresh_from_db()
    assert (overdue.status, overdue.failure_reason) == ("failed", "internal_error")
    assert overdue.duration_ms is not None
    assert JobHistory.objects.get(pk=running.pk).status == "processing"
    assert MediaObject.objects.get(job_id=overdue.job_id).cleaned_at is not None


@pytest.mark.django_db
def test_job_status_reconciles_a_crashed_job_when_read(client):
    job = JobFactory(deadline_at=timezone.now() - timedelta(minutes=2))
    body = client.get(f"/api/jobs/{job.job_id}").json()
    assert body["status"] == "failed"
    assert body["failure_reason"] == "internal_error"


@pytest.mark.django_db
def test_job_status_reports_a_finished_job(client, ingest_password, fake_provider):
    job_id = client.post(URL, shot_form(jpeg_bytes()))["X-Job-Id"]
    body = client.get(f"/api/jobs/{job_id}").json()
    assert body["job_id"] == job_id
    assert body["slot_id"] == "slot-001"
    assert body["status"] == "done"
    assert body["failure_reason"] is None
    assert body["result_url"].endswith(f"/public/results/{job_id}")
    assert body["duration_ms"] >= 0


@pytest.mark.django_db
@pytest.mark.parametrize("job_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_job_status_is_404_for_unknown_jobs(client, job_id):
    response = client.get(f"/api/jobs/{job_id}")
    assert response.status_code == 404
    assert response.json()["failure_reason"] == "job_not_found"


@pytest.mark.django_db
def test_job_status_is_404_past_the_ttl(client):
    job = JobFactory(status="failed", started_at=timezone.now() - timedelta(hours=73))
    assert client.get(f"/api/jobs/{job.job_id}").status_code == 404


@pytest.mark.django_db
def test_public_result_downloads_as_attachment_without_metadata(storage, client, ingest_password):
    answer = client.post(URL, shot_form(jpeg_bytes(orientation=6)))
    job_id = answer["X-Job-Id"]
    response = client.get(f"/public/results/{job_id}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{job_id}.jpg"'
    body = b"".join(response)
    assert body == answer.content
    assert int(response["Content-Length"]) == len(body)
    assert b"Exif" not in body[:200]
    preview = client.get(f"/public/results/{job_id}/preview")
    assert preview["Content-Type"] == "image/webp"
    assert b"".join(preview).startswith(b"RIFF")
    assert len(storage.names()) == 2


@pytest.mark.django_db
def test_public_result_is_410_after_the_ttl_and_the_file_is_deleted(
    storage, client, ingest_password
):
    job_id = client.post(URL, shot_form(jpeg_bytes()))["X-Job-Id"]
    assert client.get(f"/public/results/{job_id}/preview").status_code == 200
    MediaObject.objects.filter(job_id=job_id).update(expires_at=timezone.now())
    assert len(storage.names()) == 2

    response = client.get(f"/public/results/{job_id}")
    assert response.status_code == 410
    assert response.json() == {
        "status": "error",
        "failure_reason": "result_expired",
        "detail": "the result has expired and was deleted",
    }
    assert storage.names() == []
    assert client.get(f"/public/results/{job_id}/preview").status_code == 410


@pytest.mark.django_db
@pytest.mark.parametrize("job_id", ["00000000-0000-4000-8000-000000000000", "../../etc/passwd"])
def test_public_result_is_404_for_unknown_jobs(client, job_id):
    response = client.get(f"/public/results/{job_id}")
    assert response.status_code == 404
    assert response.json()["failure_reason"] == "result_not_found"


@pytest.mark.django_db
def test_inputs_are_published_to_url_fetching_providers_until_the_job_ends(
    storage, client, ingest_password, fake_provider, settings
):
    from media.tests.factories import MediaObjectFactory
    from slots.models import SlotTemplateMedia

    settings.PUBLIC_MEDIA_BASE_URL = "https://photo.example"
    template = MediaObjectFactory()
    SlotTemplateMedia.objects.create(slot_id="slot-001", media=template, role="style")
    fake_provider.needs_public_urls = True
    seen = {}

    async def fetch_inputs(job):
        for name, url in (("photo", job.photo.url), ("template", job.templates[0].url)):
            assert url.startswith("https://photo.example/public/provider-media/")
            path = url.removeprefix("https://photo.example")
            response = await AsyncClient().get(path)
            body = b"".join([chunk async for chunk in response])
            seen[name] = (path, response.status_code, response["Content-Type"], body[:4])
        return await FakeDriver.answer_png(job)

    fake_provider.behaviour = fetch_inputs
    assert client.post(URL, shot_form(jpeg_bytes())).status_code == 200

    assert seen["photo"][1:] == (200, "image/jpeg", b"\xff\xd8\xff\xe0")
    assert seen["template"][1:] == (200, "image/png", b"\x89PNG")
    gone = client.get(seen["photo"][0])
    assert gone.status_code == 410
    assert gone.json()["failure_reason"] == "media_expired"
    assert not MediaObject.objects.live().filter(kind="provider_input").exists()
    assert not [name for name in storage.names() if name.startswith("provider-media/")]


@pytest.mark.django_db
def test_provider_media_is_404_for_unknown_ids(client):
    response = client.get("/public/provider-media/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
