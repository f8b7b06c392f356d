from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from media.tests.factories import MediaObjectFactory
from slots.models import SlotTemplateMedia
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
    JobFactory(slot=SlotFactory(id="slot-003"), status=JobHistory.Status.TIMEOUT)

    response = staff_client.get("/")

    assert response.status_code == 200
    cards = {card["slot"].pk: card for card in response.context["cards"]}
    assert len(cards) == 15
    assert 'value="https://photo.example/api/ingest/slot-001"' in response.text
    assert "Отключён" in response.text and "Ошибки" in response.text and "Активен" in response.text
    assert cards["slot-003"]["activity"].failing


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

    response = client.get("/public/slots/slot-001")

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
    assert len(client.get("/public/slots/slot-001").context["jobs"]) == 3
    assert staff_api.put("/api/settings", {"gallery_size": 0}, format="json").status_code == 400


def test_settings_page_offers_the_gallery_size(staff_client):
    page = staff_client.get("/settings/").text

    assert 'name="gallery_size"' in page
    assert 'value="10"' in page


def test_gallery_of_an_unknown_slot_is_404(client):
    assert client.get("/public/slots/slot-404").status_code == 404
