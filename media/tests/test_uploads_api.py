import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from core.runtime import set_runtime_setting
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory, make_image_bytes
from slots.models import Slot, SlotTemplateMedia

pytestmark = pytest.mark.django_db
REGISTER = "/api/template-media/register"


def upload(data: bytes, name="template.png", mime="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, mime)


def register(api, data, slot_id="slot-001", **fields):
    return api.post(REGISTER, {"slot_id": slot_id, "file": upload(data), **fields})


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 0.0)}  # GPSInfo
    exif[0x0112] = 6  # rotated: stored landscape, shown portrait
    return make_image_bytes(size=(80, 40), fmt="JPEG", exif=exif)


def test_register_stores_a_clean_template_and_links_it_to_the_slot(storage, staff_api, staff_user):
    response = register(staff_api, jpeg_with_gps(), role="background")

    assert response.status_code == 201, response.json()
    body = response.json()
    media = MediaObject.objects.get(pk=body["id"])
    assert media.kind == "template" and media.expires_at is None
    assert media.path.startswith("templates/slot-001/")
    link = SlotTemplateMedia.objects.get(media=media)
    assert (link.slot_id, link.role) == ("slot-001", "background")
    assert storage.names() == [media.path]
    stored = Image.open(default_storage.open(media.path))
    assert stored.size == (40, 80)  # turned upright by its EXIF orientation
    assert not stored.getexif()  # no GPS or other metadata kept
    slot = Slot.objects.get(pk="slot-001")
    assert body["slot_version"] == slot.version == 2
    assert slot.updated_by == staff_user


def test_registered_template_is_served_to_staff(storage, staff_api):
    url = register(staff_api, make_image_bytes(fmt="PNG")).json()["url"]

    response = staff_api.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG")
    assert response["Content-Length"] == str(len(body))


def test_register_appends_after_existing_templates(staff_api):
    register(staff_api, make_image_bytes())
    second = register(staff_api, make_image_bytes()).json()

    assert second["position"] == 1


def test_register_refuses_a_gif_named_png_with_415(staff_api):
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")

    response = register(staff_api, gif.getvalue())

    assert response.status_code == 415
    assert response.json()["failure_reason"] == "unsupported_media_type"
    assert not MediaObject.objects.exists()


def test_register_refuses_a_truncated_image_with_400(staff_api):
    response = register(staff_api, make_image_bytes(size=(400, 300))[:600])

    assert response.status_code == 400
    assert response.json()["failure_reason"] == "invalid_image"
    assert not SlotTemplateMedia.objects.exists()


def test_register_refuses_files_over_the_upload_limit_with_413(staff_api):
    set_runtime_setting(key="max_upload_mb", value=1)

    response = register(staff_api, b"\xff\xd8\xff" + b"0" * 1_048_576)

    assert response.status_code == 413
    assert response.json()["failure_reason"] == "payload_too_large"


def test_register_needs_a_file_and_a_known_slot(staff_api):
    missing = staff_api.post(REGISTER, {"slot_id": "slot-001"})
    assert missing.status_code == 400
    assert "file" in missing.json()["errors"]

    unknown = register(staff_api, make_image_bytes(), slot_id="slot-404")
    assert unknown.status_code == 404
    assert unknown.json()["failure_reason"] == "slot_not_found"


def test_delete_unlinks_the_template_deletes_its_file_and_bumps_the_version(
    storage, staff_api, django_capture_on_commit_callbacks
):
    media_id = register(staff_api, make_image_bytes()).json()["id"]
    path = MediaObject.objects.get(pk=media_id).path

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.delete(f"/api/template-media/{media_id}")

    assert response.status_code == 200
    assert response.json()["slot_version"] == 3
    assert not SlotTemplateMedia.objects.exists()
    assert MediaObject.objects.get(pk=media_id).cleaned_at is not None
    assert not default_storage.exists(path)
    assert storage.names() == []


@pytest.mark.parametrize("media_id", ["not-a-uuid", "8b6f0fa6-b5b0-459f-b887-c249f2eb5b21"])
def test_unknown_template_is_a_json_404(staff_api, media_id):
    response = staff_api.delete(f"/api/template-media/{media_id}")

    assert response.status_code == 404
    assert response.json()["failure_reason"] == "media_not_found"


def test_results_are_not_reachable_through_the_template_route(staff_api):
    result = MediaObjectFactory(kind=MediaObject.Kind.RESULT)

    assert staff_api.get(f"/api/template-media/{result.pk}").status_code == 404


def test_media_register_keeps_a_temporary_upload_until_its_ttl(storage, staff_api):
    response = staff_api.post(
        "/api/media/register", {"file": upload(make_image_bytes(fmt="JPEG"), "t.jpg")}
    )

    assert response.status_code == 201
    media = MediaObject.objects.get(pk=response.json()["id"])
    assert media.kind == "test_upload"
    assert media.path.startswith("uploads/shared/")
    assert storage.names() == [media.path]
    expected = timezone.now() + timedelta(hours=72)
    assert abs(media.expires_at - expected) < timedelta(minutes=1)


def test_media_register_validates_like_ingest(staff_api):
    response = staff_api.post("/api/media/register", {"file": upload(b"%PDF-1.7 not an image")})

    assert response.status_code == 415


def test_global_cleanup_reports_what_it_deleted(staff_api):
    MediaObjectFactory(
        kind=MediaObject.Kind.RESULT, expires_at=timezone.now() - timedelta(seconds=1)
    )
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, slot_id="slot-002", expires_at=None)

    response = staff_api.post("/api/media/cleanup")

    assert response.status_code == 200
    assert response.json()["files"] == 1


def test_a_template_upload_the_storage_cannot_take_is_a_503_and_links_nothing(staff_api, settings):
    settings.MEDIA_ROOT = settings.MEDIA_ROOT / "not-a-folder"
    settings.MEDIA_ROOT.parent.mkdir(parents=True, exist_ok=True)
    settings.MEDIA_ROOT.write_text("")  # every write under it fails

    response = register(staff_api, make_image_bytes())

    assert response.status_code == 503
    assert response.json()["failure_reason"] == "storage_unavailable"
    assert not SlotTemplateMedia.objects.exists()
    assert Slot.objects.get(pk="slot-001").version == 1
