"""Every change to a slot is journaled (who, when, a field diff), whichever way it was made."""

import json

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from core.journal import entries_for
from ingest.tests.conftest import jpeg_bytes
from media.tests.factories import MediaObjectFactory
from slots import services
from slots.models import Slot, SlotTemplateMedia

pytestmark = pytest.mark.django_db


def journal(slot_id="slot-001") -> list[LogEntry]:
    return list(entries_for(Slot.objects.get(pk=slot_id)).order_by("timestamp", "id"))


def test_a_put_records_who_changed_which_fields_from_what_to_what(staff_api, staff_user):
    staff_api.put(
        "/api/slots/slot-001",
        {"display_name": "Сепия", "settings": {"filter": "mono"}, "is_active": True},
        format="json",
    )

    [entry] = journal()
    assert entry.actor == staff_user
    assert entry.changes == {
        "display_name": ["Слот 1", "Сепия"],
        "settings_json": [{"filter": "sepia"}, {"filter": "mono"}],
    }
    assert entry.additional_data == {"version": 2}


def test_a_stale_put_leaves_no_entry(staff_api):
    staff_api.put("/api/slots/slot-001", {"display_name": "a", "version": 1}, format="json")
    staff_api.put("/api/slots/slot-001", {"display_name": "b", "version": 1}, format="json")

    assert [entry.changes["display_name"][1] for entry in journal()] == ["a"]


def test_template_upload_relink_and_removal_are_journaled(staff_api):
    upload = SimpleUploadedFile("style.jpg", jpeg_bytes(), "image/jpeg")
    media_id = staff_api.post(
        "/api/template-media/register",
        {"slot_id": "slot-001", "role": "reference", "file": upload},
        format="multipart",
    ).json()["id"]
    staff_api.put(
        "/api/slots/slot-001",
        {"template_media": [{"media_object_id": media_id, "media_kind": "style"}]},
        format="json",
    )
    staff_api.delete(f"/api/template-media/{media_id}")

    changes = [entry.changes["template_media"] for entry in journal()]
    assert changes == [
        [[], [{"role": "reference", "media_id": media_id}]],
        [[{"role": "reference", "media_id": media_id}], [{"role": "style", "media_id": media_id}]],
        [[{"role": "style", "media_id": media_id}], []],
    ]


def test_switching_slots_on_and_off_in_bulk_journals_each_real_change(admin_user):
    Slot.objects.filter(pk="slot-002").update(is_active=False)

    services.set_slots_active(slot_ids=["slot-001", "slot-002"], active=False, user=admin_user)

    assert journal("slot-001")[0].changes == {"is_active": [True, False]}
    assert journal("slot-002") == []


def test_admin_edits_and_inline_templates_are_journaled(admin_client, admin_user):
    media = MediaObjectFactory()
    form = {
        "display_name": "Из админки",
        "provider": "local",
        "operation": "filter",
        "settings_json": json.dumps({"filter": "sepia"}),
        "is_active": "on",
        "output_format": "same",
        "output_profile": "{}",
        "qr_corner": "",
        "fallbacks": "[]",
        "last_resort": "error",
        "gallery_visibility": "token",
        "expected_version": 1,
        "template_media-TOTAL_FORMS": 1,
        "template_media-INITIAL_FORMS": 0,
        "template_media-0-media": str(media.pk),
        "template_media-0-role": "overlay",
        "template_media-0-position": 0,
    }

    response = admin_client.post("/admin/slots/slot/slot-001/change/", form)

    assert response.status_code == 302
    fields, templates = journal()
    assert fields.changes == {"display_name": ["Слот 1", "Из админки"]}
    assert templates.changes["template_media"][1] == [
        {"role": "overlay", "media_id": str(media.pk)}
    ]
    assert {fields.actor, templates.actor} == {admin_user}
    assert SlotTemplateMedia.objects.filter(slot_id="slot-001").count() == 1
    assert Slot.objects.get(pk="slot-001").version == 3


def test_the_slot_history_api_lists_newest_first_and_honours_the_limit(staff_api):
    for name in ("one", "two", "three"):
        staff_api.put("/api/slots/slot-001", {"display_name": name}, format="json")

    body = staff_api.get("/api/slots/slot-001/history?limit=2").json()

    assert [entry["changes"]["display_name"][1] for entry in body] == ["three", "two"]
    assert body[0]["actor"] == "serg"
    assert body[0]["object"] == "slot-001"
    assert body[0]["version"] == 4
    assert body[0]["at"]


def test_the_slot_history_of_an_unknown_slot_is_404(staff_api):
    assert staff_api.get("/api/slots/slot-099/history").status_code == 404


def test_the_slot_page_shows_its_journal(staff_client):
    services.update_slot(
        slot=Slot.objects.get(pk="slot-001"),
        expected_version=None,
        changes={"display_name": "Новое имя"},
        user=None,
    )

    page = staff_client.get("/slots/slot-001/").text

    assert "Журнал изменений" in page
    assert "название: Слот 1 → Новое имя" in page
    assert "система" in page
