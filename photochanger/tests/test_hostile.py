"""Hostile requests against the whole site: every failure on a machine path is a JSON 4xx/5xx.

Through Django's test client for the error handlers, and through a real server started the way
a deployment starts it (`manage.py serve`) for what happens before Django: control characters
in the path, oversized headers, malformed requests. Each case also checks that nothing was left
behind (no job, no stored file, no session).
"""

import select
import socket
import sqlite3
from pathlib import Path

import httpx
import psycopg
import pytest
from django.contrib.sessions.models import Session
from django.db import DataError, InterfaceError, OperationalError
from django.test import Client

from ingest.models import JobHistory
from ingest.tests.live_server import running_server
from media.models import MediaObject
from photochanger import errors
from slots.models import Slot

JOB = "/api/jobs/dc04b4c0-9569-46f1-9323-3553f101cbeb"  # fixed: parallel runs collect alike


@pytest.fixture
def nothing_left_behind(db, settings):
    yield
    assert not JobHistory.objects.exists()
    assert not MediaObject.objects.exists()
    assert not Session.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def refused(response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "error"
    assert body["failure_reason"] == reason
    return body


# --- Host not in ALLOWED_HOSTS -----------------------------------------------------------------


@pytest.mark.parametrize("path", [JOB, "/healthz", "/api/slots", "/public/results/x"])
def test_a_host_not_allowed_gets_json_on_machine_paths(nothing_left_behind, client, path):
    body = refused(client.get(path, HTTP_HOST="192.0.2.10"), 400, "disallowed_host")
    assert "ALLOWED_HOSTS" in body["detail"]


def test_a_booth_posting_to_an_unknown_host_gets_json_and_no_job(nothing_left_behind, client):
    response = client.post("/api/ingest/slot-001", {"password": "x"}, HTTP_HOST="10.0.0.7:8000")

    refused(response, 400, "disallowed_host")


def test_a_host_not_allowed_gets_the_html_page_on_staff_pages(nothing_left_behind, client):
    response = client.get("/login/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- error answers Django makes without a view's JSON --------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/ingest/slot-001"),
        ("get", "/ingest/slot-001"),
        ("delete", JOB),
        ("post", "/public/results/e6ba3608-5c5f-45f9-a8c8-75e031e99395"),
        ("put", "/healthz"),
    ],
)
def test_a_wrong_method_is_405_json_with_allow(nothing_left_behind, client, method, path):
    response = getattr(client, method)(path)

    refused(response, 405, "method_not_allowed")
    assert response["Allow"]
    assert response["X-Content-Type-Options"] == "nosniff"  # security headers survive
    assert response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/api/nothing-here", "not_found"),
        ("/api/jobs/", "not_found"),
        ("/public/results/not-a-uuid", "result_not_found"),
        ("/public/provider-media/not-a-uuid", "media_not_found"),
        ("/api/jobs/not-a-uuid", "job_not_found"),
    ],
)
def test_unknown_machine_paths_are_404_json(nothing_left_behind, client, path, reason):
    refused(client.get(path), 404, reason)


def test_a_csrf_failure_on_a_machine_path_is_json(nothing_left_behind):
    response = Client(enforce_csrf_checks=True).post(JOB)

    refused(response, 403, "csrf_failed")


def test_a_permission_denied_on_a_machine_path_is_json(rf):
    response = errors.permission_denied(rf.get("/api/slots"), PermissionError())

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_too_many_form_fields_are_400_json(nothing_left_behind, client):
    fields = {f"f{i}": "x" for i in range(300)}  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 200

    response = client.post("/api/login", fields)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


# --- database errors that escape a view ---------------------------------------------------------


@pytest.fixture
def raising(monkeypatch):
    def make(target: str, error: Exception):
        def fail(*args, **kwargs):
            raise error

        monkeypatch.setattr(target, fail)

    return make


@pytest.mark.parametrize(
    "error", [OperationalError("terminating connection"), InterfaceError("connection closed")]
)
def test_a_lost_database_in_an_async_view_is_503_with_retry_after(
    nothing_left_behind, raising, error
):
    raising("ingest.results.visible_job", error)

    response = Client(raise_request_exception=False).get(JOB)

    refused(response, 503, "database_unavailable")
    assert int(response["Retry-After"]) > 0


def test_a_lost_database_in_a_drf_view_is_503(nothing_left_behind, raising, staff_api):
    raising("ingest.api.slot_statuses", OperationalError("server closed the connection"))
    staff_api.raise_request_exception = False

    refused(staff_api.get("/api/slots"), 503, "database_unavailable")


def test_a_lost_database_in_a_staff_page_is_a_503_page(nothing_left_behind, raising):
    Slot.objects.filter(pk="slot-001").update(gallery_visibility="open")
    raising("ingest.views.gallery_jobs", OperationalError("server closed the connection"))

    response = Client(raise_request_exception=False).get("/public/slots/slot-001")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"]


def test_a_value_the_database_refuses_is_400_not_500(nothing_left_behind, raising):
    raising("ingest.results.visible_job", DataError("cannot contain NUL (0x00) bytes"))

    refused(Client(raise_request_exception=False).get(JOB), 400, "bad_request")


def test_any_other_error_in_a_machine_view_is_500_internal_error(nothing_left_behind, raising):
    raising("ingest.results.visible_job", RuntimeError("boom"))

    refused(Client(raise_request_exception=False).get(JOB), 500, "internal_error")


