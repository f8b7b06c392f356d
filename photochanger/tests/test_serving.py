"""`manage.py serve`: uvicorn with the settings' limits, and who decides the client address."""

import uuid

import httpx
import pytest

from ingest.tests.live_server import running_server
from photochanger.serving import JsonH11Protocol, uvicorn_options


def test_serve_takes_its_limits_from_the_settings(settings):
    settings.HOST, settings.PORT, settings.WORKERS = "127.0.0.1", 9123, 3
    settings.SERVER_MAX_HEADER_BYTES = 32_768
    settings.SERVER_KEEPALIVE_SECONDS = 7
    settings.SERVER_LIMIT_CONCURRENCY = 0

    options = uvicorn_options()

    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.1", 9123, 3)
    assert options["http"] is JsonH11Protocol
    assert options["h11_max_incomplete_event_size"] == 32_768
    assert options["timeout_keep_alive"] == 7
    assert options["limit_concurrency"] is None  # 0 means no limit


def test_serve_flags_win_over_the_settings(settings):
    settings.PORT = 8000

    assert uvicorn_options(port=9000, host=None)["port"] == 9000
    assert uvicorn_options(port=9000, host=None)["host"] == settings.HOST


def test_uvicorn_never_rewrites_the_client_address_itself():
    # X-Forwarded-For is believed by core.auth.client_ip alone, from TRUSTED_PROXIES only.
    assert uvicorn_options()["proxy_headers"] is False


# --- the login lockout through a real server --------------------------------------------------

SETUP = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("serg", password="correct-horse-battery", is_staff=True)
"""


def fail_logins(base: str, count: int, *, rotate_forwarded_for: bool) -> list[int]:
    """Wrong passwords for a new username each time, so only the address lockout can hold."""
    statuses = []
    for attempt in range(count):
        headers = {"X-Forwarded-For": f"198.51.100.{attempt + 1}"} if rotate_forwarded_for else {}
        response = httpx.post(
            f"{base}/api/login",
            json={"username": f"guess-{uuid.uuid4().hex[:8]}", "password": "wrong"},
            headers=headers,
            timeout=30,
        )
        statuses.append(response.status_code)
    return statuses


@pytest.mark.e2e
def test_a_client_on_the_same_host_cannot_dodge_the_lockout_with_x_forwarded_for(tmp_path):
    with running_server(tmp_path, setup=SETUP) as server:
        statuses = fail_logins(server["base"], 11, rotate_forwarded_for=True)
        right_password = httpx.post(
            f"{server['base']}/api/login",
            json={"username": "serg", "password": "correct-horse-battery"},
            headers={"X-Forwarded-For": "198.51.100.200"},
        )

    assert statuses == [401] * 9 + [429, 429]  # the tenth failure locks
    assert right_password.status_code == 429  # the address is locked, whatever it claims
    assert right_password.json()["failure_reason"] == "throttled"


@pytest.mark.e2e
def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(tmp_path):
    with running_server(tmp_path, setup=SETUP, env={"TRUSTED_PROXIES": "127.0.0.1"}) as server:
        statuses = fail_logins(server["base"], 11, rotate_forwarded_for=True)

    assert statuses == [401] * 11
