"""End to end through a real uvicorn process, spoken to like DSLR Remote Pro does."""

import io
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import httpx
import psycopg
import pytest
from PIL import Image

from ingest.tests.conftest import jpeg_bytes
from ingest.tests.live_server import DSLR_FIELDS, BoothConnection, multipart, running_server

pytestmark = pytest.mark.e2e
# Slots the tests reconfigure inside the server's own database before it starts.
SETUP = """
from slots.models import Slot
from core.runtime import set_runtime_setting
Slot.objects.filter(pk="slot-002").update(
    operation="passthrough", settings_json={"delay_seconds": 1}
)
set_runtime_setting(key="per_slot_concurrency", value=100)
set_runtime_setting(key="per_provider_concurrency", value={"local": 100})
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"UPLOAD_READ_TIMEOUT_SECONDS": "3", "DB_POOL_MAX_SIZE": "10"}
    with running_server(tmp_path_factory.mktemp("e2e"), setup=SETUP, env=env) as live:
        yield live


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
    file_part = b'--x\r\nContent-Disposition: form-data; name="fileToUpload"; filename="a"\r\n\r\n'
    booth.sock.sendall(b"%x\r\n" % len(file_part) + file_part + b"\r\n")
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
    # Bytes after the JPEG's end make each upload distinct (identical ones would single-flight).
    photos = [jpeg_bytes(size=(64, 48)) + i.to_bytes(2, "big") for i in range(100)]
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


def test_many_identical_uploads_at_once_share_one_job_without_starving_the_pool(server):
    """Followers of a running job wait without a connection; the leader can still finish."""
    photo = jpeg_bytes(size=(64, 48), color=(5, 5, 5)) + b"same-shot"

    def upload(_: int) -> httpx.Response:
        content_type, body = multipart(DSLR_FIELDS, photo)
        return httpx.post(
            f"{server['base']}/api/ingest/slot-002",
            content=body,
            headers={"Content-Type": content_type},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(upload, range(40)))

    assert [r.status_code for r in responses] == [200] * 40
    assert len({r.headers["x-job-id"] for r in responses}) == 1


def test_one_idempotency_key_sent_with_twenty_photos_at_once_runs_one_job(server):
    """The key's first use is decided by the database: one job, the others told it is reused."""
    photos = [jpeg_bytes(size=(64, 48), color=(i * 12, 9, 9)) for i in range(20)]
    assert len(set(photos)) == 20

    def upload(photo: bytes) -> httpx.Response:
        content_type, body = multipart(DSLR_FIELDS, photo)
        return httpx.post(
            f"{server['base']}/api/ingest/slot-002",
            content=body,
            headers={"Content-Type": content_type, "Idempotency-Key": "constant-key"},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(upload, photos))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [422] * 19
    refused = [r.json()["failure_reason"] for r in responses if r.status_code == 422]
    assert set(refused) == {"idempotency_key_reused"}
    assert _jobs_with_key(server, "constant-key") == 1


def _jobs_with_key(server, key: str) -> int:
    query = "SELECT count(*) FROM ingest_jobhistory WHERE idempotency_key = %s"
    if server["pg_name"]:
        with psycopg.connect(server["database_url"]) as conn:
            return conn.execute(query, [key]).fetchone()[0]
    path = server["database_url"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query.replace("%s", "?"), [key]).fetchone()[0]
