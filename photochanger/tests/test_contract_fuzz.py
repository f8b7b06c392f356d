"""The contract tested from the outside: schemathesis drives a real uvicorn process.

Requests generated from the committed contract go to the staff API (with a JWT from /api/login)
and the public routes; every answer must have a documented status, content type, headers and
body, and none may be a 5xx. Bounded: a few examples per operation, derandomized, so a run is
the same run every time and takes well under two minutes.
"""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.tests.live_server import running_server
from photochanger.openapi import OPENAPI_FILE

pytestmark = pytest.mark.e2e
STAFF, STAFF_PASSWORD = "contract", "contract-staff-password"
SETUP = f"""
from django.contrib.auth import get_user_model
get_user_model().objects.create_user({STAFF!r}, password={STAFF_PASSWORD!r}, is_staff=True)
"""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 10

schema = schemathesis.openapi.from_path(OPENAPI_FILE)
schema.config.generation.update(
    modes=["positive"], max_examples=EXAMPLES_PER_OPERATION, deterministic=True
)
# The booth's upload and the login are driven by their own tests: generated logins would lock
# the test client's address out (django-axes), and generated uploads only meet the password.
schema = schema.exclude(operation_id=["ingest_upload", "ingest_upload_short", "login_create"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("fuzz"), setup=SETUP) as live:
        login = httpx.post(
            f"{live['base']}/api/login", json={"username": STAFF, "password": STAFF_PASSWORD}
        )
        login.raise_for_status()
        yield {**live, "headers": {"Authorization": f"Bearer {login.json()['access']}"}}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_contract(case, server):
    case.call_and_validate(base_url=server["base"], headers=server["headers"], checks=CHECKS)
