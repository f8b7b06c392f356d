"""The API contract: one OpenAPI 3.1 document for every route, served and committed alike,
whose version moves whenever it changes (spec/contracts/VERSION.json)."""

import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from photochanger.openapi import (
    BUMP_COMMAND,
    BUMP_HINT,
    OPENAPI_FILE,
    bumped,
    contract_problems,
    digest,
    recorded_version,
)

# Routes that are no part of the contract: the schema itself, the admin, and the staff pages.
NOT_API = re.compile(
    r"^/(api/schema/|api/docs/|admin/|login/|logout/|jsi18n/|slots/|settings/|stats/|$)"
)


def test_the_committed_contract_is_what_the_code_generates(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", file=str(generated))

    assert OPENAPI_FILE.read_bytes() == generated.read_bytes(), (
        f"spec/contracts/openapi.yaml does not match the code: {BUMP_HINT}"
    )


def test_the_contract_only_changes_with_a_version_bump():
    problems = contract_problems(OPENAPI_FILE.read_bytes(), recorded_version())

    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_served_schema_is_the_committed_contract(staff_client):
    served = staff_client.get("/api/schema/")

    assert served.status_code == 200
    assert yaml.safe_load(served.content) == yaml.safe_load(OPENAPI_FILE.read_bytes()), (
        f"/api/schema/ and spec/contracts/openapi.yaml differ: {BUMP_HINT}"
    )


def test_the_contract_command_agrees(capsys):
    call_command("contract")

    assert f"contract {recorded_version()['version']} is up to date" in capsys.readouterr().out


def test_a_changed_contract_with_the_same_version_is_caught():
    committed = OPENAPI_FILE.read_bytes()
    changed = committed.replace(b"summary: The same endpoint", b"summary: Another endpoint", 1)
    assert changed != committed

    [problem] = contract_problems(changed, recorded_version())

    assert f"its version is still {recorded_version()['version']}" in problem
    assert BUMP_COMMAND in problem


def test_a_version_raised_by_hand_without_its_digest_is_caught():
    record = recorded_version()
    committed = OPENAPI_FILE.read_bytes()
    raised = committed.replace(
        f"version: {record['version']}".encode(),
        f"version: {bumped(record['version'], 'minor')}".encode(),
        1,
    )

    [problem] = contract_problems(raised, record)

    assert "VERSION.json records" in problem and BUMP_COMMAND in problem
    assert contract_problems(raised, {**record, "sha256": digest(raised)}) == []


def test_versions_follow_semver_and_stay_1_x():
    assert (bumped("1.1.0", "patch"), bumped("1.1.3", "minor"), bumped("1.4.2", "major")) == (
        "1.1.1",
        "1.2.0",
        "2.0.0",
    )
    assert recorded_version()["version"].startswith("1.")
    assert yaml.safe_load(OPENAPI_FILE.read_bytes())["openapi"].startswith("3.1")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_route_outside_the_pages_and_the_admin_is_in_the_contract():
    documented = set(yaml.safe_load(OPENAPI_FILE.read_bytes())["paths"])
    routes = {route for route in _routes(get_resolver().url_patterns) if not NOT_API.match(route)}

    assert routes - documented == set()


@pytest.mark.django_db
def test_schema_and_its_ui_are_served_to_staff_from_local_assets(staff_client):
    schema = staff_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/slots/{slot_id}" in schema.content

    page = staff_client.get("/api/docs/").text
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
