"""Fixtures shared by every app's tests (loaded by the root conftest): staff clients, logs."""

import io
import json
import logging
from itertools import pairwise

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.logging import formatter
from core.tests.factories import StaffFactory, UserFactory


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def staff_user(db):
    return StaffFactory(username="serg")


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return bearer_client(staff_user)


@pytest.fixture
def user_api(db) -> APIClient:
    """A logged-in account without staff rights."""
    return bearer_client(UserFactory())


@pytest.fixture
def staff_client(client, staff_user):
    """Django's test client with a staff session, as the pages use it."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def json_lines():
    """Everything logged during the test, rendered exactly as production renders it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=True))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.fixture
def sqlite_query_plans(db):
    """`plans(call)`: SQLite's plan for each statement `call()` runs, with its bound parameters.

    SQLite plans without table statistics, by the indexes' shape alone: a test can hold it to
    the index a query needs. PostgreSQL plans by statistics, so such tests skip there.
    """
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its table statistics, not by the indexes' shape")

    def plans(call) -> list[str]:
        executed = []

        def noting(execute, sql, params, many, context):
            executed.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(noting):
            call()
        found = []
        for sql, params in executed:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                found.append(" | ".join(row[-1] for row in cursor.fetchall()))
        return found

    return plans


def subquery_steps(plans: list[str]) -> list[str]:
    """What each correlated subquery in `plans` searches by: its step of the plan."""
    steps = [step for plan in plans for step in plan.split(" | ")]
    return [then for step, then in pairwise(steps) if step.startswith("CORRELATED")]
