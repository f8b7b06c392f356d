import json

import pytest
from django.core.files.storage import default_storage

from media.tests.factories import MediaObjectFactory
from slots.models import Slot, SlotTemplateMedia

pytestmark = pytest.mark.django_db
CHANGE = "/admin/slots/slot/slot-001/change/"


def change_form(**overrides):
    form = {
        "display_name": "Слот 1",
        "provider": "local",
        "operation": "filter",
        "settings_json": json.dumps({"filter": "mono"}),
        "is_active": "on",
        "output_format": "same",
        "output_profile": "{}",
        "qr_corner": "",
        "fallbacks": "[]",
        "last_resort": "error",
        "gallery_visibility": "token",
        "expected_version": 1,
        "template_media-TOTAL_FORMS": 0,
        "template_media-INITIAL_FORMS": 0,
    }
    return form | overrides


def test_slot_list_shows_the_fifteen_slots(admin_client):
    response = admin_client.get("/admin/slots/slot/")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 15


def test_saving_a_slot_bumps_its_version_and_records_the_editor(admin_client, admin_user):
    response = admin_client.post(CHANGE, change_form())

    assert response.status_code == 302
    slot = Slot.objects.get(pk="slot-001")
    assert slot.settings_json == {"filter": "mono"}
    assert (slot.version, slot.updated_by) == (2, admin_user)


def test_settings_are_checked_against_the_drivers_schema(admin_client):
    response = admin_client.post(CHANGE, change_form(settings_json=json.dumps({"filter": "neon"})))

    assert response.status_code == 200
    assert "settings_json" in response.context["adminform"].form.errors
    assert Slot.objects.get(pk="slot-001").version == 1


def test_saving_over_a_newer_version_is_refused(admin_client):
    Slot.objects.filter(pk="slot-001").update(version=5)

    response = admin_client.post(CHANGE, change_form(expected_version=4))

    assert response.status_code == 200
    assert "expected_version" in response.context["adminform"].form.errors


def test_deactivate_action_switches_slots_off_with_a_new_version(admin_client):
    admin_client.post(
        "/admin/slots/slot/",
        {"action": "deactivate", "_selected_action": ["slot-002", "slot-003"]},
    )

    changed = Slot.objects.filter(is_active=False).order_by("pk")
    assert [(s.pk, s.version) for s in changed] == [("slot-002", 2), ("slot-003", 2)]


def test_slots_cannot_be_added_or_deleted(admin_client):
    assert admin_client.get("/admin/slots/slot/add/").status_code == 403
    assert admin_client.get("/admin/slots/slot/slot-001/delete/").status_code == 403


def test_removing_a_template_in_the_slot_form_deletes_its_file(
    admin_client, django_capture_on_commit_callbacks
):
    template = MediaObjectFactory()
    link = SlotTemplateMedia.objects.create(slot_id="slot-001", media=template, role="overlay")
    inline = {
        "template_media-TOTAL_FORMS": 1,
        "template_media-INITIAL_FORMS": 1,
        "template_media-0-id": link.pk,
        "template_media-0-slot": "slot-001",
        "template_media-0-media": template.pk,
        "template_media-0-role": "overlay",
        "template_media-0-position": 0,
        "template_media-0-DELETE": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHANGE, change_form(**inline))

    assert response.status_code == 302
    assert not SlotTemplateMedia.objects.exists()
    assert not default_storage.exists(template.path)
    assert Slot.objects.get(pk="slot-001").version > 1
