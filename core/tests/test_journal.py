"""Runtime settings, the ingest password and provider keys are journaled; secrets never in clear."""

import json

import pytest
from auditlog.models import LogEntry
from django.core import serializers

from core.journal import entries_for_model
from core.models import RuntimeSetting
from core.runtime import set_runtime_setting

pytestmark = pytest.mark.django_db
PASSWORD, KEY = "a-new-booth-password", "AIzaSyD-journal-test-key-0123456789"


def whole_journal() -> str:
    return serializers.serialize("json", LogEntry.objects.all())


def changes_by_key() -> dict[str, list]:
    entries = entries_for_model(RuntimeSetting).order_by("timestamp", "id")
    return {key: value for entry in entries for key, value in entry.changes.items()}


def test_a_plain_setting_is_journaled_from_its_effective_old_value(staff_user):
    set_runtime_setting(key="sync_response_seconds", value=30, user=staff_user)

    [entry] = entries_for_model(RuntimeSetting)
    assert entry.changes == {"sync_response_seconds": [48, 30]}
    assert (entry.actor, entry.object_pk) == (staff_user, "sync_response_seconds")


def test_secrets_are_journaled_as_set_changed_or_removed_never_by_value(staff_api):
    staff_api.put(
        "/api/settings",
        {"ingest_password": PASSWORD, "provider_keys": {"gemini": KEY}},
        format="json",
    )
    staff_api.put("/api/settings", {"provider_keys": {"gemini": KEY + "2"}}, format="json")
    staff_api.put("/api/settings", {"provider_keys": {"gemini": ""}}, format="json")

    history = staff_api.get("/api/settings/history").json()
    gemini = [e["changes"]["gemini_api_key"] for e in history if e["object"] == "gemini_api_key"]
    assert gemini == [["(set)", "(removed)"], ["(set)", "(changed)"], ["(not set)", "(set)"]]
    assert changes_by_key()["ingest_password_hash"] == ["(not set)", "(set)"]
    stored = whole_journal()
    for secret in (PASSWORD, KEY, "fernet", "md5$", "pbkdf2"):
        assert secret not in stored


def test_an_admin_change_to_a_secret_is_journaled_masked(admin_client, admin_user):
    admin_client.post("/admin/core/runtimesetting/turbotext_api_key/change/", {"value": KEY})

    [entry] = entries_for_model(RuntimeSetting)
    assert (entry.actor, entry.changes) == (
        admin_user,
        {"turbotext_api_key": ["(not set)", "(set)"]},
    )
    assert KEY not in whole_journal()


def test_the_settings_history_api_is_staff_only(user_api, client):
    assert client.get("/api/settings/history").status_code == 401
    assert user_api.get("/api/settings/history").status_code == 403


def test_the_admin_lists_the_journal(admin_client):
    set_runtime_setting(key="result_ttl_hours", value=24)

    page = admin_client.get("/admin/auditlog/logentry/")

    assert page.status_code == 200
    assert "result_ttl_hours" in page.text
    history = admin_client.get("/admin/core/runtimesetting/result_ttl_hours/auditlog/")
    assert history.status_code == 200
    assert json.dumps(24) in history.text
