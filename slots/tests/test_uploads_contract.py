"""Image uploads of the staff API answer within their contract, whatever the image."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

pytestmark = pytest.mark.django_db


def tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/api/media/register", {}),
        ("/api/template-media/register", {"slot_id": "slot-001", "role": "style"}),
    ],
)
def test_a_one_pixel_jpeg_is_stored_or_refused_never_a_500(staff_api, url, form):
    upload = SimpleUploadedFile("tiny.jpg", tiny_jpeg(), "image/jpeg")

    response = staff_api.post(url, {**form, "file": upload}, format="multipart")

    assert response.status_code in (201, 400, 415)
