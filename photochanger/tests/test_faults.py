"""Faults of a live event, through real servers: a database restart, a killed worker.

A database restart costs at most the requests in flight at that instant, and those get a JSON
503, never a 500. A job whose worker is SIGKILLed mid-provider-call is ended, and its seats
freed, by another worker's periodic sweep, without anyone reading it.
"""

import contextlib
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable

import httpx
import psycopg
import pytest

from ingest.tests.conftest import jpeg_bytes
from ingest.tests.live_server import DSLR_FIELDS, multipart, running_server

pytestmark = pytest.mark.e2e
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
SETUP = """
from slots.models import Slot
from core.runtime import set_runtime_setting
Slot.objects.filter(pk="slot-002").update(
    operation="passthrough", settings_json={"delay_seconds": 60}
)
set_runtime_setting(key="per_slot_concurrency", value=1)
"""


def wait_until(condition: Callable[[], bool], seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.1)


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Read or write the server's own database from the test, on either engine."""
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            rows = conn.execute(sql.replace("%s", "?"), params).fetchall()
            conn.commit()
            return rows
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def upload(base: str, slot: str = "slot-001", seed: int = 0, timeout: float = 60) -> httpx.Response:
    photo = jpeg_bytes(color=(seed % 256, (seed * 7) % 256, 90))  # a new photo: no replay
    content_type, body = multipart(DSLR_FIELDS, photo)
    return httpx.post(
        f"{base}/api/ingest/{slot}",
        content=body,
        headers={"Content-Type": content_type},
        timeout=timeout,
    )


# --- the database goes away -----------------------------------------------------------------


def admin_url(database_url: str) -> str:
    return database_url.rsplit("/", 1)[0] + "/postgres"


def terminate_backends(database_url: str, name: str) -> int:
    """What a restart or fail-over does to the app's connections: they are cut."""
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


def allow_connections(database_url: str, name: str, allowed: bool) -> None:
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')


def machine_requests(base: str, round_: int) -> list[httpx.Response]:
    return [
        upload(base, seed=round_),
        httpx.get(f"{base}/api/jobs/{uuid.uuid4()}", timeout=30),
        httpx.get(f"{base}/healthz", timeout=30),
        httpx.get(f"{base}/public/slots/slot-001", timeout=30),
    ]


def assert_no_500(response: httpx.Response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.text[:300]
    path = response.request.url.path
    if response.status_code != 503 or path == "/healthz":  # /healthz has its own body
        return
    assert int(response.headers["retry-after"]) > 0
    if path.startswith("/public/slots/"):  # a page for people: HTML
        assert response.headers["content-type"].startswith("text/html")
        return
    assert response.headers["content-type"] == "application/json"
    assert response.json()["failure_reason"] == "database_unavailable"


@pytest.fixture
def pg_server(request, tmp_path):
    """A server on PostgreSQL; `pool_timeout` (indirect) is how long a request waits for it."""
    if not ON_POSTGRES:
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    env = {
        "DB_POOL_MIN_SIZE": "4",
        "DB_POOL_MAX_SIZE": "8",
        "DB_POOL_TIMEOUT_SECONDS": str(getattr(request, "param", 30)),
    }
    with running_server(tmp_path, setup=SETUP, env=env) as server:
        yield server


def test_a_database_restart_between_requests_costs_no_request(pg_server):
    base, url, name = pg_server["base"], pg_server["database_url"], pg_server["pg_name"]
    for round_ in range(2):  # every pooled connection has been used
        normal = [r.status_code for r in machine_requests(base, round_)]
    assert normal[:3] == [200, 404, 200]

    assert terminate_backends(url, name) >= 1

    answers = [r for round_ in range(2, 12) for r in machine_requests(base, round_)]
    for response in answers:
        assert_no_500(response)
    # Health-checked connections: nothing was in flight, so nothing failed.
    assert [r.status_code for r in answers] == normal * 10


@pytest.mark.parametrize("pg_server", [2], indirect=True)  # give up on the pool after 2 s
def test_while_the_database_is_away_answers_are_503_then_it_recovers(pg_server):
    base, url, name = pg_server["base"], pg_server["database_url"], pg_server["pg_name"]
    assert upload(base, seed=1).status_code == 200
    allow_connections(url, name, False)
    try:
        terminate_backends(url, name)
        answers = machine_requests(base, 2)
        health = answers[2].json()
    finally:
        allow_connections(url, name, True)

    for response in answers:
        assert_no_500(response)
    assert [r.status_code for r in answers] == [503, 503, 503, 503]
    assert health["checks"]["database"]["status"] == "fail"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, what="recovery")
    assert upload(base, seed=3).status_code == 200


# --- a worker dies mid-job --------------------------------------------------------------------


def job_state(url: str) -> list[tuple]:
    return query(url, "SELECT job_id, status FROM ingest_jobhistory WHERE slot_id = 'slot-002'")


def held_seats(url: str) -> int:
    sql = "SELECT COUNT(*) FROM ingest_concurrencylease WHERE job_id IS NOT NULL"
    return query(url, sql)[0][0]


def upload_until_cut(base: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the worker is killed while it waits
        upload(base, "slot-002")


def test_a_killed_workers_job_is_ended_by_another_workers_sweep(tmp_path):
    env = {"RECONCILE_INTERVAL_SECONDS": "1"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_server(tmp_path / "a", setup=SETUP, env=env) as first:
        url = first["database_url"]
        booth = threading.Thread(target=upload_until_cut, args=(first["base"],), daemon=True)
        booth.start()
        wait_until(lambda: held_seats(url) == 2, what="the job holds its slot and provider seats")
        first["process"].send_signal(signal.SIGKILL)  # mid provider call: nothing ends the job
        first["process"].wait(timeout=30)
        [(job_id, status)] = job_state(url)
        assert status == "processing"

        with running_server(tmp_path / "b", setup=SETUP, env=env, database_url=url) as second:
            # Started while the job is inside its window: start-up leaves it alone. Then the
            # clock jumps past its deadline and grace (the seats' own leases still hold).
            assert job_state(url) == [(job_id, "processing")]
            query(
                url,
                "UPDATE ingest_jobhistory SET deadline_at = started_at - interval '1 minute'"
                if url.startswith("postgres")
                else "UPDATE ingest_jobhistory SET deadline_at = datetime('now', '-1 minute')",
            )
            wait_until(
                lambda: job_state(url)[0][1] != "processing",
                seconds=30,
                what="the periodic sweep ends the job",
            )
            assert job_state(url) == [(job_id, "failed")]
            assert held_seats(url) == 0
            # The sweep logs what it ended just after the job's row changed: wait for the line.
            second_log = tmp_path / "b" / f"server-{second['port']}.log"
            wait_until(
                lambda: "reconcile.overdue_jobs" in second_log.read_text(),
                seconds=30,
                what="the sweep logs the job it ended",
            )
        booth.join(timeout=30)
