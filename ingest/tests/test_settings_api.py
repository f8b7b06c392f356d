import pytest
from django.contrib.auth.hashers import check_password
from rest_framework.test import APIClient

from core.models import RuntimeSetting
from core.runtime import load_runtime_settings
from ingest.passwords import set_ingest_password

pytestmark = pytest.mark.django_db
URL = "/api/settings"


def test_settings_show_defaults_and_whether_secrets_are_set(staff_api, settings):
    settings.GEMINI_API_KEY = ""
    settings.TURBOTEXT_API_KEY = "from-env"

    body = staff_api.get(URL).json()

    assert body["sync_response_seconds"] == 48
    assert body["result_ttl_hours"] == 72
    assert body["per_provider_concurrency"] == {"gemini": 10, "turbotext": 5, "local": 4}
    assert body["provider_keys"] == {
        "gemini": {"configured": False, "updated_at": None},
        "turbotext": {"configured": True, "updated_at": None},
    }
    assert "from-env" not in str(body)


def test_put_changes_plain_settings_and_records_who(staff_api, staff_user):
    response = staff_api.put(
        URL,
        {"sync_response_seconds": 30, "per_provider_concurrency": {"gemini": 3}},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["sync_response_seconds"] == 30
    config = load_runtime_settings()
    assert config.sync_response_seconds == 30
    assert config.per_provider_concurrency["gemini"] == 3
    assert RuntimeSetting.objects.get(key="sync_response_seconds").updated_by == staff_user


def test_put_rotates_the_ingest_password_and_shows_when_and_by_whom(staff_api):
    set_ingest_password(raw="old-password")

    body = staff_api.put(URL, {"ingest_password": "new-password-1"}, format="json").json()

    assert check_password("new-password-1", load_runtime_settings().ingest_password_hash)
    assert body["ingest_password_configured"] is True
    assert body["ingest_password_rotated_by"] == "serg"
    assert body["ingest_password_rotated_at"]
    assert "new-password-1" not in str(body)


def test_provider_keys_are_write_only(staff_api):
    body = staff_api.put(URL, {"provider_keys": {"gemini": "AIza-secret"}}, format="json").json()

    assert body["provider_keys"]["gemini"]["configured"] is True
    assert body["provider_keys"]["gemini"]["updated_at"]
    assert "AIza-secret" not in str(body)
    assert load_runtime_settings().api_key("gemini") == "AIza-secret"


def test_an_empty_provider_key_removes_the_stored_one(staff_api, settings):
    settings.GEMINI_API_KEY = "from-env"
    staff_api.put(URL, {"provider_keys": {"gemini": ""}}, format="json")

    assert staff_api.get(URL).json()["provider_keys"]["gemini"]["configured"] is False


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sync_response_seconds": 9}, "sync_response_seconds"),
        ({"sync_response_seconds": 61}, "sync_response_seconds"),
        ({"result_ttl_hours": 0}, "result_ttl_hours"),
        ({"hash_check": "sometimes"}, "hash_check"),
        ({"per_provider_concurrency": {"gemini": 0}}, "per_provider_concurrency"),
        ({"ingest_password": "short"}, "ingest_password"),
        ({"ingest_password": " padded-password "}, "ingest_password"),
    ],
)
def test_put_refuses_out_of_range_values_with_field_errors(staff_api, payload, field):
    response = staff_api.put(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["failure_reason"] == "validation_error"
    assert field in response.json()["errors"]


def test_a_refused_put_changes_nothing(staff_api):
    response = staff_api.put(
        URL, {"sync_response_seconds": 20, "result_ttl_hours": 100000}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["result_ttl_hours"]
    assert load_runtime_settings().sync_response_seconds == 48


def test_a_password_never_set_has_no_rotation_time(staff_api):
    body = staff_api.get(URL).json()

    assert body["ingest_password_configured"] is False
    assert body["ingest_password_rotated_at"] is None
    assert body["ingest_password_rotated_by"] is None


def test_a_session_call_without_the_csrf_token_is_refused_as_csrf_failed(staff_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.put(URL, {"sync_response_seconds": 30}, format="json")

    assert response.status_code == 403
    assert response.json()["failure_reason"] == "csrf_failed"
    assert load_runtime_settings().sync_response_seconds == 48


@pytest.mark.parametrize(
    "limits",
    [{"openai": 3}, {"gemini": 60, "turbotext": 40}],  # unknown provider; over the HTTP pool
)
def test_provider_limits_are_checked_against_the_registry_and_the_http_pool(staff_api, limits):
    response = staff_api.put("/api/settings", {"per_provider_concurrency": limits}, format="json")

    assert response.status_code == 400
    assert "per_provider_concurrency" in response.json()["errors"]


def test_partial_provider_limits_keep_the_others(staff_api):
    staff_api.put("/api/settings", {"per_provider_concurrency": {"turbotext": 2}}, format="json")
    response = staff_api.put(
        "/api/settings", {"per_provider_concurrency": {"gemini": 3}}, format="json"
    )

    assert response.json()["per_provider_concurrency"] == {"local": 4, "gemini": 3, "turbotext": 2}