# --- /metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"REMOTE_ADDR": "203.0.113.9"}, "not_authenticated"),
        ({"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "not_authenticated"),
        ({"HTTP_AUTHORIZATION": "Bearer wrong-token"}, "invalid_token"),
        ({"HTTP_AUTHORIZATION": "Basic c2VyZzpwYXNz"}, "invalid_token"),
        ({"HTTP_AUTHORIZATION": "Bearer ключ"}, "invalid_token"),
        ({"HTTP_AUTHORIZATION": "Bearer "}, "invalid_token"),
    ],
    ids=["remote", "through-a-proxy", "wrong-token", "basic", "non-ascii", "empty"],
)
def test_metrics_refuses_without_credentials(
    nothing_left_behind, client, settings, headers, reason
):
    settings.METRICS_TOKEN = "the-right-token"

    response = client.get("/metrics", **headers)

    refused(response, 401, reason)
    assert response["WWW-Authenticate"] == "Bearer"


def test_metrics_answers_the_token_from_anywhere(nothing_left_behind, client, settings, tmp_path):
    settings.METRICS_TOKEN = "the-right-token"
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)

    response = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer the-right-token"
    )

    assert response.status_code == 200
    assert b"photochanger_ingest_jobs_in_flight" in response.content


def test_metrics_without_a_token_set_answers_only_the_allowed_networks(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    refused(client.get("/metrics", REMOTE_ADDR="127.0.0.1"), 401, "not_authenticated")
    refused(client.get("/metrics", HTTP_AUTHORIZATION="Bearer "), 401, "invalid_token")


# --- through a real server ----------------------------------------------------------------------

SETUP = "from slots.models import Slot; Slot.objects.filter(pk='slot-001').update(is_active=True)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"METRICS_TOKEN": "live-metrics-token", "METRICS_ALLOWED_NETWORKS": "192.0.2.0/24"}
    with running_server(tmp_path_factory.mktemp("hostile"), setup=SETUP, env=env) as live:
        yield live


def server_jobs(server) -> int:
    url = server["database_url"]
    query = "SELECT COUNT(*) FROM ingest_jobhistory"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(query).fetchone()[0]
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def raw_request(port: int, head: bytes, chunk: int = 65536) -> tuple[int, dict, bytes]:
    """Send `head` in pieces, stop once the server answers, and read its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for start in range(0, len(head), chunk):
            try:
                sock.sendall(head[start : start + chunk])
            except (BrokenPipeError, ConnectionResetError):
                break
            if _readable(sock):
                break
        answer = b""
        try:
            while chunk_read := sock.recv(65536):
                answer += chunk_read
        except (ConnectionResetError, TimeoutError):
            pass
    assert answer, "the server closed the connection without an answer"
    status_head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = status_head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/jobs/%00"),
        ("GET", "/public/results/%00"),
        ("GET", "/public/results/%00/preview"),
        ("GET", "/api/slots/%00"),
        ("POST", "/api/ingest/%00"),
        ("POST", "/ingest/slot-%00"),
        ("GET", "/api/jobs/%01%1f%7f"),
        ("GET", "/public/slots/slot-001%0d%0a"),
        ("GET", "/api/stats/overview?slot=%00"),
        ("GET", "/%00"),
    ],
)
def test_control_characters_in_the_path_are_a_json_400(server, method, path):
    response = httpx.request(method, server["base"] + path, content=b"")

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["failure_reason"] == "bad_request"
    assert server_jobs(server) == 0


@pytest.mark.e2e
def test_an_8_mb_request_header_is_refused_before_the_app(server):
    head = (
        b"GET /healthz/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
        + b"a" * (8 * 1024 * 1024)
        + b"\r\n\r\n"
    )

    status, headers, body = raw_request(server["port"], head)

    assert status == 431
    assert headers["content-type"] == "application/json"
    assert b'"failure_reason": "headers_too_large"' in body
    assert httpx.get(server["base"] + "/healthz/live").status_code == 200  # still serving


@pytest.mark.e2e
def test_a_head_just_over_the_limit_is_refused_even_in_one_read(server):
    response = httpx.get(server["base"] + "/healthz/live", headers={"X-Padding": "a" * 70_000})

    assert response.status_code == 431
    assert response.json()["failure_reason"] == "headers_too_large"


@pytest.mark.e2e
def test_headers_under_the_limit_are_served(server):
    response = httpx.get(server["base"] + "/healthz/live", headers={"X-Padding": "a" * 32_000})

    assert response.status_code == 200


@pytest.mark.e2e
def test_a_malformed_request_line_is_a_json_400(server):
    status, headers, body = raw_request(server["port"], b"GET /x HTTP/1.1 junk\r\n\r\n")

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert b'"failure_reason": "bad_request"' in body


@pytest.mark.e2e
def test_a_booth_using_an_address_not_in_allowed_hosts_gets_json(server):
    response = httpx.post(
        server["base"] + "/api/ingest/slot-001",
        headers={"Host": "192.168.1.50:8000"},
        files={"fileToUpload": ("IMG_0003.JPG", b"not really", "image/jpeg")},
        data={"password": "x", "hash": "0"},
    )

    assert response.status_code == 400
    assert response.json()["failure_reason"] == "disallowed_host"
    assert server_jobs(server) == 0


@pytest.mark.e2e
def test_metrics_through_the_server_wants_the_token(server):
    base = server["base"]

    refused_answer = httpx.get(base + "/metrics")
    allowed = httpx.get(base + "/metrics", headers={"Authorization": "Bearer live-metrics-token"})

    assert refused_answer.status_code == 401
    assert refused_answer.json()["failure_reason"] == "not_authenticated"
    assert allowed.status_code == 200


@pytest.mark.e2e
def test_the_server_does_not_name_itself(server):
    assert "server" not in httpx.get(server["base"] + "/healthz/live").headers


@pytest.mark.e2e
def test_pages_carry_a_content_security_policy(server):
    page = httpx.get(server["base"] + "/login/")

    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
