"""The processing settings staff read and change (the settings page, its API and the admin).

Values live in `core.runtime`; this module adds what needs the provider registry: which
providers take a key, their concurrency limits, and the bound the shared HTTP pool puts on them.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.models import RuntimeSetting
from core.runtime import (
    INGEST_PASSWORD_KEY,
    SPECS,
    RuntimeSettings,
    api_key_setting,
    check_settings_version,
    load_runtime_settings,
    provider_of_api_key,
    set_runtime_setting,
    settings_version,
)
from ingest.limits import provider_limit
from ingest.passwords import set_ingest_password
from providers.registry import DRIVERS, keyed_providers

# Settings staff edit as plain values; secrets go through their own write-only paths.
PLAIN_SETTINGS = tuple(key for key, spec in SPECS.items() if not spec.secret)

# What each setting is called where staff read it (the admin's list of settings).
SETTING_LABELS = {
    "sync_response_seconds": _("Окно синхронного ожидания, с"),
    "result_ttl_hours": _("Срок хранения результатов, ч"),
    "max_upload_mb": _("Лимит файла, МБ"),
    "per_slot_concurrency": _("Одновременно на слот"),
    "per_provider_concurrency": _("Одновременно у провайдеров"),
    "hash_check": _("Проверка поля hash"),
    "gallery_size": _("Результатов в публичной галерее"),
    INGEST_PASSWORD_KEY: _("Ingest-пароль"),
}


def setting_label(key: str) -> str:
    """The setting's name for staff: «Лимит файла, МБ», «API-ключ Gemini»."""
    if provider := provider_of_api_key(key):
        driver = DRIVERS.get(provider)
        return _("API-ключ %s") % (driver.label if driver else provider)
    return str(SETTING_LABELS.get(key, key))


def describe_settings() -> dict[str, Any]:
    """Current values; secrets only as whether they are set and when they last changed."""
    config = load_runtime_settings()
    keyed = keyed_providers()
    rows = RuntimeSetting.objects.select_related("updated_by").in_bulk(
        [INGEST_PASSWORD_KEY, *(api_key_setting(name) for name in keyed)]
    )
    password = _stored(rows.get(INGEST_PASSWORD_KEY))
    return {
        "version": settings_version(),
        **{name: getattr(config, name) for name in PLAIN_SETTINGS},
        "per_provider_concurrency": {name: provider_limit(config, name) for name in DRIVERS},
        "ingest_password_configured": bool(config.ingest_password_hash),
        "ingest_password_rotated_at": password.updated_at if password else None,
        "ingest_password_rotated_by": _username(password),
        "provider_keys": {
            name: {
                "configured": bool(config.api_key(name)),
                "updated_at": _updated_at(_stored(rows.get(api_key_setting(name)))),
            }
            for name in keyed
        },
    }


def update_settings(
    *,
    values: dict[str, Any],
    ingest_password: str | None = None,
    provider_keys: dict[str, str] | None = None,
    user,
    expected_version: int | None = None,
) -> None:
    """Store every change or none; ValidationError lists every refused field.

    With `expected_version` (the `version` describe_settings gave) a save made to settings
    someone has changed since is refused with StaleSettings; without it the write is
    unconditional.
    """
    errors: dict[str, list[str]] = {}
    if "per_provider_concurrency" in values:
        limits = checked_limits(values["per_provider_concurrency"])
        values = {**values, "per_provider_concurrency": limits}
    with transaction.atomic():
        check_settings_version(expected_version)
        for key, value in values.items():
            _collect(errors, key, set_runtime_setting, key=key, value=value, user=user)
        if ingest_password is not None:
            _collect(errors, "ingest_password", set_ingest_password, raw=ingest_password, user=user)
        for name, secret in (provider_keys or {}).items():
            _collect(errors, "provider_keys", _set_api_key, name, secret, user)
        if errors:
            raise ValidationError(errors)


def checked_limits(changes: Any) -> Any:
    """Staff's limits merged over the stored ones, refused when the HTTP pool could not serve them.

    All remote providers share one HTTP connection pool; more concurrent calls than connections
    would queue inside httpx, where a cancelled wait can leak a slot (encode/httpcore#1093).
    """
    if not isinstance(changes, dict):
        return changes  # the runtime spec refuses it with its own message
    unknown = sorted(set(changes) - set(DRIVERS))
    if unknown:
        raise ValidationError({"per_provider_concurrency": f"unknown providers: {unknown}"})
    current = load_runtime_settings()
    merged = {**current.per_provider_concurrency, **changes}
    effective = RuntimeSettings(**{**vars(current), "per_provider_concurrency": merged})
    remote = sum(provider_limit(effective, name) for name in keyed_providers())
    if remote >= settings.PROVIDER_HTTP_MAX_CONNECTIONS:
        raise ValidationError(
            {
                "per_provider_concurrency": "the limits of providers with keys must stay under "
                f"PROVIDER_HTTP_MAX_CONNECTIONS ({settings.PROVIDER_HTTP_MAX_CONNECTIONS})"
            }
        )
    return merged


def _set_api_key(name: str, secret: str, user) -> None:
    if name not in keyed_providers():
        raise ValidationError(f"{name} takes no API key")
    set_runtime_setting(key=api_key_setting(name), value=secret, user=user)


def _collect(errors: dict[str, list[str]], field: str, function, *args, **kwargs) -> None:
    try:
        function(*args, **kwargs)
    except ValidationError as error:
        errors.setdefault(field, []).extend(error.messages)


def _username(row: RuntimeSetting | None) -> str | None:
    return row.updated_by.get_username() if row and row.updated_by else None


def _stored(row: RuntimeSetting | None) -> RuntimeSetting | None:
    # Rows exist for every key from the start; a null value means nothing was stored yet.
    return row if row and row.value is not None else None


def _updated_at(row: RuntimeSetting | None):
    return row.updated_at if row else None
