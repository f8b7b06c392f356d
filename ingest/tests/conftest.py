import asyncio
import io
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from ingest import passwords
from ingest.passwords import set_ingest_password
from providers.base import ProviderDriver, ProviderJob, ProviderResult

PASSWORD = "booth-secret"


def jpeg_bytes(size=(320, 240), color=(40, 150, 200), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, color)
    image.paste((250, 250, 250), (0, 0, size[0] // 4, size[1] // 4))  # marks the top-left
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def shot_form(data: bytes, *, password: str = PASSWORD, hash_: str = "0" * 40, **extra) -> dict:
    """The fields DSLR Remote Pro sends (DESIGN.md §3), Windows paths included."""
    return {
        "time": "1758217512",
        "user_id": "Acer",
        "id": "CY04N068111304S2L_00000001.",
        "profile": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\setup_Serg.xml",
        "status": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\screenSerg\\preview.jpg",
        "name": "DESKTOP-K968T3F",
        "model": "Windows",
        "version": "3.30.2",
        "hash": hash_,
        "password": password,
        "fileToUpload": SimpleUploadedFile("IMG_0003.JPG", data, "image/jpeg"),
        **extra,
    }


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in Path(media_root).rglob("*") if p.is_file()]


class FakeDriver(ProviderDriver):
    """A provider whose behaviour a test scripts; it records calls and cancellation."""

    name = "local"
    operations = ("filter", "frame", "passthrough")
    settings_schema: dict = {}
    requires_api_key = False

    def __init__(self):
        self.calls = 0
        self.cancelled = False
        self.started = threading.Event()
        self.behaviour: Callable[[ProviderJob], Awaitable[ProviderResult]] = self.answer_png

    async def process(self, job: ProviderJob) -> ProviderResult:
        self.calls += 1
        self.started.set()
        try:
            return await self.behaviour(job)
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    @staticmethod
    async def answer_png(job: ProviderJob) -> ProviderResult:
        out = io.BytesIO()
        Image.new("RGBA", (256, 192), (15, 134, 108, 255)).save(out, "PNG")
        return ProviderResult(out.getvalue(), "image/png")


@pytest.fixture
def ingest_password():
    # Database access comes from the test's django_db mark (plain or transactional).
    set_ingest_password(raw=PASSWORD)
    return PASSWORD


@pytest.fixture
def fake_provider(monkeypatch):
    driver = FakeDriver()
    monkeypatch.setattr("ingest.calls.get_driver", lambda name: driver)
    return driver


@pytest.fixture(autouse=True)
def _fresh_password_checks():
    """Each test starts without remembered verdicts or failures (they live in the process)."""
    passwords.forget_verdicts()
    yield
    passwords.forget_verdicts()
