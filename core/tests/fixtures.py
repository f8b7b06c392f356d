"""Fixtures shared by every app's tests (loaded by the root conftest): staff clients, logs."""

import io
import json
import logging

import pytest
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
