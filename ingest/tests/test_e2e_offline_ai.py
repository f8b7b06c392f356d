"""Every shot gets an edit, through uvicorn: the offline background replacement a fresh install
offers on slot-001, and a Gemini slot whose chain falls back to it inside the booth's window."""

import io
import json
import time

import httpx
import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data

from ingest.tests.live_server import DSLR_FIELDS, manage, multipart, running_server
from providers.local import DEFAULT_BACKDROP
from providers.tests.fakes import HANG, FakeGemini, gemini_no_image_answer

pytestmark = pytest.mark.e2e
# slot-001 is set up by the first run itself (manage.py bootstrap); slot-002 chains Gemini to it.
SETUP = """
from slots.models import Slot, SlotTemplateMedia
first = Slot.objects.get(pk="slot-001")
Slot.objects.filter(pk="slot-002").update(
    provider="gemini",
    operation="image_edit",
    settings_json={"prompt": "Put them in a studio"},
    fallbacks=[{"provider": "local", "operation": "replace_background", "settings": {}}],
    sync_response_seconds=10,
)
for link in first.template_media.all():
    SlotTemplateMedia.objects.create(slot_id="slot-002", media=link.media, role=link.role)
"""
# Boxes (left, top, right, bottom) of the 512×512 astronaut portrait that are not the person:
# the wall beside her head, the flag, the shuttle model.
BACKDROP_BOXES = [(100, 5, 145, 120), (310, 5, 350, 170), (5, 5, 60, 200), (370, 10, 450, 250)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with FakeGemini() as gemini:
        env = {
            "GEMINI_BASE_URL": gemini.url,
            "GEMINI_API_KEY": FakeGemini.api_key,
            "FALLBACK_MIN_ATTEMPT_SECONDS": "4",
        }
        with running_server(tmp_path_factory.mktemp("offline"), setup=SETUP, env=env) as server:
            yield gemini, server


def portrait_jpeg() -> bytes:
    out = io.BytesIO()
    Image.fromarray(data.astronaut()).save(out, "JPEG", quality=92)
    return out.getvalue()


def upload(server, slot_id: str) -> httpx.Response:
    content_type, body = multipart(DSLR_FIELDS, portrait_jpeg())
    return httpx.post(
        f"{server['base']}/api/ingest/{slot_id}",
        content=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )


def assert_on_the_studio_backdrop(response: httpx.Response) -> None:
    """Where the portrait's wall and props were, the result is the backdrop (cover-cropped)."""
    assert response.status_code == 200, response.text
    result = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=float)
    before = np.asarray(data.astronaut(), dtype=float)
    backdrop = ImageOps.fit(Image.open(DEFAULT_BACKDROP).convert("RGB"), (512, 512))
    expected = np.asarray(backdrop, dtype=float)
    for left, top, right, bottom in BACKDROP_BOXES:
        box = (slice(top, bottom), slice(left, right))
        assert np.abs(result[box] - expected[box]).mean() < 8  # JPEG noise only
        assert np.abs(result[box] - before[box]).mean() > 20


def attempts(server, job_id: str) -> list[tuple[str, str]]:
    script = (
        "import json; from ingest.models import JobHistory; "
        f"print(json.dumps(JobHistory.objects.get(pk='{job_id}').attempts))"
    )
    out = manage(server, "shell", "-c", script)
    return [(a["provider"], a["outcome"]) for a in json.loads(out.strip().splitlines()[-1])]


def test_a_fresh_install_without_keys_puts_the_person_on_the_studio_backdrop(server):
    _, live = server

    assert_on_the_studio_backdrop(upload(live, "slot-001"))


def test_a_gemini_refusal_falls_back_to_the_offline_replacement(server):
    gemini, live = server
    gemini.answers.append(gemini_no_image_answer("IMAGE_SAFETY"))

    response = upload(live, "slot-002")

    assert_on_the_studio_backdrop(response)
    job_id = response.headers["x-job-id"]
    assert attempts(live, job_id) == [
        ("gemini", "safety_blocked"),
        ("local", "done"),
    ]


def test_a_hanging_gemini_is_cut_so_the_chain_answers_inside_the_window(server):
    gemini, live = server
    gemini.answers.append(HANG)
    # A new slot version: the same photo is then a new job, not a replay of the earlier one.
    manage(
        live,
        "shell",
        "-c",
        "from slots.models import Slot; Slot.objects.filter(pk='slot-002').update(version=9)",
    )

    started = time.monotonic()
    response = upload(live, "slot-002")

    assert time.monotonic() - started < 10  # the slot's window
    assert_on_the_studio_backdrop(response)
    assert attempts(live, response.headers["x-job-id"]) == [
        ("gemini", "timeout"),
        ("local", "done"),
    ]
