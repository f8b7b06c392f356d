from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from rest_framework.test import APIClient
from structlog.testing import capture_logs

from core.auth import check_trusted_proxies
from core.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/api/login"


def login(username, password, ip="203.0.113.7", client=None):
    client = client or APIClient()
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail_times(count, username="serg", ip="203.0.113.7"):
    for _ in range(count):
        response = login(username, "wrong password", ip=ip)
    return response


def test_login_returns_a_token_pair_that_opens_the_staff_api():
    StaffFactory(username="serg")

    response = login("serg", PASSWORD)

    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get("/api/slots").status_code == 200


def test_refresh_token_gives_a_new_access_token():
    StaffFactory(username="serg")
    refresh = login("serg", PASSWORD).json()["refresh"]

    response = APIClient().post("/api/token/refresh", {"refresh": refresh})

    assert response.status_code == 200
    assert response.json()["access"]


def test_refresh_refuses_a_forged_token():
    response = APIClient().post("/api/token/refresh", {"refresh": "not.a.token"})

    assert response.status_code == 401
    assert response.json()["failure_reason"] == "token_not_valid"


def test_login_refuses_a_wrong_password():
    StaffFactory(username="serg")

    response = login("serg", "nope")

    assert response.status_code == 401
    assert response.json() == {
        "status": "error",
        "failure_reason": "invalid_credentials",
        "detail": "wrong username or password",
    }


def test_login_refuses_an_account_without_staff_rights():
    UserFactory(username="visitor")

    assert login("visitor", PASSWORD).status_code == 401


def test_login_without_a_password_gets_field_errors():
    response = APIClient().post(LOGIN, {"username": "serg"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["password"]


def test_tenth_failure_locks_the_account_and_the_right_password_is_refused_then():
    StaffFactory(username="serg")
    assert fail_times(9).status_code == 401

    tenth = fail_times(1)
    assert tenth.status_code == 429

    response = login("serg", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response.json()["failure_reason"] == "throttled"


def test_lockout_by_username_holds_from_another_address():
    StaffFactory(username="serg")
    fail_times(10, ip="203.0.113.7")

    assert login("serg", PASSWORD, ip="198.51.100.20").status_code == 429


def test_lockout_by_address_holds_for_another_username():
    StaffFactory(username="igor")
    for number in range(10):
        login(f"guess{number}", "wrong", ip="203.0.113.7")

    assert login("igor", PASSWORD, ip="203.0.113.7").status_code == 429
    assert login("igor", PASSWORD, ip="198.51.100.20").status_code == 200


def test_lockout_ends_after_fifteen_minutes():
    StaffFactory(username="serg")
    fail_times(10)
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=15, seconds=1)
        attempt.save()

    assert login("serg", PASSWORD).status_code == 200


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(settings):
    StaffFactory(username="igor")
    client = APIClient(HTTP_X_FORWARDED_FOR="192.0.2.99")
    for number in range(10):
        login(f"guess{number}", "wrong", ip="203.0.113.7", client=client)

    # A different forged header does not give the same peer a fresh address...
    other = APIClient(HTTP_X_FORWARDED_FOR="192.0.2.100")
    assert login("igor", PASSWORD, ip="203.0.113.7", client=other).status_code == 429
    # ...but behind a trusted proxy the forwarded client address is what counts.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxied = APIClient(HTTP_X_FORWARDED_FOR="192.0.2.100")
    assert login("igor", PASSWORD, ip="10.0.0.2", client=proxied).status_code == 200


def test_logins_are_logged_with_reason_and_address_but_never_the_password():
    StaffFactory(username="serg")
    with capture_logs() as logs:
        login("serg", "hunter2-wrong")
        fail_times(9)
        login("serg", PASSWORD)
    with capture_logs() as success_logs:
        AccessAttempt.objects.all().delete()
        login("serg", PASSWORD)

    failures = [e for e in logs if e["event"] == "auth.login.failure"]
    assert failures[0] == {
        "event": "auth.login.failure",
        "log_level": "warning",
        "username": "serg",
        "reason": "invalid_credentials",
        "ip": "203.0.113.7",
    }
    assert failures[-1]["reason"] == "throttled"
    assert [e["event"] for e in success_logs if e["event"].startswith("auth.")] == [
        "auth.login.success"
    ]
    assert "hunter2" not in repr(logs) and PASSWORD not in repr(logs + success_logs)


def test_a_malformed_trusted_proxy_is_a_system_check_error(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.internal"]

    errors = check_trusted_proxies(None)

    assert [error.id for error in errors] == ["core.E101"]
    assert "proxy.internal" in errors[0].msg
