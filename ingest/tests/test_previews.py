"""A result's preview is made after the booth has its answer, and whenever it is missing."""

import asyncio
import io
import threading
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import ThreadSensitiveContext, async_to_sync, sync_to_async
from django.core.files.storage import default_storage
from django.test import AsyncClient
from django.utils import timezone
from PIL import Image

from ingest import previews
from ingest.tests.conftest import jpeg_bytes, shot_form
from media import images
from media.models import MediaObject
from media.services import StorageUnavailable, delete_media

URL = "/api/ingest/slot-001"


def previews_of(job_id: str) -> list[MediaObject]:
    return list(MediaObject.objects.filter(job_id=job_id, kind=MediaObject.Kind.PREVIEW))


@pytest.mark.django_db
def test_the_preview_is_stored_after_the_answer_without_anyone_asking_for_it(
    storage, ingest_password, monkeypatch
):
    # The preview's work is held until the answer is in: an answer that waited for its preview
    # would come only once the hold timed out, with the preview already stored.
    answered = threading.Event()
    make_file = previews._make_file

    def held_make_file(*args):
        answered.wait(timeout=30)
        return make_file(*args)

    monkeypatch.setattr(previews, "_make_file", held_make_file)

    async def shoot_then_wait_for_previews():
        answer = await AsyncClient().post(URL, shot_form(jpeg_bytes(size=(1600, 1200))))
        stored_at_the_answer = await MediaObject.objects.filter(
            kind=MediaObject.Kind.PREVIEW
        ).acount()
        answered.set()
        await previews.drain()
        return answer, stored_at_the_answer

    answer, stored_at_the_answer = async_to_sync(shoot_then_wait_for_previews)()

    assert answer.status_code == 200
    assert stored_at_the_answer == 0
    [preview] = previews_of(answer["X-Job-Id"])
    result = MediaObject.objects.get(job_id=answer["X-Job-Id"], kind=MediaObject.Kind.RESULT)
    assert preview.expires_at == result.expires_at
    image = Image.open(default_storage.open(preview.path))
    assert (image.format, image.size) == ("WEBP", (512, 384))


def lose_the_preview(job_id: str) -> None:
    """As when the worker stopped between the answer and the preview."""
    delete_media(previews_of(job_id))
    MediaObject.objects.filter(job_id=job_id, kind=MediaObject.Kind.PREVIEW).delete()


@pytest.mark.django_db
def test_a_missing_preview_is_made_from_the_result_at_its_first_request(
    storage, client, ingest_password
):
    job_id = client.post(URL, shot_form(jpeg_bytes(size=(640, 480))))["X-Job-Id"]
    lose_the_preview(job_id)

    first = client.get(f"/public/results/{job_id}/preview")
    again = client.get(f"/public/results/{job_id}/preview")

    assert first.status_code == again.status_code == 200
    body = b"".join(first)
    assert body == b"".join(again)
    assert Image.open(io.BytesIO(body)).size == (512, 384)
    assert len(previews_of(job_id)) == 1  # made once, then served
    assert len(storage.names()) == 2


@pytest.mark.django_db
def test_a_preview_that_cannot_be_made_for_lack_of_storage_is_a_503(
    storage, client, ingest_password, monkeypatch
):
    job_id = client.post(URL, shot_form(jpeg_bytes()))["X-Job-Id"]
    lose_the_preview(job_id)

    def refuse(path):
        raise StorageUnavailable("OSError")

    monkeypatch.setattr(previews, "read_file", refuse)
    response = client.get(f"/public/results/{job_id}/preview")

    assert response.status_code == 503
    assert response.json()["failure_reason"] == "storage_unavailable"
    assert previews_of(job_id) == []


@pytest.mark.django_db
def test_a_preview_asked_for_while_it_is_being_made_waits_for_it(
    storage, ingest_password, monkeypatch
):
    storing, asked, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_record, real_missing = previews._record, previews.missing_preview

    async def held_record(*args, **kwargs):
        storing.set()
        await release.wait()
        return await real_record(*args, **kwargs)

    async def noted_missing(*args, **kwargs):
        asked.set()
        return await real_missing(*args, **kwargs)

    monkeypatch.setattr(previews, "_record", held_record)
    monkeypatch.setattr(previews, "missing_preview", noted_missing)

    async def scenario():
        client = AsyncClient()
        answer = await client.post(URL, shot_form(jpeg_bytes()))
        await storing.wait()
        link = f"/public/results/{answer['X-Job-Id']}/preview"
        preview = asyncio.ensure_future(client.get(link))
        await asked.wait()
        release.set()
        return answer, await preview

    answer, preview = async_to_sync(scenario)()

    assert preview.status_code == 200
    assert len(previews_of(answer["X-Job-Id"])) == 1  # the one being made, not a second


@pytest.mark.django_db
@pytest.mark.parametrize("first_try", ["dropped", "made"])
def test_a_loop_stopping_while_the_preview_is_recorded_leaves_it_recorded_once(
    storage, ingest_password, monkeypatch, first_try
):
    """A loop that stops cancels the preview's task mid-record: asgiref then drops a record
    not yet begun, or the row was made just before. Either way the preview gets one row."""
    real_row, tries = previews._record_row, []

    def cancelled_once(*args):
        tries.append(args)
        if len(tries) > 1:
            return real_row(*args)
        if first_try == "made":
            real_row(*args)
        raise asyncio.CancelledError

    monkeypatch.setattr(previews, "_record_row", cancelled_once)

    async def shoot_then_wait_for_previews():
        answer = await AsyncClient().post(URL, shot_form(jpeg_bytes()))
        await previews.drain()
        return answer

    answer = async_to_sync(shoot_then_wait_for_previews)()

    assert answer.status_code == 200
    assert [again for *_, again in tries] == [False, True]
    [preview] = previews_of(answer["X-Job-Id"])
    assert default_storage.exists(preview.path)


def thread_name() -> str:
    return threading.current_thread().name  # unlike idents, never reused by a later thread


@pytest.mark.django_db(transaction=True)
def test_a_preview_recorded_after_its_request_ended_starts_no_thread_for_it(storage, monkeypatch):
    """Served by uvicorn, no sync caller owns the loop: each request's database work runs on a
    thread of its own, gone once it has answered. The preview's row is recorded on the thread
    that serves async code outside requests, not on one started (with a new connection) for
    that one statement."""
    recorded_on, real_row = [], previews._record_row

    def noted_row(*args):
        recorded_on.append(thread_name())
        return real_row(*args)

    monkeypatch.setattr(previews, "_record_row", noted_row)
    payload = images.EncodedImage(jpeg_bytes(size=(640, 480)), images.JPEG, 640, 480)
    expires_at = timezone.now() + timedelta(hours=1)

    async def request_then_its_preview():
        async with ThreadSensitiveContext():  # as Django's ASGI handler runs each request
            request_thread = await sync_to_async(thread_name)()
            previews.make_later(
                slot_id="slot-001",
                job_id=uuid.uuid4(),
                rendered=images.RenderedResult(payload),
                expires_at=expires_at,
            )
        await previews.drain()
        return request_thread, await sync_to_async(thread_name)()

    request_thread, outside_requests = asyncio.run(request_then_its_preview())

    assert request_thread != outside_requests
    assert recorded_on == [outside_requests]
    assert MediaObject.objects.filter(kind=MediaObject.Kind.PREVIEW).count() == 1
