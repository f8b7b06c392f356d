import pytest
from django.core.exceptions import ValidationError

from photochanger.runtime import load_runtime_settings, set_runtime_setting

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
        ("per_provider_concurrency", {"openai": 3}),
        ("per_provider_concurrency", {"gemini": 60, "turbotext": 40}),  # over the HTTP pool
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


def test_partial_provider_limits_keep_the_other_defaults():
    set_runtime_setting(key="per_provider_concurrency", value={"gemini": 3})
    limits = load_runtime_settings().per_provider_concurrency
    assert limits == {"gemini": 3, "turbotext": 5, "local": 4}


def test_secrets_do_not_appear_in_the_settings_repr(settings):
    settings.GEMINI_API_KEY = "AIza-secret"
    assert "AIza-secret" not in repr(load_runtime_settings())
