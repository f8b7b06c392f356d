"""Two PhotoChanger servers as on two machines: each its own process and local folders, one
PostgreSQL database and one bucket between them, and they behave as one system."""

import os
import threading

import httpx
import psycopg
import pytest

from ingest.tests.conftest import jpeg_bytes
from ingest.tests.live_server import DSLR_FIELDS, manage, multipart, running_server, wait_until
from media.tests.s3 import StorageUnderTest, new_bucket

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="several machines share PostgreSQL; SQLite is one machine's file",
    ),
]
# slot-002 and slot-003 answer after 3 s, so a second upload lands while the first one runs.
SETUP = """
from slots.models import Slot
from core.runtime import set_runtime_setting
Slot.objects.filter(pk__in=["slot-002", "slot-003"]).update(
    operation="passthrough", settings_json={"delay_seconds": 3}
)
set_runtime_setting(key="per_slot_concurrency", value=1)
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory, s3_endpoint):
    bucket = StorageUnderTest(
        "s3", tmp_path_factory.mktemp("unused"), s3_endpoint, new_bucket(s3_endpoint)
    )
    with (
        running_server(tmp_path_factory.mktemp("machine-a"), setup=SETUP, env=bucket.env()) as a,
        running_server(
            tmp_path_factory.mktemp("machine-b"),
            setup="",
            env=bucket.env(),
            database_url=a["database_url"],
        ) as b,
    ):
        yield a, b, bucket


def upload(server: dict, slot_id: str, photo: bytes) -> httpx.Response:
    content_type, body = multipart(DSLR_FIELDS, photo)
    return httpx.post(
        f"{server['base']}/api/ingest/{slot_id}",
        content=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )


def query(server: dict, sql: str, *params) -> list[tuple]:
    with psycopg.connect(server["database_url"], autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def in_background(call, *args) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(call(*args)))
    thread.start()
    return thread, answer


def test_a_shot_uploaded_through_one_machine_downloads_through_the_other(system):
    a, b, _ = system
    response = upload(a, "slot-001", jpeg_bytes(color=(10, 20, 30)))
    assert response.status_code == 200
    job_id = response.headers["x-job-id"]

    assert httpx.get(f"{b['base']}/api/jobs/{job_id}").json()["status"] == "done"
    download = httpx.get(f"{b['base']}/public/results/{job_id}")
    assert download.status_code == 200
    assert download.content == response.content


def test_an_identical_shot_sent_to_both_machines_makes_one_provider_call(system):
    a, b, _ = system
    photo = jpeg_bytes(color=(40, 50, 60)) + b"same-shot"
    running = "SELECT count(*) FROM ingest_jobhistory WHERE slot_id = %s AND status = 'processing'"
    first, answer_a = in_background(upload, a, "slot-002", photo)
    wait_until(lambda: query(a, running, "slot-002")[0][0] == 1, "A runs the shot")

    answer_b = upload(b, "slot-002", photo)  # while A's provider call is still running
    first.join(timeout=60)

    assert answer_a[0].status_code == answer_b.status_code == 200
    assert answer_a[0].headers["x-job-id"] == answer_b.headers["x-job-id"]
    assert answer_b.content == answer_a[0].content
    jobs = query(a, "SELECT count(*) FROM ingest_jobhistory WHERE slot_id = 'slot-002'")
    assert jobs[0][0] == 1  # one job, so one provider call


def test_a_slots_concurrency_limit_holds_across_both_machines(system):
    a, b, _ = system
    seated = "SELECT count(*) FROM ingest_concurrencylease WHERE scope = %s AND job_id IS NOT NULL"
    first, answer_a = in_background(upload, a, "slot-003", jpeg_bytes(color=(70, 80, 90)))
    wait_until(lambda: query(a, seated, "slot:slot-003")[0][0] == 1, "A holds slot-003's seat")

    refused = upload(b, "slot-003", jpeg_bytes(color=(91, 92, 93)))
    first.join(timeout=60)

    assert refused.status_code == 429
    assert refused.json()["failure_reason"] == "slot_busy"
    assert int(refused.headers["retry-after"]) >= 1
    assert answer_a[0].status_code == 200


def test_cleanup_from_a_third_process_deletes_what_expired_whoever_wrote_it(system, tmp_path):
    a, b, bucket = system
    responses = [upload(a, "slot-004", jpeg_bytes(color=(1, 2, 3)))]
    responses.append(upload(b, "slot-004", jpeg_bytes(color=(4, 5, 6))))
    job_ids = [r.headers["x-job-id"] for r in responses]
    stored = "SELECT count(*) FROM media_mediaobject WHERE slot_id = 'slot-004'"
    wait_until(lambda: query(a, stored)[0][0] == 4, "both previews are stored after the answers")
    query(a, "UPDATE media_mediaobject SET expires_at = now() WHERE slot_id = 'slot-004'")

    report = manage(a, "cleanup_media", "--slot", "slot-004", env={"MEDIA_ROOT": str(tmp_path)})

    assert report.startswith("expired: deleted 4 files")
    assert not [name for name in bucket.names() if name.startswith("results/slot-004/")]
    for server, job_id in zip((b, a), job_ids, strict=True):
        assert httpx.get(f"{server['base']}/public/results/{job_id}").status_code == 410
