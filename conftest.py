from importlib import import_module

import pytest
from django.apps import apps as django_apps

# Staff clients and users, and the storages, for every app's tests.
pytest_plugins = ["core.tests.fixtures", "media.tests.fixtures"]


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    """Fast password hashing and a throw-away media root for every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fixed_slots_after_flush(request):
    """Transactional tests flush every table, the migration's 15 slots included: restore them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        import_module("slots.migrations.0002_create_fixed_slots").create_slots(django_apps, None)
