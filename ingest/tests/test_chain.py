"""A slot's provider chain: fallbacks inside the window, cooldowns, and the last resort."""

import asyncio
import io
import time

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from ingest.models import JobHistory, ProviderState
from ingest.tests.conftest import FakeDriver, jpeg_bytes, shot_form, stored_files
from media.tests.factories import MediaObjectFactory
from providers.base import ProviderError
from slots.models import Slot, SlotTemplateMedia

pytestmark = pytest.mark.django_db
URL = "/api/ingest/slot-001"


@pytest.fixture
def providers(monkeypatch):
    """A scripted driver per provider name (gemini, turbotext, local), counting their calls."""
    drivers = {name: FakeDriver() for name in ("gemini", "turbotext", "local")}
    monkeypatch.setattr("ingest.calls.get_driver", lambda name: drivers[name])
    monkeypatch.setattr("ingest.delivery.get_driver", lambda name: drivers[name])
    return drivers


def chain(*links, last_resort="error", window=None):
    first, *rest = links
    Slot.objects.filter(pk="slot-001").update(
        provider=first,
        operation="image_edit" if first != "local" else "passthrough",
        settings_json={"prompt": "x"} if first == "gemini" else {},
        fallbacks=[_link(name) for name in rest],
        last_resort=last_resort,
        sync_response_seconds=window,
    )


def _link(name):
    operations = {"gemini": "image_edit", "turbotext": "image_edit", "local": "passthrough"}
    return {"provider": name, "operation": operations[name], "settings": {}}


def refuse(code, retry_after=None):
    async def behaviour(job):
        raise ProviderError(code, f"scripted {code}", retry_after=retry_after)

    return behaviour


async def hang(job):
    await asyncio.sleep(3600)


def outcomes(job):
    return [(a["provider"], a["outcome"]) for a in job.attempts]


def test_a_refused_photo_goes_to_the_next_provider(client, ingest_password, providers):
    chain("gemini", "local")
    providers["gemini"].behaviour = refuse("safety_blocked")

    response = client.post(URL, shot_form(jpeg_bytes()))

    assert response.status_code == 200
    job = JobHistory.objects.get()
    assert outcomes(job) == [("gemini", "safety_blocked"), ("local", "done")]
    assert (job.provider, job.fallback) == ("local", "provider")


@pytest.mark.parametrize("code", ["quota", "provider_5xx", "network", "bad_response"])
def test_every_provider_failure_class_falls_back(client, ingest_password, providers, code):
    chain("gemini", "turbotext")
    providers["gemini"].behaviour = refuse(code)

    assert client.post(URL, shot_form(jpeg_bytes())).status_code == 200
    assert providers["turbotext"].calls == 1


def test_when_every_provider_fails_the_last_failure_is_the_answer(
    client, ingest_password, providers, settings
):
    chain("gemini", "turbotext")
    providers["gemini"].behaviour = refuse("safety_blocked")
    providers["turbotext"].behaviour = refuse("provider_5xx")

    response = client.post(URL, shot_form(jpeg_bytes()))

    assert (response.status_code, response.json()["failure_reason"]) == (503, "provider_5xx")
    job = JobHistory.objects.get()
    assert job.status == "failed"
    assert outcomes(job) == [("gemini", "safety_blocked"), ("turbotext", "provider_5xx")]
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_hanging_provider_is_cut_so_the_next_one_answers_inside_the_window(
    client, ingest_password, providers, settings
):
    settings.FALLBACK_MIN_ATTEMPT_SECONDS = 8  # of a 10 s window: the first gets about 2 s
    chain("gemini", "local", window=10)
    providers["gemini"].behaviour = hang

    started = time.monotonic()
    response = client.post(URL, shot_form(jpeg_bytes()))

    assert response.status_code == 200
    assert time.monotonic() - started < 10
    assert providers["gemini"].cancelled
    assert outcomes(JobHistory.objects.get()) == [("gemini", "timeout"), ("local", "done")]


