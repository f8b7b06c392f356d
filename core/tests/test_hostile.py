"""Hostile input against the staff sign-in: the JSON login, token refresh, tokens, the login page.

Every case asserts the status, the JSON `failure_reason`, and that nothing was left behind: no
session, no user, no token that works.
"""

import json
from datetime import timedelta

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core.tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db
LOGIN, REFRESH = "/api/login", "/api/token/refresh"


@pytest.fixture
def serg():
    return StaffFactory(username="serg")


@pytest.fixture
def nothing_left_behind(serg):
    """After the test: no session, and the only account is serg's, unchanged."""
    password_hash = serg.password
    yield
    assert not Session.objects.exists()
    assert list(get_user_model().objects.values_list("username", "password")) == [
        ("serg", password_hash)
    ]


def post_raw(path: str, body: bytes | str, content_type: str = "application/json"):
    return APIClient().generic("POST", path, body, content_type=content_type)


def refused(response, status: int, reason: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["failure_reason"] == reason


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        ("{not json", "application/json", 400, "bad_request"),
        (b'{"username": "serg", "password": "\xff\xfe"}', "application/json", 400, "bad_request"),
        ("[1, 2, 3]", "application/json", 400, "validation_error"),
        ('"just a string"', "application/json", 400, "validation_error"),
        ("null", "application/json", 400, "validation_error"),
        ("", "application/json", 400, "validation_error"),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400, "bad_request"),
        ('{"username": {"$ne": 1}, "password": "x"}', "application/json", 400, "validation_error"),
        ('{"username": ["serg"], "password": "x"}', "application/json", 400, "validation_error"),
        ('{"username": "serg"}', "application/json", 400, "validation_error"),
        (
            '{"username": "serg\\u0000", "password": "x"}',
            "application/json",
            400,
            "validation_error",
        ),
        (
            '{"username": "serg", "password": "a\\u0000b"}',
            "application/json",
            400,
            "validation_error",
        ),
        ("username=serg&password=x", "text/plain", 415, "unsupported_media_type"),
        (
            "<login><username>serg</username></login>",
            "application/xml",
            415,
            "unsupported_media_type",
        ),
    ],
    ids=[
        "truncated-json",
        "invalid-utf8",
        "array",
        "string",
        "null",
        "empty-body",
        "deeply-nested",
        "object-as-username",
        "list-as-username",
        "missing-password",
        "nul-in-username",
        "nul-in-password",
        "text-plain",
        "xml",
    ],
)
def test_login_refuses_malformed_bodies_in_json(
    nothing_left_behind, body, content_type, status, reason
):
    refused(post_raw(LOGIN, body, content_type), status, reason)


def test_login_refuses_a_huge_username_without_looking_it_up(nothing_left_behind):
    body = json.dumps({"username": "u" * 1_000_000, "password": "x"})

    refused(post_raw(LOGIN, body), 400, "validation_error")


def test_login_refuses_a_body_over_djangos_memory_cap(nothing_left_behind):
    body = json.dumps({"username": "serg", "password": "p" * 3_000_000})

    response = post_raw(LOGIN, body)

    assert response.status_code in (400, 413)
    assert response.json()["failure_reason"] in ("bad_request", "payload_too_large")


def test_login_refuses_get_with_405_in_json(nothing_left_behind):
    refused(APIClient().get(LOGIN), 405, "method_not_allowed")


def test_login_with_a_wrong_password_gives_no_token(nothing_left_behind):
    refused(
        post_raw(LOGIN, json.dumps({"username": "serg", "password": "x"})),
        401,
        "invalid_credentials",
    )


