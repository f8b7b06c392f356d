"""The slot page and the API it stands on tell the truth: the slot's state and each link's, the
state a change would leave the slot in, the print's warnings, the gallery's link and QR code."""

import io

import pytest
import segno
from django.utils import timezone

from core.runtime import load_runtime_settings, set_runtime_setting
from ingest.models import JobHistory
from ingest.status import status_of
from ingest.tests.factories import JobFactory
from slots.models import Slot
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db

LOCAL_FALLBACK = {"provider": "local", "operation": "filter", "settings": {}}


def gemini_slot(**fields) -> Slot:
    values = {"provider": "gemini", "operation": "image_edit", "settings_json": {"prompt": "сад"}}
    return SlotFactory(id="slot-004", **{**values, **fields})


def dashboard_status(client, slot_id: str):
    cards = client.get("/").context["cards"]
    return next(card["status"] for card in cards if card["slot"].pk == slot_id)


def test_a_gemini_slot_without_a_key_is_not_ready_even_when_a_fallback_stands_in(staff_client):
    gemini_slot(fallbacks=[LOCAL_FALLBACK])

    status = dashboard_status(staff_client, "slot-004")

    assert (status.state, status.label) == ("not_ready", "Не готов")
    assert status.reasons == (
        "Gemini: не задан API-ключ",
        "Пока снимки обрабатывает запасной провайдер: Локальный (офлайн)",
    )


def test_a_style_transfer_slot_without_a_style_template_is_not_ready_even_with_a_fallback(
    staff_client, settings
):
    settings.PUBLIC_MEDIA_BASE_URL = "https://photo.example"
    set_runtime_setting(key="turbotext_api_key", value="tt-key")
    SlotFactory(
        id="slot-005",
        provider="turbotext",
        operation="style_transfer",
        settings_json={},
        fallbacks=[LOCAL_FALLBACK],
    )

    status = dashboard_status(staff_client, "slot-005")

    assert status.state == "not_ready"
    assert "Turbotext: нет шаблона с ролью «стиль»" in status.reasons


def test_a_slot_whose_own_provider_works_is_ready_and_names_a_broken_fallback():
    link = {"provider": "gemini", "operation": "image_edit", "settings": {"prompt": "сад"}}
    slot = SlotFactory(id="slot-006", fallbacks=[link])

    status = status_of(slot, load_runtime_settings())

    assert status.state == "ready"
    assert status.reasons == ("Gemini: не задан API-ключ",)


def test_the_dashboard_shows_the_same_state_as_the_slot_page(staff_client):
    gemini_slot(fallbacks=[LOCAL_FALLBACK])

    page = staff_client.get("/slots/slot-004/")

    assert page.context["status"].state == dashboard_status(staff_client, "slot-004").state


def test_the_slot_page_shows_the_state_pill_and_why_it_is_not_ready(staff_client):
    gemini_slot()

    page = staff_client.get("/slots/slot-004/").text

    assert '<span class="pill not_ready" data-state-pill>Не готов</span>' in page
    assert "<li>Gemini: не задан API-ключ</li>" in page
    assert '"ready": false' in page  # the link's own readiness, for the script


