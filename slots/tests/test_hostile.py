"""Malformed and hostile template uploads, through the whole ASGI application: each refused
with its JSON failure_reason and no file left behind; odd but valid images are accepted."""

import pytest
from PIL import Image
from rest_framework_simplejwt.tokens import RefreshToken

from core.runtime import set_runtime_setting
from ingest.tests.conftest import (
    BOUNDARY,
    MULTIPART,
    asgi_request,
    form_part,
    jpeg_bytes,
    stored_files,
)
from ingest.tests.test_hostile import animation, png_16bit_rgb, png_bomb, saved
from media.models import MediaObject

pytestmark = pytest.mark.django_db
URL = "/api/template-media/register"
END = b"--" + BOUNDARY.encode() + b"--\r\n"
PHOTO = jpeg_bytes()


@pytest.fixture
def staff_headers(staff_user):
    token = RefreshToken.for_user(staff_user).access_token
    return {**MULTIPART, "Authorization": f"Bearer {token}"}


def template(image: bytes, *, slot_id="slot-001", role="style", filename: str | bytes = "t.jpg"):
    return (
        form_part("slot_id", slot_id)
        + form_part("role", role)
        + form_part("file", image, filename=filename)
        + END
    )


# id: (body, extra headers) -> refused with (status, failure_reason)
REFUSED = {
    "not-a-form": (
        b'{"slot_id": "slot-001"}',
        {"Content-Type": "application/json"},
        415,
        "unsupported_media_type",
    ),
    "garbage-form": (bytes(range(256)) * 8, {}, 400, "bad_request"),
    "no-file": (form_part("slot_id", "slot-001") + END, {}, 400, "validation_error"),
    "unknown-slot": (template(PHOTO, slot_id="slot-999"), {}, 404, "slot_not_found"),
    "nul-in-slot-id": (template(PHOTO, slot_id="slot-001\x00"), {}, 400, "validation_error"),
    "control-chars-in-slot-id": (template(PHOTO, slot_id="slot\x1b001"), {}, 404, "slot_not_found"),
    "unknown-role": (template(PHOTO, role="x" * 40), {}, 400, "validation_error"),
    "text-file": (template(b"<svg onload=alert(1)>"), {}, 415, "unsupported_media_type"),
    "gif": (template(saved(Image.new("RGB", (8, 8)), "GIF")), {}, 415, "unsupported_media_type"),
    "truncated-jpeg": (template(PHOTO[:300]), {}, 400, "invalid_image"),
    "png-decompression-bomb": (template(png_bomb()), {}, 400, "invalid_image"),
    "declared-over-the-limit": (
        b"",
        {"Content-Length": str(60 * 1024 * 1024)},
        413,
        "payload_too_large",
    ),
    "chunked-over-the-limit": (
        [template(PHOTO)[: -len(END)]] + [b"\0" * (1024 * 1024)] * 20,
        {"Transfer-Encoding": "chunked"},
        413,
        "payload_too_large",
    ),
}


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"), REFUSED.values(), ids=REFUSED.keys()
)
def test_hostile_template_upload_is_refused_cleanly(
    body, headers, status, reason, staff_headers, settings
):
    answer = asgi_request(URL, body, headers={**staff_headers, **headers})

    assert answer.status == status, answer.body
    assert answer.json()["failure_reason"] == reason
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not MediaObject.objects.exists()


def test_a_template_over_the_upload_limit_within_the_envelope_is_413(staff_headers, settings):
    set_runtime_setting(key="max_upload_mb", value=1)
    answer = asgi_request(URL, template(PHOTO + b"\0" * (1024 * 1024)), headers=staff_headers)
    assert (answer.status, answer.json()["failure_reason"]) == (413, "payload_too_large")
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_stranger_cannot_upload_templates(db, settings):
    answer = asgi_request(URL, template(PHOTO), headers=MULTIPART)
    assert (answer.status, answer.json()["failure_reason"]) == (401, "not_authenticated")
    assert stored_files(settings.MEDIA_ROOT) == []


ACCEPTED = {
    "jpeg-7x7": (jpeg_bytes(size=(7, 7)), "t.jpg"),
    "jpeg-1x10000": (jpeg_bytes(size=(1, 10_000)), "t.jpg"),
    "cmyk-jpeg": (saved(Image.new("CMYK", (30, 20)), "JPEG"), "t.jpg"),
    "16-bit-png": (png_16bit_rgb(), "t.png"),
    "animated-webp": (animation("WEBP"), "t.webp"),
    "utf8-cyrillic-filename": (PHOTO, "фон.jpg"),
}


@pytest.mark.parametrize(("image", "filename"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_odd_but_valid_template_is_accepted(image, filename, staff_headers):
    answer = asgi_request(URL, template(image, filename=filename), headers=staff_headers)
    assert answer.status == 201, answer.body
    assert MediaObject.objects.get().kind == MediaObject.Kind.TEMPLATE
