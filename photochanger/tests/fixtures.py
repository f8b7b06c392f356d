"""Clients for the staff surfaces, shared by every app's tests (loaded by the root conftest)."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from photochanger.tests.factories import StaffFactory, UserFactory


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
