from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from media.tests.factories import MediaObjectFactory
from slots.models import Slot, SlotTemplateMedia
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db


def done_job(hours_left=1, **fields):
    return JobFactory(
        status=JobHistory.Status.DONE,
        finished_at=timezone.now(),
        result_expires_at=timezone.now() + timedelta(hours=hours_left),
        **fields,
    )


def test_dashboard_lists_every_slot_with_its_ingest_link_and_state(staff_client, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    SlotFactory(id="slot-002", is_active=False)
    JobFactory(
        slot=SlotFactory(id="slot-003"), status=JobHistory.Status.TIMEOUT, failure_reason="timeout"
    )

    response = staff_client.get("/")

    assert response.status_code == 200
    cards = {card["slot"].pk: card for card in response.context["cards"]}
    assert len(cards) == 15
    assert 'value="https://photo.example/api/ingest/slot-001"' in response.text
    assert "Отключён" in response.text and "Ошибки" in response.text and "Готов" in response.text
    assert cards["slot-003"]["status"].state == "failing"
    assert "Нет ответа за отведённое время" in response.text


def test_dashboard_takes_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    for number in range(1, 16):
        JobFactory(slot=SlotFactory(id=f"slot-{number:03d}"))

    with django_assert_max_num_queries(6):  # session, user, runtime settings, slots
        staff_client.get("/")


def test_slot_page_shows_the_form_templates_and_dslr_settings(staff_client, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    template = SlotTemplateMedia.objects.create(
        slot_id="slot-001", media=MediaObjectFactory(), role="overlay"
    )

    response = staff_client.get("/slots/slot-001/")

    assert response.status_code == 200
    text = response.text
    assert "Протестировать конфигурацию" in text and "Сохранить" in text
    assert f"/api/template-media/{template.media_id}" in text
    assert text.index("https://photo.example/api/ingest/slot-001") < text.index("data-save")
    assert "63 с" in text  # booth timeout: the 48 s window plus the transfer margin
    assert response.context["slot_state"]["urls"]["test_run"] == "/api/slots/slot-001/test-run"


def test_slot_page_of_an_unknown_slot_is_404(staff_client):
    assert staff_client.get("/slots/slot-404/").status_code == 404


def test_gallery_shows_the_last_ten_live_booth_results(client):
    live = [done_job() for _ in range(11)]
    done_job(hours_left=-1)  # expired
    done_job(source=JobHistory.Source.UI_TEST)  # staff test runs stay private
    JobFactory(status=JobHistory.Status.FAILED)

    token = Slot.objects.get(pk="slot-001").gallery_token

    response = client.get(f"/public/slots/slot-001?k={token}")

    assert response.status_code == 200
    shown = list(response.context["jobs"])
    assert len(shown) == 10
    assert set(shown) <= set(live)
    assert f"/public/results/{shown[0].job_id}/preview" in response.text


def test_gallery_size_is_a_runtime_setting_staff_edit(client, staff_api):
    for _ in range(5):
        done_job()

    response = staff_api.put("/api/settings", {"gallery_size": 3}, format="json")

    assert response.status_code == 200
    assert response.json()["gallery_size"] == 3
    token = Slot.objects.get(pk="slot-001").gallery_token
    assert len(client.get(f"/public/slots/slot-001?k={token}").context["jobs"]) == 3
    assert staff_api.put("/api/settings", {"gallery_size": 0}, format="json").status_code == 400


def test_settings_page_offers_the_gallery_size(staff_client):
    page = staff_client.get("/settings/").text

    assert 'name="gallery_size"' in page
    assert 'value="10"' in page


def test_gallery_of_an_unknown_slot_is_404(client):
    assert client.get("/public/slots/slot-404").status_code == 404


@pytest.mark.parametrize("key", [None, "", "wrong-key", "ключ"])
def test_gallery_without_its_key_does_not_exist(client, key):
    done_job()
    query = {} if key is None else {"k": key}

    assert client.get("/public/slots/slot-001", query).status_code == 404


def test_an_open_gallery_needs_no_key_and_a_gallery_switched_off_opens_with_none(client):
    done_job()
    Slot.objects.filter(pk="slot-001").update(gallery_visibility="open")
    Slot.objects.filter(pk="slot-002").update(gallery_visibility="off")
    token = Slot.objects.get(pk="slot-002").gallery_token

    assert client.get("/public/slots/slot-001").status_code == 200
    assert client.get(f"/public/slots/slot-002?k={token}").status_code == 404


def test_rotating_the_gallery_key_closes_links_with_the_old_one(client, staff_api):
    old = Slot.objects.get(pk="slot-001").gallery_token

    body = staff_api.post("/api/slots/slot-001/gallery-token").json()

    new = Slot.objects.get(pk="slot-001").gallery_token
    assert new != old and body["gallery_url"].endswith(f"/public/slots/slot-001?k={new}")
    assert client.get(f"/public/slots/slot-001?k={old}").status_code == 404
    assert client.get(f"/public/slots/slot-001?k={new}").status_code == 200


def test_guest_page_shows_the_photo_and_its_download_then_410_after_expiry(client):
    job = done_job(public_code="AbCdEf123456")

    page = client.get("/r/AbCdEf123456")
    JobHistory.objects.filter(pk=job.pk).update(result_expires_at=timezone.now())
    expired = client.get("/r/AbCdEf123456")

    assert page.status_code == 200
    assert f"/public/results/{job.job_id}" in page.text
    assert "Скачать" in page.text
    assert expired.status_code == 410
    assert "истёк" in expired.text
    assert client.get("/r/NoSuchCode00").status_code == 404


def test_dashboard_says_why_a_slot_is_not_ready(staff_client):
    SlotFactory(id="slot-004", provider="gemini", operation="image_edit", settings_json={})

    response = staff_client.get("/")

    card = next(c for c in response.context["cards"] if c["slot"].pk == "slot-004")
    assert card["status"].state == "not_ready"
    assert "Gemini: не задан API-ключ" in card["status"].reasons
    assert "Gemini: нет промпта" in card["status"].reasons


def test_a_guest_s_bad_file_does_not_make_a_slot_failing(staff_client):
    JobFactory(status=JobHistory.Status.FAILED, failure_reason="invalid_image")

    response = staff_client.get("/")

    card = next(c for c in response.context["cards"] if c["slot"].pk == "slot-001")
    assert card["status"].state == "ready"
