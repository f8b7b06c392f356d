"""Provider API keys at rest: encrypted in the database, plain through RuntimeSettings."""

import io
from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from core.crypto import UnreadableSecret, is_sealed, seal, unseal
from core.models import RuntimeSetting
from core.runtime import load_runtime_settings, set_runtime_setting

pytestmark = pytest.mark.django_db
GEMINI_KEY = "AIzaSyD-plain-gemini-key-0123456789"


def raw_value(key: str) -> str:
    """The column exactly as the database holds it, read past the ORM."""
    table = connection.ops.quote_name(RuntimeSetting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {table} WHERE key = %s", [key])
        return str(cursor.fetchone()[0])


def test_a_stored_api_key_is_encrypted_in_the_database_and_plain_when_read():
    set_runtime_setting(key="gemini_api_key", value=GEMINI_KEY)

    stored = raw_value("gemini_api_key")
    assert GEMINI_KEY not in stored
    assert "fernet" in stored
    assert load_runtime_settings().api_key("gemini") == GEMINI_KEY


def test_an_emptied_key_stays_empty_so_the_provider_shows_as_not_configured():
    set_runtime_setting(key="gemini_api_key", value=GEMINI_KEY)
    set_runtime_setting(key="gemini_api_key", value="")

    assert RuntimeSetting.objects.get(key="gemini_api_key").value == ""
    assert load_runtime_settings().api_key("gemini") == ""


def test_the_key_follows_field_encryption_key_and_falls_back_to_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEY = "one-key-" + "x" * 40
    token = seal(GEMINI_KEY)

    settings.FIELD_ENCRYPTION_KEY = "another-key-" + "y" * 40
    with pytest.raises(UnreadableSecret):
        unseal(token)
    settings.FIELD_ENCRYPTION_KEYS_OLD = ["one-key-" + "x" * 40]
    assert unseal(token) == GEMINI_KEY


def test_an_unreadable_key_makes_the_provider_unconfigured_instead_of_failing(settings):
    set_runtime_setting(key="gemini_api_key", value=GEMINI_KEY)
    settings.FIELD_ENCRYPTION_KEY = "a-new-key-without-the-old-one-" + "z" * 30

    assert load_runtime_settings().api_key("gemini") == ""


def test_rotation_reencrypts_under_the_new_key_and_the_old_one_can_go(settings):
    old, new = "old-key-" + "a" * 40, "new-key-" + "b" * 40
    settings.FIELD_ENCRYPTION_KEY = old
    set_runtime_setting(key="gemini_api_key", value=GEMINI_KEY)
    before = RuntimeSetting.objects.get(key="gemini_api_key")

    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS_OLD = new, [old]
    call_command("reencrypt_secrets", stdout=io.StringIO())
    call_command("reencrypt_secrets", stdout=io.StringIO())  # a second run changes nothing
    settings.FIELD_ENCRYPTION_KEYS_OLD = []

    after = RuntimeSetting.objects.get(key="gemini_api_key")
    assert after.value != before.value
    assert (after.version, after.updated_at) == (before.version, before.updated_at)
    assert load_runtime_settings().api_key("gemini") == GEMINI_KEY
    assert GEMINI_KEY not in raw_value("gemini_api_key")


def test_rotation_names_the_keys_it_cannot_open(settings):
    settings.FIELD_ENCRYPTION_KEY = "lost-key-" + "c" * 40
    set_runtime_setting(key="gemini_api_key", value=GEMINI_KEY)
    settings.FIELD_ENCRYPTION_KEY = "new-key-" + "d" * 40

    with pytest.raises(CommandError, match=r"gemini_api_key.*FIELD_ENCRYPTION_KEYS_OLD"):
        call_command("reencrypt_secrets", stdout=io.StringIO())


def test_the_data_migration_encrypts_keys_stored_in_plain_text():
    RuntimeSetting.objects.update_or_create(key="gemini_api_key", defaults={"value": GEMINI_KEY})
    RuntimeSetting.objects.update_or_create(key="turbotext_api_key", defaults={"value": ""})

    import_module("core.migrations.0002_encrypt_provider_keys").encrypt(apps, None)

    assert is_sealed(RuntimeSetting.objects.get(key="gemini_api_key").value)
    assert GEMINI_KEY not in raw_value("gemini_api_key")
    assert RuntimeSetting.objects.get(key="turbotext_api_key").value == ""
    assert load_runtime_settings().api_key("gemini") == GEMINI_KEY


def test_the_settings_api_stores_keys_encrypted(staff_api):
    staff_api.put("/api/settings", {"provider_keys": {"gemini": GEMINI_KEY}}, format="json")

    assert GEMINI_KEY not in raw_value("gemini_api_key")
    assert load_runtime_settings().api_key("gemini") == GEMINI_KEY
