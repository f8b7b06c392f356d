import pytest

from core.runtime import set_runtime_setting

pytestmark = pytest.mark.django_db


def test_settings_page_shows_secrets_only_as_set_or_not(staff_client):
    set_runtime_setting(key="gemini_api_key", value="AIza-page-secret")

    response = staff_client.get("/settings/")

    assert response.status_code == 200
    assert "AIza-page-secret" not in response.text
    assert "Очистить мультимедиа кеш" in response.text
    assert 'min="10" max="60"' in response.text
