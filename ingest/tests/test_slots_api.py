import copy
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory
from providers.gemini import GeminiDriver
from slots.models import Slot, SlotTemplateMedia
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db


def put(api, slot_id="slot-001", **payload):
    payload.setdefault("version", Slot.objects.get(pk=slot_id).version)
    return api.put(f"/api/slots/{slot_id}", payload, format="json")


def test_slot_list_has_every_slot_with_its_ingest_url_and_last_job(staff_api, settings):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    JobFactory(status=JobHistory.Status.PROCESSING)

    body = staff_api.get("/api/slots").json()

    assert len(body) == 15
    first = body[0]
    assert first["id"] == "slot-001"
    assert first["ingest_url"] == "https://photo.example/api/ingest/slot-001"
    assert first["last_job_status"] == "processing"
    assert first["in_flight"] == 1
    assert {"display_name", "provider", "is_active", "version", "updated_at"} <= first.keys()


def test_slot_detail_has_config_templates_and_recent_results(staff_api):
    template = SlotTemplateMedia.objects.create(
        slot_id="slot-001", media=MediaObjectFactory(), role="overlay"
    )
    done = JobFactory(
        status=JobHistory.Status.DONE, result_expires_at=timezone.now() + timedelta(hours=1)
    )
    JobFactory(status=JobHistory.Status.FAILED, failure_reason="quota")

    body = staff_api.get("/api/slots/slot-001").json()

    assert body["settings"] == {"filter": "sepia"}
    assert body["effective_sync_response_seconds"] == 48
    assert body["effective_size_limit_mb"] == 15
    assert body["template_media"] == [
        {
            "id": str(template.media_id),
            "role": "overlay",
            "position": 0,
            "mime": "image/png",
            "size_bytes": template.media.size_bytes,
            "url": f"/api/template-media/{template.media_id}",
        }
    ]
    results = {r["job_id"]: r for r in body["recent_results"]}
    assert results[str(done.job_id)]["preview_url"] == f"/public/results/{done.job_id}/preview"
    assert [r["result_url"] for r in results.values() if r["status"] == "failed"] == [None]


def test_unknown_slot_is_a_json_404(staff_api):
    response = staff_api.get("/api/slots/slot-099")

    assert response.status_code == 404
    assert response.json()["failure_reason"] == "slot_not_found"


def test_put_updates_the_slot_bumps_its_version_and_records_the_editor(staff_api, staff_user):
    response = put(
        staff_api,
        display_name="Рамка",
        operation="frame",
        settings={"border_color": "#0f866c", "border_percent": 4},
        sync_response_seconds=30,
    )

    assert response.status_code == 200, response.json()
    slot = Slot.objects.get(pk="slot-001")
    assert (slot.display_name, slot.operation, slot.sync_response_seconds) == ("Рамка", "frame", 30)
    assert slot.version == 2 == response.json()["version"]
    assert slot.updated_by == staff_user
    assert response.json()["updated_by"] == "serg"


def test_put_with_a_stale_version_is_refused_with_409(staff_api):
    put(staff_api, display_name="first edit")

    response = put(staff_api, version=1, display_name="second edit from an old page")

    assert response.status_code == 409
    assert response.json()["failure_reason"] == "version_conflict"
    assert response.json()["current_version"] == 2
    assert Slot.objects.get(pk="slot-001").display_name == "first edit"


def test_put_checks_settings_against_the_drivers_json_schema(staff_api):
    response = put(staff_api, settings={"filter": "neon", "extra": 1})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["settings"]
    assert any("neon" in message for message in errors["settings"])
    assert Slot.objects.get(pk="slot-001").version == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"operation": "teleport"}, "operation"),
        ({"sync_response_seconds": 5}, "sync_response_seconds"),
        ({"size_limit_mb": 0}, "size_limit_mb"),
        ({"provider": "dalle"}, "provider"),
        ({"display_name": ""}, "display_name"),
        ({"settings": ["not", "an", "object"]}, "settings"),
        ({"version": None}, "version"),
    ],
)
def test_put_refuses_bad_fields_with_field_errors(staff_api, payload, field):
    response = put(staff_api, **payload)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_put_switching_to_gemini_needs_a_prompt(staff_api):
    response = put(staff_api, provider="gemini", operation="image_edit", settings={})
    assert response.status_code == 400
    assert "settings" in response.json()["errors"]

    response = put(
        staff_api, provider="gemini", operation="image_edit", settings={"prompt": "Студия"}
    )
    assert response.status_code == 200