def test_repeated_failures_put_a_provider_in_a_cooldown_shared_by_all_workers(
    client, ingest_password, providers
):
    chain("gemini", "local")
    providers["gemini"].behaviour = refuse("provider_5xx")
    for color in range(3):
        client.post(URL, shot_form(jpeg_bytes(color=(40 * color, 90, 90))))
    assert providers["gemini"].calls == 3

    client.post(URL, shot_form(jpeg_bytes(color=(250, 10, 10))))

    assert providers["gemini"].calls == 3  # skipped without a call
    assert ProviderState.objects.cooling_down().filter(provider="gemini").exists()
    assert outcomes(JobHistory.objects.order_by("-started_at").first())[0] == (
        "gemini",
        "cooldown",
    )


def test_a_quota_answer_with_a_retry_delay_cools_the_provider_down_at_once(
    client, ingest_password, providers
):
    chain("gemini", "local")
    providers["gemini"].behaviour = refuse("quota", retry_after=40)

    client.post(URL, shot_form(jpeg_bytes()))

    state = ProviderState.objects.get(provider="gemini")
    assert 35 < (state.cooldown_until - timezone.now()).total_seconds() <= 40


def test_a_success_ends_the_failure_streak_and_learns_the_typical_time(
    client, ingest_password, providers
):
    chain("gemini")
    providers["gemini"].behaviour = refuse("network")
    client.post(URL, shot_form(jpeg_bytes()))
    providers["gemini"].behaviour = FakeDriver.answer_png

    client.post(URL, shot_form(jpeg_bytes(color=(200, 200, 5))))

    state = ProviderState.objects.get(provider="gemini")
    assert state.consecutive_failures == 0 and state.typical_ms is not None


def test_content_refusals_do_not_count_towards_a_cooldown(client, ingest_password, providers):
    chain("gemini")
    providers["gemini"].behaviour = refuse("safety_blocked")
    for color in range(4):
        client.post(URL, shot_form(jpeg_bytes(color=(40 * color, 200, 20))))

    assert not ProviderState.objects.cooling_down().exists()


def test_the_last_resort_answers_the_original_photo_as_a_done_job(
    client, ingest_password, providers
):
    chain("gemini", last_resort="original")
    providers["gemini"].behaviour = refuse("safety_blocked")
    photo = jpeg_bytes(size=(320, 240))

    response = client.post(URL, shot_form(photo))

    assert response.status_code == 200
    with Image.open(io.BytesIO(response.content)) as answer:
        assert answer.size == (320, 240)
    job = JobHistory.objects.get()
    assert (job.status, job.fallback) == ("done", "original")
    assert outcomes(job) == [("gemini", "safety_blocked")]


def test_the_last_resort_does_not_hide_a_bad_upload(client, ingest_password, providers):
    chain("gemini", last_resort="original")

    response = client.post(URL, shot_form(b"GIF89a not a photo"))

    assert response.status_code == 415


def test_fallbacks_are_counted_in_the_metrics(client, ingest_password, providers):
    chain("gemini", "local")
    providers["gemini"].behaviour = refuse("bad_response")

    client.post(URL, shot_form(jpeg_bytes(color=(10, 200, 10))))

    body = client.get("/metrics").content.decode()
    assert 'photochanger_fallbacks_total{kind="provider",slot="slot-001"}' in body


def test_a_template_whose_file_vanished_makes_its_operation_unconfigured_not_a_500(
    client, ingest_password, settings
):
    media = MediaObjectFactory()
    SlotTemplateMedia.objects.create(slot_id="slot-001", media=media, role="background")
    Slot.objects.filter(pk="slot-001").update(operation="replace_background", settings_json={})
    default_storage.delete(media.path)

    response = client.post(URL, shot_form(jpeg_bytes()))

    assert (response.status_code, response.json()["failure_reason"]) == (
        503,
        "provider_unconfigured",
    )
