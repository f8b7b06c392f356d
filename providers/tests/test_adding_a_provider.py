"""Adding a provider is its module, one registry line and its tests: nothing else changes.

`mirror_provider.py` is the module; the `registered` fixture is the registry line. Everything
below runs against code that has never heard of the mirror provider.
"""

import io
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from core.runtime import set_runtime_setting
from ingest.passwords import set_ingest_password
from providers import registry
from providers.tests.mirror_provider import MirrorDriver
from slots.models import Slot

pytestmark = pytest.mark.django_db
PASSWORD = "booth-secret"


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(registry.DRIVERS, "mirror", MirrorDriver)


def photo() -> bytes:
    image = Image.new("RGB", (64, 48), (20, 20, 200))
    image.paste((250, 250, 250), (0, 0, 16, 48))  # a white stripe on the left
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_slot_takes_the_new_provider_and_its_settings(registered, staff_api):
    response = staff_api.put(
        "/api/slots/slot-003",
        {"version": 1, "provider": "mirror", "operation": "flip", "settings": {"quality": 80}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    refused = staff_api.put(
        "/api/slots/slot-003", {"version": 2, "settings": {"quality": 5}}, format="json"
    )
    assert refused.status_code == 400


def test_settings_offer_its_key_and_its_default_limit(registered, staff_api):
    staff_api.put("/api/settings", {"provider_keys": {"mirror": "m-key"}}, format="json")

    body = staff_api.get("/api/settings").json()

    assert body["provider_keys"]["mirror"]["configured"] is True
    assert body["per_provider_concurrency"]["mirror"] == 3


def test_the_staff_pages_list_it(registered, staff_client):
    assert "Зеркало" in staff_client.get("/slots/slot-001/").text


def test_a_booth_upload_is_processed_by_it(registered, client):
    set_ingest_password(raw=PASSWORD)
    Slot.objects.filter(pk="slot-003").update(provider="mirror", operation="flip")
    form = {"password": PASSWORD, "hash": "0" * 40}
    upload = SimpleUploadedFile("IMG_0001.JPG", photo(), "image/jpeg")

    refused = client.post("/api/ingest/slot-003", {**form, "fileToUpload": upload})
    set_runtime_setting(key="mirror_api_key", value="m-key")
    upload.seek(0)
    answered = client.post("/api/ingest/slot-003", {**form, "fileToUpload": upload})

    assert refused.json()["failure_reason"] == "provider_unconfigured"
    assert answered.status_code == 200
    with Image.open(io.BytesIO(answered.content)) as result:
        assert result.getpixel((4, 24))[0] < 100 < result.getpixel((60, 24))[0]


def test_it_needs_no_migration(registered):
    call_command("makemigrations", check=True, dry_run=True, stdout=StringIO())
