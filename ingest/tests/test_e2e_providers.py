"""A booth shot through uvicorn to the Gemini and Turbotext fakes and back."""

import io

import httpx
import pytest
from PIL import Image

from ingest.tests.conftest import jpeg_bytes
from ingest.tests.live_server import DSLR_FIELDS, multipart, running_server
from providers.tests.fakes import (
    FakeGemini,
    FakeTurbotext,
    gemini_image_answer,
    gemini_no_image_answer,
    png_bytes,
)

pytestmark = pytest.mark.e2e
SETUP = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from media.models import MediaObject
from slots.models import Slot, SlotTemplateMedia
from providers.tests.fakes import png_bytes
Slot.objects.filter(pk="slot-004").update(
    provider="gemini", operation="image_edit", settings_json={"prompt": "Put the guests on a beach"}
)
Slot.objects.filter(pk="slot-005").update(
    provider="turbotext", operation="style_transfer", settings_json={"content": "oil painting"}
)
style = png_bytes((256, 256), (200, 40, 90))
path = default_storage.save("templates/slot-005/style.png", ContentFile(style))
media = MediaObject.objects.create(
    slot_id="slot-005", kind="template", path=path, mime="image/png",
    size_bytes=len(style), sha256="0" * 64,
)
SlotTemplateMedia.objects.create(slot_id="slot-005", media=media, role="style")
"""


@pytest.fixture(scope="module")
def providers_and_server(tmp_path_factory):
    with FakeGemini() as gemini, FakeTurbotext() as turbotext:
        env = {
            "GEMINI_BASE_URL": gemini.url,
            "GEMINI_API_KEY": FakeGemini.api_key,
            "TURBOTEXT_BASE_URL": turbotext.url,
            "TURBOTEXT_API_KEY": FakeTurbotext.api_key,
            "TURBOTEXT_POLL_SECONDS": "0.2",
        }
        with running_server(tmp_path_factory.mktemp("e2e-p"), setup=SETUP, env=env) as server:
            yield gemini, turbotext, server


def upload(server, slot_id: str, photo: bytes) -> httpx.Response:
    content_type, body = multipart(DSLR_FIELDS, photo)
    return httpx.post(
        f"{server['base']}/api/ingest/{slot_id}",
        content=body,
        headers={"Content-Type": content_type, "Expect": "100-continue"},
        timeout=60,
    )


def test_gemini_slot_returns_the_model_image_in_the_input_format(providers_and_server):
    gemini, _, server = providers_and_server
    gemini.default = gemini_image_answer(png_bytes((1024, 768), (10, 160, 120)))
    response = upload(server, "slot-004", jpeg_bytes(size=(1600, 1200)))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"  # output_format "same" as the input
    assert Image.open(io.BytesIO(response.content)).size == (1024, 768)
    request = gemini.generate_requests[-1]
    parts = request.json()["contents"][0]["parts"]
    assert parts[-1]["text"] == "Put the guests on a beach"
    assert request.headers["x-goog-api-key"] == FakeGemini.api_key


def test_gemini_refusal_is_a_502_with_a_failed_job(providers_and_server):
    gemini, _, server = providers_and_server
    gemini.answers.extend([gemini_no_image_answer("IMAGE_SAFETY")])
    response = upload(server, "slot-004", jpeg_bytes(color=(1, 2, 3)))

    assert response.status_code == 502
    body = response.json()
    assert body["failure_reason"] == "safety_blocked"
    job = httpx.get(f"{server['base']}/api/jobs/{body['job_id']}").json()
    assert (job["status"], job["failure_reason"]) == ("failed", "safety_blocked")


def test_turbotext_slot_fetches_our_inputs_and_returns_its_result(providers_and_server):
    _, turbotext, server = providers_and_server
    response = upload(server, "slot-005", jpeg_bytes(size=(800, 600), color=(9, 9, 200)))

    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (768, 768)
    fetched = [status for url, status in turbotext.fetches if "/public/provider-media/" in url]
    assert fetched == [200, 200]  # the photo and the style template
    # The published inputs are gone once the job is done.
    assert httpx.get(turbotext.fetches[0][0]).status_code == 410
    create = turbotext.api_requests("create_queue")[-1].form()
    assert create["content"] == "oil painting"
    job = httpx.get(f"{server['base']}/api/jobs/{response.headers['x-job-id']}").json()
    assert job["status"] == "done"
