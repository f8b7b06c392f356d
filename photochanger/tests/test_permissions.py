"""Every staff route, found by walking the URL resolver, refuses anonymous and non-staff users.

A new route under /api/ is staff-only unless its name is in PUBLIC_API_ROUTES below, so an
unprotected one cannot slip in unnoticed.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PUBLIC_API_ROUTES = {
    "ingest",  # the booth's password decides
    "job-status",  # unguessable job ids
    "api-login",
    "api-token-refresh",
}
STAFF_PAGES = {"dashboard", "slot-page", "settings-page", "stats-page"}
METHODS = ("get", "post", "put", "patch", "delete")


def routes(patterns=None, prefix=""):
    """(route, name) of every URL pattern in the project."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def concrete(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "slot-001", route)


STAFF_API = sorted(
    route for route, name in routes() if route.startswith("api/") and name not in PUBLIC_API_ROUTES
)
PAGES = {name: route for route, name in routes() if name in STAFF_PAGES}


def test_the_audit_sees_the_routes_it_must_cover():
    assert {
        "api/slots",
        "api/slots/<str:slot_id>",
        "api/slots/<str:slot_id>/test-run",
        "api/settings",
        "api/stats/overview",
        "api/template-media/register",
        "api/media/register",
        "api/schema/",
    } <= set(STAFF_API)
    assert set(PAGES) == STAFF_PAGES


@pytest.mark.parametrize("route", STAFF_API)
def test_staff_api_route_answers_401_without_a_token(route):
    statuses = {m: getattr(APIClient(), m)(concrete(route)).status_code for m in METHODS}

    assert set(statuses.values()) <= {401, 405}, statuses
    assert 401 in statuses.values()


@pytest.mark.parametrize("route", STAFF_API)
def test_staff_api_route_answers_403_to_a_user_without_staff_rights(route, user_api):
    statuses = {m: getattr(user_api, m)(concrete(route)).status_code for m in METHODS}

    assert set(statuses.values()) <= {403, 405}, statuses
    assert 403 in statuses.values()


@pytest.mark.parametrize("route", sorted(PAGES.values()))
def test_staff_pages_send_anonymous_and_non_staff_users_to_login(route, client, django_user_model):
    assert client.get(concrete(route))["Location"].startswith("/login/")

    client.force_login(django_user_model.objects.create_user("visitor", password="x-123456789"))
    assert client.get(concrete(route))["Location"].startswith("/login/")


def test_admin_is_closed_to_non_staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("visitor", password="x-123456789"))

    assert client.get("/admin/")["Location"].startswith("/admin/login/")
