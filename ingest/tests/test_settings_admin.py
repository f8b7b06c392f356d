import pytest
from django.contrib.auth.hashers import check_password

from core.models import RuntimeSetting
from core.runtime import load_runtime_settings, set_runtime_setting

pytestmark = pytest.mark.django_db
LIST = "/admin/core/runtimesetting/"


def change_url(key):
    return f"{LIST}{key}/change/"


def test_settings_list_masks_secrets(admin_client):
    set_runtime_setting(key="gemini_api_key", value="AIza-very-secret")

    response = admin_client.get(LIST)

    assert response.status_code == 200
    assert "AIza-very-secret" not in response.text


def test_a_plain_setting_is_validated_before_it_is_stored(admin_client, admin_user):
    refused = admin_client.post(change_url("sync_response_seconds"), {"value": "75"})
    assert refused.status_code == 200
    assert "value" in refused.context["adminform"].form.errors

    admin_client.post(change_url("sync_response_seconds"), {"value": "30"})
    assert load_runtime_settings().sync_response_seconds == 30
    assert RuntimeSetting.objects.get(key="sync_response_seconds").updated_by == admin_user


def test_a_secret_is_never_shown_and_an_empty_field_keeps_it(admin_client):
    set_runtime_setting(key="turbotext_api_key", value="tt-secret")

    page = admin_client.get(change_url("turbotext_api_key"))
    assert "tt-secret" not in page.text

    admin_client.post(change_url("turbotext_api_key"), {"value": ""})
    assert load_runtime_settings().api_key("turbotext") == "tt-secret"


def test_the_ingest_password_is_stored_hashed(admin_client):
    admin_client.post(change_url("ingest_password_hash"), {"value": "booth-password-2"})

    stored = load_runtime_settings().ingest_password_hash
    assert stored != "booth-password-2"
    assert check_password("booth-password-2", stored)


def test_a_short_ingest_password_is_refused(admin_client):
    response = admin_client.post(change_url("ingest_password_hash"), {"value": "short"})

    assert "value" in response.context["adminform"].form.errors
    assert not load_runtime_settings().ingest_password_hash