def test_put_template_list_reorders_and_drops_templates(
    staff_api, django_capture_on_commit_callbacks
):
    kept, dropped = MediaObjectFactory(), MediaObjectFactory()
    for position, media in enumerate((dropped, kept)):
        SlotTemplateMedia.objects.create(
            slot_id="slot-001", media=media, role="style", position=position
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = put(
            staff_api,
            template_media=[{"media_object_id": str(kept.pk), "media_kind": "background"}],
        )

    assert response.status_code == 200, response.json()
    assert [(t["id"], t["role"]) for t in response.json()["template_media"]] == [
        (str(kept.pk), "background")
    ]
    dropped.refresh_from_db()
    assert dropped.cleaned_at is not None


def test_put_refuses_templates_of_another_slot(staff_api):
    foreign = MediaObjectFactory(slot_id="slot-002")

    response = put(
        staff_api, template_media=[{"media_object_id": str(foreign.pk), "media_kind": "style"}]
    )

    assert response.status_code == 400
    assert "template_media" in response.json()["errors"]


def test_cleanup_deletes_expired_media_of_that_slot_only(staff_api):
    past = timezone.now() - timedelta(minutes=1)
    mine = MediaObjectFactory(kind=MediaObject.Kind.RESULT, expires_at=past)
    other = MediaObjectFactory(kind=MediaObject.Kind.RESULT, expires_at=past, slot_id="slot-002")
    template = MediaObjectFactory()

    response = staff_api.post("/api/slots/slot-001/cleanup")

    assert response.status_code == 200
    assert response.json()["files"] == 1
    assert response.json()["bytes"] == mine.size_bytes
    assert MediaObject.objects.get(pk=mine.pk).cleaned_at is not None
    assert MediaObject.objects.get(pk=other.pk).cleaned_at is None
    assert MediaObject.objects.get(pk=template.pk).cleaned_at is None


def test_inactive_slot_is_still_configurable(staff_api):
    SlotFactory(id="slot-004", is_active=False)

    response = put(staff_api, "slot-004", is_active=True)

    assert response.status_code == 200
    assert Slot.objects.get(pk="slot-004").is_active


def test_put_sets_a_fallback_chain_and_a_last_resort(staff_api):
    chain = [{"provider": "local", "operation": "filter", "settings": {"filter": "mono"}}]

    response = put(staff_api, fallbacks=chain, last_resort="original")

    assert response.status_code == 200, response.json()
    assert response.json()["fallbacks"] == chain
    slot = Slot.objects.get(pk="slot-001")
    assert [link.provider for link in slot.chain()] == ["local", "local"]
    assert slot.last_resort == "original"


@pytest.mark.parametrize(
    "fallbacks",
    [
        [{"provider": "local", "operation": "filter", "settings": {"filter": "sepia"}}],  # twice
        [{"provider": "nope", "operation": "x", "settings": {}}],
        [{"provider": "local", "operation": "dance", "settings": {}}],
        [{"provider": "local", "operation": "filter", "settings": {"filter": "neon"}}],
        [{"provider": "local", "operation": "passthrough", "settings": {}}] * 3,
    ],
)
def test_put_refuses_a_chain_that_cannot_work(staff_api, fallbacks):
    response = put(staff_api, fallbacks=fallbacks)

    assert response.status_code == 400
    assert "fallbacks" in response.json()["errors"]
    assert Slot.objects.get(pk="slot-001").version == 1


def test_put_refuses_an_operation_whose_template_is_missing(staff_api):
    response = put(staff_api, provider="turbotext", operation="style_transfer", settings={})

    assert response.status_code == 400
    assert "стиль" in response.json()["errors"]["operation"][0]
    assert Slot.objects.get(pk="slot-001").provider == "local"


def test_an_operation_is_accepted_once_its_template_is_there(staff_api):
    SlotTemplateMedia.objects.create(slot_id="slot-001", media=MediaObjectFactory(), role="style")

    response = put(staff_api, provider="turbotext", operation="style_transfer", settings={})

    assert response.status_code == 200


def test_put_refuses_an_unknown_print_aspect(staff_api):
    response = put(staff_api, output_profile={"aspect": "7:9"})

    assert response.status_code == 400
    assert "output_profile" in response.json()["errors"]


# The brief's §7 example of PUT /api/slots/slot-001, byte for byte; only the template id is
# replaced by one of a template registered on this install.
BRIEF_PUT_BODY = b"""{
  "display_name": "Slot 1 (Gemini)",
  "provider": "gemini",
  "operation": "image_edit",
  "is_active": true,
  "size_limit_mb": 20,
  "sync_response_seconds": 48,
  "settings": {
    "prompt": "Studio portrait",
    "safety": "standard"
  },
  "template_media": [
    { "media_kind": "background", "media_object_id": "8b6f0fa6b5b0459fb887c249f2eb5b21" }
  ]
}"""
BRIEF_TEMPLATE_ID = b"8b6f0fa6b5b0459fb887c249f2eb5b21"


def _register_background(api) -> str:
    from ingest.tests.conftest import jpeg_bytes

    upload = SimpleUploadedFile("background.jpg", jpeg_bytes(), "image/jpeg")
    response = api.post(
        "/api/template-media/register",
        {"slot_id": "slot-001", "role": "background", "file": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return uuid.UUID(response.json()["id"]).hex


def _put_brief_example(api):
    body = BRIEF_PUT_BODY.replace(BRIEF_TEMPLATE_ID, _register_background(api).encode())
    return api.generic("PUT", "/api/slots/slot-001", body, content_type="application/json")


def _assert_brief_example_applied(response):
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["display_name"], body["provider"], body["operation"]) == (
        "Slot 1 (Gemini)",
        "gemini",
        "image_edit",
    )
    assert (body["size_limit_mb"], body["sync_response_seconds"]) == (20, 48)
    assert body["settings"] == {"prompt": "Studio portrait", "safety": "standard"}
    assert [t["role"] for t in body["template_media"]] == ["background"]


@pytest.mark.skipif(
    "safety" not in GeminiDriver.settings_schema["properties"],
    reason="the Gemini settings schema has no `safety` yet; it arrives with the Gemini "
    "safety-settings change, and this test runs from then on",
)
def test_the_briefs_put_example_is_accepted_as_written(staff_api):
    _assert_brief_example_applied(_put_brief_example(staff_api))


def test_the_briefs_put_example_is_accepted_once_gemini_takes_safety(staff_api, monkeypatch):
    schema = copy.deepcopy(GeminiDriver.settings_schema)
    schema["properties"].setdefault("safety", {"type": "string"})
    monkeypatch.setattr(GeminiDriver, "settings_schema", schema)

    _assert_brief_example_applied(_put_brief_example(staff_api))


def test_put_without_a_version_is_an_unconditional_write(staff_api):
    put(staff_api, display_name="first edit")

    response = staff_api.put(
        "/api/slots/slot-001", {"display_name": "no version given"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 3
    assert response["ETag"] == '"3"'


@pytest.mark.parametrize("header", ['"1"', "1", 'W/"1"'])
def test_put_with_a_stale_if_match_is_refused_with_409(staff_api, header):
    put(staff_api, display_name="first edit")

    response = staff_api.put(
        "/api/slots/slot-001",
        {"display_name": "from an old page"},
        format="json",
        headers={"If-Match": header},
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_put_with_the_current_if_match_is_applied(staff_api):
    etag = staff_api.get("/api/slots/slot-001")["ETag"]

    response = staff_api.put(
        "/api/slots/slot-001",
        {"display_name": "up to date"},
        format="json",
        headers={"If-Match": etag},
    )

    assert response.status_code == 200
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("header", "payload"), [("three", {}), ('"1"', {"version": 2}), ('"0"', {})]
)
def test_put_refuses_an_unreadable_or_contradicting_if_match(staff_api, header, payload):
    response = staff_api.put(
        "/api/slots/slot-001",
        {"display_name": "x", **payload},
        format="json",
        headers={"If-Match": header},
    )

    assert response.status_code == 400
    assert Slot.objects.get(pk="slot-001").version == 1
