import pytest
from django.contrib.auth.hashers import check_password
from rest_framework.test import APIClient

from core.models import RuntimeSetting
from core.runtime import load_runtime_settings, set_runtime_setting, settings_version
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


def test_get_gives_the_settings_version_as_body_and_etag(staff_api):
    response = staff_api.get(URL)

    version = response.json()["version"]
    assert version == settings_version() and version > 0
    assert response["ETag"] == f'"{version}"'


def test_every_change_to_any_setting_moves_the_version_on(staff_api):
    versions = [staff_api.get(URL).json()["version"]]
    for payload in (
        {"sync_response_seconds": 30},
        {"per_provider_concurrency": {"gemini": 3}},
        {"provider_keys": {"gemini": "AIza-1"}},
        {"ingest_password": "new-password-1"},
    ):
        versions.append(staff_api.put(URL, payload, format="json").json()["version"])

    assert versions == sorted(set(versions))  # strictly growing


def test_a_save_made_to_a_stale_version_is_refused_with_409_and_changes_nothing(staff_api):
    seen = staff_api.get(URL).json()["version"]
    staff_api.put(URL, {"gallery_size": 20}, format="json")  # someone else, meanwhile

    response = staff_api.put(URL, {"version": seen, "sync_response_seconds": 30}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["failure_reason"] == "version_conflict"
    assert body["current_version"] == settings_version() == seen + 1
    assert load_runtime_settings().sync_response_seconds == 48


@pytest.mark.parametrize("stale", [True, False])
def test_if_match_works_like_the_body_version(staff_api, stale):
    etag = staff_api.get(URL)["ETag"]
    if stale:
        set_runtime_setting(key="gallery_size", value=20)

    response = staff_api.put(URL, {"result_ttl_hours": 24}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == (409 if stale else 200)
    assert (load_runtime_settings().result_ttl_hours == 24) is not stale
    if not stale:
        assert response["ETag"] == f'"{response.json()["version"]}"' != etag


def test_a_save_with_the_current_version_is_applied(staff_api):
    seen = staff_api.get(URL).json()["version"]

    response = staff_api.put(URL, {"version": seen, "gallery_size": 12}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == seen + 1
    assert load_runtime_settings().gallery_size == 12


def test_a_save_without_a_version_stays_unconditional(staff_api):
    staff_api.put(URL, {"gallery_size": 20}, format="json")

    response = staff_api.put(URL, {"gallery_size": 12}, format="json")

    assert response.status_code == 200
    assert load_runtime_settings().gallery_size == 12


def test_a_stale_version_refuses_a_password_rotation_too(staff_api):
    set_ingest_password(raw="old-password")
    seen = staff_api.get(URL).json()["version"]
    set_runtime_setting(key="gallery_size", value=20)

    response = staff_api.put(
        URL, {"version": seen, "ingest_password": "new-password-1"}, format="json"
    )

    assert response.status_code == 409
    assert check_password("old-password", load_runtime_settings().ingest_password_hash)