def test_the_slot_page_shows_times_with_their_zone(staff_client, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    staff_client.put(
        "/api/slots/slot-001",
        {"display_name": "Свадьба"},
        content_type="application/json",
    )

    page = staff_client.get("/slots/slot-001/").text

    assert (
        timezone.localtime(Slot.objects.get(pk="slot-001").updated_at).strftime("%H:%M MSK") in page
    )
    assert '"time_zone": "Europe/Moscow"' in page


def test_the_slot_api_carries_the_state_and_each_link_s_readiness(staff_api):
    gemini_slot(fallbacks=[LOCAL_FALLBACK])

    body = staff_api.get("/api/slots/slot-004").json()

    assert (body["status"], body["status_label"]) == ("not_ready", "Не готов")
    assert body["chain_status"] == [
        {
            "provider": "gemini",
            "operation": "image_edit",
            "ready": False,
            "problems": ["Gemini: не задан API-ключ"],
        },
        {"provider": "local", "operation": "filter", "ready": True, "problems": []},
    ]


def test_validate_tells_what_a_change_would_do_and_saves_nothing(staff_api):
    body = staff_api.post(
        "/api/slots/slot-001/validate",
        {"provider": "gemini", "operation": "image_edit", "settings": {"prompt": "сад"}},
        format="json",
    ).json()

    assert body["status"] == "not_ready"
    assert body["status_reasons"] == ["Gemini: не задан API-ключ"]
    slot = Slot.objects.get(pk="slot-001")
    assert (slot.provider, slot.version) == ("local", 1)


def test_validate_refuses_what_put_refuses_in_russian(staff_api):
    response = staff_api.post(
        "/api/slots/slot-001/validate",
        {"settings": {"filter": "neon"}, "operation": "teleport"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["operation"][0].startswith(
        "Допустимые операции: «Замена фона» (replace_background)"
    )
    assert Slot.objects.get(pk="slot-001").version == 1


def test_validate_counts_the_templates_an_operation_needs(staff_api):
    response = staff_api.post(
        "/api/slots/slot-001/validate",
        {"provider": "turbotext", "operation": "style_transfer", "settings": {}},
        format="json",
    )

    assert response.status_code == 400
    assert "«стиль»" in response.json()["errors"]["operation"][0]


def test_validate_of_a_ready_change_says_ready(staff_api):
    set_runtime_setting(key="gemini_api_key", value="AIza-test")

    body = staff_api.post(
        "/api/slots/slot-001/validate",
        {"provider": "gemini", "operation": "image_edit", "settings": {"prompt": "сад"}},
        format="json",
    ).json()

    assert (body["status"], body["status_reasons"]) == ("ready", [])


def test_the_job_status_carries_the_print_s_warnings(client):
    job = JobFactory(
        status=JobHistory.Status.DONE,
        finished_at=timezone.now(),
        warnings=["answer of 1024x1024 px enlarged 1.8x to 1800x1200: the print will look soft"],
    )

    body = client.get(f"/api/jobs/{job.job_id}").json()

    assert body["warnings"] == [
        "answer of 1024x1024 px enlarged 1.8x to 1800x1200: the print will look soft"
    ]


def test_the_gallery_qr_code_holds_the_gallery_link_with_its_key(staff_client, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    token = Slot.objects.get(pk="slot-001").gallery_token

    response = staff_client.get("/slots/slot-001/gallery-qr.svg")

    expected = segno.make(f"https://photo.example/public/slots/slot-001?k={token}", error="m")
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    assert response.content == _svg(expected)


def test_a_gallery_switched_off_has_no_qr_code_and_strangers_get_none(client, staff_client):
    Slot.objects.filter(pk="slot-002").update(gallery_visibility="off")

    assert staff_client.get("/slots/slot-002/gallery-qr.svg").status_code == 404
    client.logout()
    assert client.get("/slots/slot-001/gallery-qr.svg").status_code == 302  # to the login page


def test_the_slot_page_offers_the_print_presets_and_the_gallery_link(staff_client, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    token = Slot.objects.get(pk="slot-001").gallery_token

    response = staff_client.get("/slots/slot-001/")

    text = response.text
    assert 'value="4x6-landscape">Фото 10×15 (4×6″), альбомная</option>' in text
    assert 'value="custom">Свой размер</option>' in text
    assert f'value="https://photo.example/public/slots/slot-001?k={token}"' in text
    assert "/slots/slot-001/gallery-qr.svg" in text
    presets = response.context["slot_state"]["presets"]
    assert presets["4x6-landscape"] == {
        "label": "Фото 10×15 (4×6″), альбомная",
        "aspect": "3:2",
        "long_side": 1800,
        "fit": "crop",
        "pad_color": "#ffffff",
        "sharpen": True,
        "quality": 90,
    }


def test_the_slot_page_gives_its_script_every_driver_s_schema_and_operations(staff_client):
    drivers = staff_client.get("/slots/slot-001/").context["slot_state"]["drivers"]

    assert drivers["turbotext"]["operations"]["style_transfer"]["roles"] == ["стиль"]
    assert drivers["local"]["schema"]["properties"]["filter"]["x-enum-labels"]["mono"] == (
        "Чёрно-белый"
    )
    assert drivers["gemini"]["prompt_key"] == "prompt"


def _svg(qr) -> bytes:
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue()
