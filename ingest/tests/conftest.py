import asyncio
import io
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from PIL import Image

from ingest import passwords
from ingest.passwords import set_ingest_password
from photochanger.asgi import application
from providers.base import Operation, ProviderDriver, ProviderJob, ProviderResult

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
    operations = {name: Operation(name) for name in ("filter", "frame", "passthrough")}
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


@dataclass
class AsgiAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    messages_read: int  # how many body messages the server took from the client

    def json(self) -> dict:
        return json.loads(self.body)


def asgi_request(
    path: str,
    body: bytes | list[bytes] = b"",
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    client: str = "10.0.0.1",
    then=None,
) -> AsgiAnswer:
    """One request through the whole ASGI application (the upload layer in front of Django),
    as uvicorn would make it. `body` as a list arrives in those chunks; with `then`, the body
    goes on after them and `then` gives the next message (a client that stalls, say)."""
    chunks = [body] if isinstance(body, bytes) else list(body)
    sent: list[dict] = []
    read = [0]

    async def receive():
        if read[0] < len(chunks):
            read[0] += 1
            more = read[0] < len(chunks) or then is not None
            return {"type": "http.request", "body": chunks[read[0] - 1], "more_body": more}
        if then is not None:
            return await then()
        await asyncio.get_running_loop().create_future()  # cancelled once answered

    async def send(message):
        sent.append(message)

    headers = dict(headers or {})
    if isinstance(body, bytes) and not {"content-length", "transfer-encoding"} & {
        name.lower() for name in headers
    }:
        headers["Content-Length"] = str(len(body))  # as any client sends with a whole body
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1", "backslashreplace"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *raw_headers],
        "client": (client, 50000),
        "server": ("testserver", 80),
    }
    # As Django's test client does: a request's end must not close the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(application)(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = {k.decode().lower(): v.decode("latin-1") for k, v in start["headers"]}
    return AsgiAnswer(start["status"], answer_headers, body_out, read[0])


BOUNDARY = "----PhotoBoothBoundary7MA4YWxk"


def form_part(
    name: str,
    value: bytes | str,
    *,
    filename: str | bytes | None = None,
    content_type: str = "image/jpeg",
    disposition_extra: bytes = b"",
) -> bytes:
    """One multipart part; `filename` as bytes is sent as such (a cp1251 name, say)."""
    head = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
    if filename is not None:
        raw = filename if isinstance(filename, bytes) else filename.encode()
        head += b'; filename="' + raw + b'"'
    head += disposition_extra
    if filename is not None:
        head += b"\r\nContent-Type: " + content_type.encode()
    value = value if isinstance(value, bytes) else value.encode()
    return b"--" + BOUNDARY.encode() + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n"


def booth_body(
    photo: bytes,
    *,
    password: str = PASSWORD,
    hash_: str = "0" * 40,
    filename: str | bytes = "IMG_0003.JPG",
    **fields,
) -> bytes:
    """The body DSLR Remote Pro sends: its text fields, then the photo, then the end."""
    parts = [
        form_part(name, value)
        for name, value in {
            "time": "1758217512",
            "user_id": "Acer",
            "hash": hash_,
            "password": password,
            **fields,
        }.items()
    ]
    parts.append(form_part("fileToUpload", photo, filename=filename))
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
