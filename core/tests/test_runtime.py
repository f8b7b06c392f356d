import pytest
from django.core.exceptions import ValidationError

from core.runtime import load_runtime_settings, set_runtime_setting

pytestmark = pytest.mark.django_db


def test_defaults_come_from_the_environment_until_staff_set_a_value(settings):
    settings.SYNC_RESPONSE_SECONDS = 30
    assert load_runtime_settings().sync_response_seconds == 30
    set_runtime_setting(key="sync_response_seconds", value=20)
    assert load_runtime_settings().sync_response_seconds == 20


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sync_response_seconds", 9),
        ("sync_response_seconds", 61),
        ("sync_response_seconds", "48"),
        ("hash_check", "strict"),
        ("per_provider_concurrency", {"gemini": 0}),
        ("per_provider_concurrency", ["gemini", 3]),
        ("nosuch_api_key_x", "abc"),
        ("no_such_setting", 1),
    ],
)
def test_out_of_bounds_values_are_refused(key, value):
    with pytest.raises(ValidationError):
        set_runtime_setting(key=key, value=value)


def test_every_change_bumps_the_version():
    first = set_runtime_setting(key="result_ttl_hours", value=24)
    second = set_runtime_setting(key="result_ttl_hours", value=48)
    assert second.version == first.version + 1


def test_a_provider_limit_staff_stored_wins_over_the_drivers_default():
    set_runtime_setting(key="per_provider_concurrency", value={"gemini": 3})
    config = load_runtime_settings()
    assert (config.provider_limit("gemini", 10), config.provider_limit("turbotext", 5)) == (3, 5)


def test_a_stored_api_key_wins_over_the_environment_and_any_provider_may_have_one(settings):
    settings.GEMINI_API_KEY = "from-env"
    assert load_runtime_settings().api_key("gemini") == "from-env"
    set_runtime_setting(key="gemini_api_key", value="from-db")
    set_runtime_setting(key="newvendor_api_key", value="new-key")
    config = load_runtime_settings()
    assert (config.api_key("gemini"), config.api_key("newvendor")) == ("from-db", "new-key")


def test_secrets_do_not_appear_in_the_settings_repr(settings):
    settings.GEMINI_API_KEY = "AIza-secret"
    assert "AIza-secret" not in repr(load_runtime_settings())