@pytest.mark.parametrize(
    "header",
    ["Bearer ", "Bearer not.a.jwt", "Bearer a.b.c", "Bearer " + "A" * 20_000, "Token abc"],
    ids=["empty", "garbage", "three-garbage-parts", "huge", "other-scheme"],
)
def test_staff_api_refuses_bad_authorization_headers(nothing_left_behind, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/slots")

    assert response.status_code in (401, 403)
    assert response.json()["failure_reason"] in (
        "token_not_valid",
        "not_authenticated",
        "invalid_token",
    )


def test_a_token_signed_with_another_key_is_refused(nothing_left_behind, serg):
    payload = AccessToken.for_user(serg).payload
    forged = jwt.encode(payload, "another-signing-key-" + "x" * 40, algorithm="HS256")

    refused(bearer(forged).get("/api/slots"), 401, "token_not_valid")


def test_an_expired_access_token_is_refused(nothing_left_behind, serg):
    token = AccessToken.for_user(serg)
    token.set_exp(lifetime=-timedelta(seconds=1))

    refused(bearer(token).get("/api/slots"), 401, "token_not_valid")


def test_a_refresh_token_is_no_access_token(nothing_left_behind, serg):
    refused(bearer(RefreshToken.for_user(serg)).get("/api/slots"), 401, "token_not_valid")


def test_an_access_token_cannot_be_refreshed(nothing_left_behind, serg):
    access = str(AccessToken.for_user(serg))

    refused(APIClient().post(REFRESH, {"refresh": access}, format="json"), 401, "token_not_valid")


@pytest.mark.parametrize(
    "body",
    ["{", "[]", '{"refresh": 12}', '{"refresh": ""}', '{"refresh": "a\\u0000b"}'],
    ids=["truncated", "array", "number", "empty", "nul"],
)
def test_refresh_refuses_malformed_bodies(nothing_left_behind, body):
    response = post_raw(REFRESH, body)

    assert response.status_code in (400, 401)
    assert response.json()["failure_reason"] in (
        "bad_request",
        "validation_error",
        "token_not_valid",
    )


def test_a_password_change_revokes_refresh_and_access_tokens(serg):
    tokens = (
        APIClient().post(LOGIN, {"username": "serg", "password": PASSWORD}, format="json").json()
    )
    serg.set_password("a-new-password-for-serg")
    serg.save()

    refused(
        APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json"),
        401,
        "token_revoked",
    )
    refused(bearer(tokens["access"]).get("/api/slots"), 401, "invalid_token")
    assert not Session.objects.exists()


def test_deactivating_staff_revokes_refresh_and_access_tokens(serg):
    refresh = RefreshToken.for_user(serg)
    serg.is_active = False
    serg.save()

    refused(
        APIClient().post(REFRESH, {"refresh": str(refresh)}, format="json"), 401, "token_revoked"
    )
    refused(bearer(refresh.access_token).get("/api/slots"), 401, "invalid_token")
    assert not Session.objects.exists()


def test_revoked_tokens_are_refused_by_the_async_endpoints_too(serg):
    access = RefreshToken.for_user(serg).access_token
    serg.set_password("a-new-password-for-serg")
    serg.save()

    response = bearer(access).post("/api/slots/slot-001/test-run")

    refused(response, 401, "not_authenticated")


def test_removing_staff_rights_revokes_refresh(serg):
    refresh = RefreshToken.for_user(serg)
    serg.is_staff = False
    serg.save()

    refused(
        APIClient().post(REFRESH, {"refresh": str(refresh)}, format="json"), 401, "token_revoked"
    )
    refused(bearer(refresh.access_token).get("/api/slots"), 403, "forbidden")


def test_the_refresh_token_of_a_deleted_user_is_refused_not_a_500(serg):
    refresh = str(RefreshToken.for_user(serg))
    serg.delete()

    refused(APIClient().post(REFRESH, {"refresh": refresh}, format="json"), 401, "token_revoked")
    assert not get_user_model().objects.exists()


def test_tokens_issued_before_a_password_change_in_the_admin_stop_working(serg, client):
    refresh = RefreshToken.for_user(serg)
    client.force_login(StaffFactory(username="igor", is_superuser=True))
    page = client.post(
        f"/admin/auth/user/{serg.pk}/password/",
        {"password1": "brand-new-password-9", "password2": "brand-new-password-9"},
    )

    assert page.status_code == 302
    refused(
        APIClient().post(REFRESH, {"refresh": str(refresh)}, format="json"), 401, "token_revoked"
    )


# --- the login page (people: HTML answers, but never a 500 and never a session) -------------


@pytest.mark.parametrize(
    ("username", "password"),
    [("serg\x00", PASSWORD), ("u" * 100_000, PASSWORD), ("serg", "x" * 100_000), ("", "")],
    ids=["nul", "huge-username", "huge-password", "empty"],
)
def test_login_page_refuses_hostile_fields_with_its_form(
    nothing_left_behind, client, username, password
):
    response = client.post("/login/", {"username": username, "password": password})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_a_username_longer_than_the_column_is_a_form_error_not_a_500(
    nothing_left_behind, client, path
):
    response = client.post(path, {"username": "u" * 300, "password": PASSWORD})

    assert response.status_code == 200
    assert "username" in response.context["form"].errors


def test_login_page_without_csrf_token_is_403_html(nothing_left_behind):
    response = Client(enforce_csrf_checks=True).post(
        "/login/", {"username": "serg", "password": PASSWORD}
    )

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_login_page_answers_a_nul_in_the_query_string(nothing_left_behind, client):
    response = client.get("/login/", {"next": "/\x00"})

    assert response.status_code in (200, 400)
