from datetime import timedelta

import pytest
from django.utils import timezone

from core.runtime import set_runtime_setting, settings_version
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

    # Session, user, runtime settings, cooling providers, slots, their templates; and the wrong
    # passwords of the last hour (one more query once that counter is stored).
    with django_assert_max_num_queries(7):
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


def test_dashboard_and_slot_list_count_wrong_ingest_passwords_of_the_last_hour(
    staff_client, staff_api, monkeypatch
):
    seen = []

    def counts(since):
        seen.append(since)
        return {"slot-003": 12}

    monkeypatch.setattr("ingest.status.wrong_password_counts", counts)

    page = staff_client.get("/").text
    slots = {slot["id"]: slot for slot in staff_api.get("/api/slots").json()}

    assert "Неверный пароль: <span data-text>12</span> за час" in page
    assert slots["slot-003"]["wrong_passwords_last_hour"] == 12
    assert slots["slot-001"]["wrong_passwords_last_hour"] == 0
    assert timezone.now() - seen[0] == pytest.approx(timedelta(hours=1), abs=timedelta(minutes=1))


def test_slot_list_gives_the_dashboard_the_last_result_and_its_time(staff_api):
    job = done_job()

    slot = staff_api.get("/api/slots").json()[0]

    assert slot["last_result_preview_url"] == f"/public/results/{job.job_id}/preview"
    assert slot["last_result_at"] is not None
    assert slot["provider_label"] == "Локальный (офлайн)"


def test_dashboard_page_polls_the_slot_list_and_offers_search_state_and_view(staff_client):
    page = staff_client.get("/").text

    assert '<script id="dashboard-state" type="application/json">' in page
    assert '"slots_url": "/api/slots"' in page
    assert 'id="slot-search"' in page and 'id="state-filter"' in page
    assert 'data-view="compact"' in page
    assert "js/dashboard.js" in page


def test_settings_page_checks_with_the_servers_own_bounds(staff_client):
    page = staff_client.get("/settings/").text

    # The server takes 1 to 100 at once per slot; the page used to stop at 50.
    assert 'name="per_slot_concurrency" inputmode="numeric" min="1" max="100"' in page
    assert '"per_slot_concurrency": [1, 100]' in page
    assert '"result_ttl_hours": [1, 720]' in page


def test_settings_page_knows_its_version_and_offers_every_key_removal(staff_client):
    set_runtime_setting(key="gemini_api_key", value="AIza-secret")

    page = staff_client.get("/settings/").text

    assert f'"version": {settings_version()}' in page
    assert 'data-remove-key="gemini">' in page  # configured: shown
    assert 'data-remove-key="turbotext" hidden>' in page  # not yet: hidden until one is stored
    assert "Таймаут в DSLR Remote Pro: не меньше <strong data-booth-timeout>63</strong> с" in page
