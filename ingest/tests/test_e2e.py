"""End to end through a real uvicorn process, spoken to like DSLR Remote Pro does."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings
from PIL import Image

from ingest.tests.conftest import jpeg_bytes

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-booth-password"
BASE_DIR = Path(settings.BASE_DIR)
DSLR_FIELDS = {
    "time": "1758217512",
    "user_id": "Acer",
    "id": "CY04N068111304S2L_00000001.",
    "profile": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\setup_Serg.xml",
    "status": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\screenSerg\\preview.jpg",
    "hash": "7b6c683e1d3fd29c8701791c54e3c12a236f5a5b",
    "name": "DESKTOP-K968T3F",
    "model": "Windows",
    "version": "3.30.2",
    "password": PASSWORD,
}
# Slots the tests reconfigure inside the server's own database before it starts.
SETUP = """
from slots.models import Slot
from photochanger.runtime import set_runtime_setting
Slot.objects.filter(pk="slot-002").update(
    operation="passthrough", settings_json={"delay_seconds": 1}
)
set_runtime_setting(key="per_slot_concurrency", value=100)
set_runtime_setting(key="per_provider_concurrency", value={"local": 100})
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """A database of the server's own, on the same engine the suite runs on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path / 'e2e.sqlite3'}", None
    name = f"photochanger_e2e_{uuid.uuid4().hex[:8]}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}", name


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    database_url, pg_name = _database_url(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "e2e-" + "x" * 50,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "INGEST_PASSWORD": PASSWORD,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "UPLOAD_READ_TIMEOUT_SECONDS": "3",
        "DB_POOL_MAX_SIZE": "10",
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    for command in (["migrate", "-v0"], ["bootstrap"], ["shell", "-c", SETUP]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=BASE_DIR, capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "photochanger.asgi:application", "--port", str(port)],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, process)
    yield {"base": base, "port": port, "database_url": database_url, "pg_name": pg_name}
    process.terminate()
    process.wait(timeout=10)
    if pg_name:
        admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "uvicorn exited"
        try:
            httpx.get(f"{base}/api/jobs/{uuid.uuid4()}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("uvicorn did not start")


def multipart(fields: dict[str, str], photo: bytes) -> tuple[str, bytes]:
    boundary = "------------090306000104030805010400"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="fileToUpload"; '
        f'filename="IMG_0003.JPG"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


class BoothConnection:
    """A raw HTTP/1.1 client that waits for `100 Continue` before sending the body."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.host = f"127.0.0.1:{port}"
        self.buffer = b""

    def send_head(self, path: str, headers: dict[str, str]) -> None:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read_response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
        length = int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def test_booth_upload_with_expect_continue_returns_the_upright_edited_photo(server):
    photo = jpeg_bytes(size=(320, 240), orientation=6)  # camera held sideways
    content_type, body = multipart(DSLR_FIELDS, photo)
    booth = BoothConnection(server["port"])
    booth.send_head(
        "/api/ingest/slot-001",
        {"Content-Type": content_type, "Content-Length": str(len(body)), "Expect": "100-continue"},
    )
    status, _, _ = booth.read_response()
    assert status == 100
    booth.sock.sendall(body)
    status, headers, image = booth.read_response()
    booth.close()

    assert status == 200, image
    assert headers["content-type"] == "image/jpeg"
    assert headers["cache-control"] == "no-store"
    result = Image.open(io.BytesIO(image))
    assert result.size == (240, 320)  # turned upright by the EXIF orientation
    assert not result.getexif()
    job = httpx.get(f"{server['base']}/api/jobs/{headers['x-job-id']}").json()
    assert job["status"] == "done"
    download = httpx.get(headers["x-result-url"])
    assert download.status_code == 200
    assert download.content == image


def test_oversize_upload_is_refused_before_its_body_is_sent(server):
    booth = BoothConnection(server["port"])
    booth.send_head(
        "/ingest/slot-001",
        {
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(40 * 1024 * 1024),
            "Expect": "100-continue",
        },
    )
    status, _, body = booth.read_response()  # no body was sent at all
    booth.close()
    assert status == 413
    assert json.loads(body)["failure_reason"] == "payload_too_large"


def test_chunked_upload_without_length_is_cut_off_at_the_limit(server):
    booth = BoothConnection(server["port"])
    booth.send_head(
        "/ingest/slot-001",
        {"Content-Type": "multipart/form-data; boundary=x", "Transfer-Encoding": "chunked"},
    )
    chunk = os.urandom(1024 * 1024)
    status = None
    try:
        for _ in range(40):
            booth.sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading at the limit
    status, _, body = booth.read_response()
    booth.close()
    assert status == 413
    assert json.loads(body)["failure_reason"] == "payload_too_large"


def test_a_body_that_trickles_in_gets_408(server):
    booth = BoothConnection(server["port"])
    booth.send_head(
        "/ingest/slot-001",
        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "100000"},
    )
    booth.sock.sendall(b"--x\r\n")  # and then nothing, past the 3 s read deadline
    status, _, body = booth.read_response()
    booth.close()
    assert status == 408
    assert json.loads(body)["failure_reason"] == "request_timeout"


def test_hundred_concurrent_uploads_on_a_slow_provider_all_succeed(server):
    """Waiting uploads hold no database connection, so 100 of them fit a pool of 10."""
    photos = [jpeg_bytes(size=(64, 48), color=(i, 100, 200)) for i in range(100)]
    peak_connections = 0

    def upload(photo: bytes) -> int:
        content_type, body = multipart(DSLR_FIELDS, photo)
        response = httpx.post(
            f"{server['base']}/api/ingest/slot-002",
            content=body,
            headers={"Content-Type": content_type},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        futures = [pool.submit(upload, photo) for photo in photos]
        if server["pg_name"]:
            while not all(f.done() for f in futures):
                peak_connections = max(peak_connections, _connections_to(server))
                time.sleep(0.05)
        statuses = [f.result() for f in futures]

    assert statuses == [200] * 100
    if server["pg_name"]:
        assert 0 < peak_connections <= 10


def _connections_to(server) -> int:
    admin_url = server["database_url"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url) as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        return conn.execute(query, [server["pg_name"]]).fetchone()[0]
