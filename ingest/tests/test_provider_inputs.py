"""What a provider is sent, and what a pass-through's print is cut from: the upload's own
validation decode, not a second decode of the photo."""

import base64
import io

import pytest
from PIL import Image

from ingest.calls import decode_side
from ingest.tests.conftest import jpeg_bytes, shot_form
from media import output
from media.images import PREVIEW_MIN_SIDE
from media.output import PRESETS
from providers import gemini
from providers.tests.fakes import FakeGemini, gemini_image_answer, png_bytes
from slots.models import Slot

pytestmark = pytest.mark.django_db
GEMINI = {"provider": "gemini", "operation": "image_edit", "settings": {"prompt": "x"}}


@pytest.fixture
def fake_gemini(settings):
    with FakeGemini() as fake:
        settings.GEMINI_BASE_URL = fake.url
        settings.GEMINI_API_KEY = FakeGemini.api_key
        fake.default = gemini_image_answer(png_bytes((1024, 1024), (10, 160, 120)))
        yield fake


def test_the_decode_keeps_the_largest_copy_a_driver_of_the_chain_sends(settings):
    settings.GEMINI_MAX_SIDE = 2048
    local = Slot(pk="slot-001", provider="local", operation="passthrough", settings_json={})
    small = Slot(pk="slot-002", provider="gemini", operation="image_edit")
    small.settings_json = {"prompt": "x", "max_side": 1024}
    falling_back = Slot(pk="slot-003", provider="local", operation="passthrough")
    falling_back.fallbacks = [GEMINI]

    assert decode_side(local) == PREVIEW_MIN_SIDE
    assert decode_side(small) == 1024
    assert decode_side(falling_back) == 2048


def test_a_gemini_slot_sends_a_copy_of_the_uploads_decode_the_same_as_decoding_again(
    client, ingest_password, fake_gemini, monkeypatch
):
    Slot.objects.filter(pk="slot-001").update(
        provider="gemini", operation="image_edit", settings_json={"prompt": "x", "max_side": 1024}
    )
    calls = []
    downscale = gemini.downscale

    def watched(data, mime, max_side, *, decoded=None):
        calls.append((decoded.size if decoded else None, downscale(data, mime, max_side)))
        return downscale(data, mime, max_side, decoded=decoded)

    monkeypatch.setattr(gemini, "downscale", watched)

    response = client.post("/api/ingest/slot-001", shot_form(jpeg_bytes(size=(3000, 2000))))

    assert response.status_code == 200, response.content[:300]
    (request,) = fake_gemini.generate_requests
    [(decoded_size, decoded_again)] = calls
    # 1/2 scale: the smallest DCT scale that still leaves the 1024 px the copy needs.
    assert decoded_size == (1500, 1000)
    sent = request.json()["contents"][0]["parts"][0]["inline_data"]
    assert base64.b64decode(sent["data"]) == decoded_again[0]


def test_a_pass_through_slot_keeps_its_prints_side_unless_the_print_keeps_the_photos_own():
    def passing_through(profile):
        return Slot(provider="local", operation="passthrough", output_profile=profile)

    assert decode_side(passing_through({"aspect": "3:2", "long_side": 1800})) == 1800
    assert decode_side(passing_through({"aspect": "3:2"})) == PREVIEW_MIN_SIDE
    assert decode_side(passing_through({"aspect": "no such aspect"})) == PREVIEW_MIN_SIDE


def test_a_pass_through_print_is_cut_from_the_uploads_decode(client, ingest_password, monkeypatch):
    Slot.objects.filter(pk="slot-001").update(
        provider="local",
        operation="passthrough",
        settings_json={},
        output_profile=PRESETS["4x6-landscape"].profile.to_dict(),
    )
    decodes = []
    decode = output.images.decode
    monkeypatch.setattr(output.images, "decode", lambda data: decodes.append(1) or decode(data))

    response = client.post("/api/ingest/slot-001", shot_form(jpeg_bytes(size=(4000, 3000))))

    assert response.status_code == 200, response.content[:300]
    assert Image.open(io.BytesIO(response.content)).size == (1800, 1200)
    assert decodes == []
