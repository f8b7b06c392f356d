"""The booth gets the print: the slot's size and aspect, its branding overlay, its QR code."""

import io
from datetime import timedelta

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from ingest.models import JobHistory
from ingest.tests.conftest import jpeg_bytes, shot_form
from media.output import PRESETS, target_size
from providers.tests.fakes import FakeGemini, gemini_image_answer, html_answer, png_bytes
from slots.models import Slot

pytestmark = pytest.mark.django_db
URL = "/api/ingest/slot-001"
PRESET_SIZES = {name: target_size(preset.profile, (4, 3)) for name, preset in PRESETS.items()}


@pytest.fixture
def fake_gemini(settings):
    with FakeGemini() as fake:
        settings.GEMINI_BASE_URL = fake.url
        settings.GEMINI_API_KEY = FakeGemini.api_key
        yield fake


def frame_png(size=(1200, 1200)) -> bytes:
    """An event frame: an opaque band of colour along the top, transparent elsewhere."""
    frame = Image.new("RGBA", size, (0, 0, 0, 0))
    frame.paste((200, 30, 90, 255), (0, 0, size[0], size[1] // 10))
    out = io.BytesIO()
    frame.save(out, "PNG")
    return out.getvalue()


def add_overlay(staff_api, data: bytes, slot_id="slot-001"):
    upload = SimpleUploadedFile("frame.png", data, "image/png")
    return staff_api.post(
        "/api/template-media/register", {"slot_id": slot_id, "role": "overlay", "file": upload}
    )


def use(provider: str, **fields):
    operation, settings = {"local": ("passthrough", {}), "gemini": ("image_edit", {"prompt": "x"})}[
        provider
    ]
    Slot.objects.filter(pk="slot-001").update(
        provider=provider, operation=operation, settings_json=settings, **fields
    )


def image_of(response) -> Image.Image:
    assert response.status_code == 200, response.content[:300]
    return Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize("provider", ["local", "gemini"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_booth_gets_exactly_the_presets_size_with_the_overlay_unchanged(
    client, ingest_password, staff_api, fake_gemini, provider, preset
):
    fake_gemini.default = gemini_image_answer(png_bytes((1024, 1024), (10, 160, 120)))
    assert add_overlay(staff_api, frame_png()).status_code == 201
    use(provider, output_profile=PRESETS[preset].profile.to_dict())

    printed = image_of(client.post(URL, shot_form(jpeg_bytes(size=(1600, 1200))))).convert("RGB")

    assert printed.size == PRESET_SIZES[preset]
    band = printed.crop((0, 0, printed.width, printed.height // 12))
    assert _close(band.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)), (200, 30, 90))


def test_gemini_is_asked_for_the_prints_aspect_ratio(client, ingest_password, fake_gemini):
    use("gemini", output_profile=PRESETS["4x6-portrait"].profile.to_dict())

    client.post(URL, shot_form(jpeg_bytes(size=(1600, 1200))))

    assert fake_gemini.generation_configs[-1]["imageConfig"]["aspectRatio"] == "2:3"


def test_the_qr_code_on_the_print_opens_the_guest_page_until_the_photo_expires(
    client, ingest_password, settings
):
    settings.PUBLIC_BASE_URL = "https://photo.example"
    use("local", output_profile={"aspect": "3:2", "long_side": 1800}, qr_corner="bottom-right")

    printed = image_of(client.post(URL, shot_form(jpeg_bytes(size=(1600, 1200)))))

    (found,) = zxingcpp.read_barcodes(printed, formats=zxingcpp.BarcodeFormat.QRCode)
    job = JobHistory.objects.get()
    assert found.text == f"https://photo.example/r/{job.public_code}"
    path = found.text.removeprefix("https://photo.example")
    page = client.get(path)
    assert page.status_code == 200 and f"/public/results/{job.job_id}" in page.text
    JobHistory.objects.filter(pk=job.pk).update(result_expires_at=timezone.now())
    assert client.get(path).status_code == 410


def test_a_tiny_provider_answer_is_still_printed_at_size_with_a_warning(
    client, ingest_password, fake_gemini
):
    fake_gemini.default = gemini_image_answer(png_bytes((256, 256)))
    use("gemini", output_profile={"aspect": "3:2", "long_side": 1800})

    printed = image_of(client.post(URL, shot_form(jpeg_bytes())))

    assert printed.size == (1800, 1200)
    assert any("soft" in warning for warning in JobHistory.objects.get().warnings)


def test_the_original_as_last_resort_is_printed_with_frame_and_qr(
    client, ingest_password, staff_api, fake_gemini
):
    fake_gemini.default = html_answer(500)
    add_overlay(staff_api, frame_png())
    use(
        "gemini",
        output_profile={"aspect": "2:3", "long_side": 1500},
        qr_corner="top-left",
        last_resort="original",
    )

    printed = image_of(client.post(URL, shot_form(jpeg_bytes(size=(1600, 1200)))))

    assert printed.size == (1000, 1500)
    assert zxingcpp.read_barcodes(printed, formats=zxingcpp.BarcodeFormat.QRCode)
    job = JobHistory.objects.get()
    assert job.fallback == "original"
    assert job.attempts[0]["outcome"] == "provider_5xx"


def test_a_slot_without_a_print_profile_answers_what_it_always_did(client, ingest_password):
    photo = jpeg_bytes(size=(640, 480))

    printed = image_of(client.post(URL, shot_form(photo)))

    assert printed.size == (640, 480)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (jpeg_bytes(size=(800, 600)), "PNG"),
        (png_bytes((800, 600)), "прозрачност"),
        (frame_png((200, 200)), "мала"),
    ],
)
def test_an_overlay_that_cannot_brand_a_print_is_refused_in_russian(staff_api, data, words):
    response = add_overlay(staff_api, data)

    assert response.status_code == 400
    assert response.json()["failure_reason"] == "invalid_overlay"
    assert words in response.json()["detail"]


def test_an_expired_guest_link_answers_410_with_a_friendly_page(client):
    job = JobHistory.objects.create(
        slot_id="slot-001",
        slot_version=1,
        source="ingest",
        provider="local",
        status="done",
        deadline_at=timezone.now(),
        result_expires_at=timezone.now() - timedelta(minutes=1),
        public_code="OldGuestLink",
    )

    response = client.get(f"/r/{job.public_code}")

    assert response.status_code == 410
    assert "истёк" in response.text


def _close(color, expected, tolerance=30):
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected, strict=True))
