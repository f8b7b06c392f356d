"""Staff-facing workflows over the runtime settings and the staff accounts."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import transaction

from ingest.passwords import set_ingest_password
from photochanger.models import RuntimeSetting
from photochanger.runtime import SPECS, load_runtime_settings, set_runtime_setting

# Settings staff edit as plain values; secrets go through their own write-only paths.
PLAIN_SETTINGS = tuple(key for key, spec in SPECS.items() if not spec.secret)
KEYED_PROVIDERS = ("gemini", "turbotext")
MIN_INGEST_PASSWORD_LENGTH = 8


def describe_settings() -> dict[str, Any]:
    """Current values; secrets only as whether they are set and when they last changed."""
    config = load_runtime_settings()
    rows = RuntimeSetting.objects.select_related("updated_by").in_bulk(
        ["ingest_password_hash", *(f"{name}_api_key" for name in KEYED_PROVIDERS)]
    )
    password = _stored(rows.get("ingest_password_hash"))
    return {
        **{name: getattr(config, name) for name in PLAIN_SETTINGS},
        "ingest_password_configured": bool(config.ingest_password_hash),
        "ingest_password_rotated_at": password.updated_at if password else None,
        "ingest_password_rotated_by": _username(password),
        "provider_keys": {
            name: {
                "configured": bool(config.api_key(name)),
                "updated_at": _updated_at(_stored(rows.get(f"{name}_api_key"))),
            }
            for name in KEYED_PROVIDERS
        },
    }


def update_settings(
    *,
    values: dict[str, Any],
    ingest_password: str | None = None,
    provider_keys: dict[str, str] | None = None,
    user,
) -> None:
    """Store every change or none; ValidationError lists every refused field."""
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        for key, value in values.items():
            _collect(errors, key, set_runtime_setting, key=key, value=value, user=user)
        if ingest_password is not None:
            _collect(errors, "ingest_password", _rotate_ingest_password, ingest_password, user)
        for name, secret in (provider_keys or {}).items():
            key = f"{name}_api_key"
            _collect(errors, "provider_keys", set_runtime_setting, key=key, value=secret, user=user)
        if errors:
            raise ValidationError(errors)


def validate_ingest_password(raw: str) -> None:
    # Booth operators type it into DSLR Remote Pro: long enough, and no invisible spaces.
    if len(raw) < MIN_INGEST_PASSWORD_LENGTH or raw != raw.strip():
        raise ValidationError(
            f"use at least {MIN_INGEST_PASSWORD_LENGTH} characters, without spaces at the ends"
        )


def _rotate_ingest_password(raw: str, user) -> None:
    validate_ingest_password(raw)
    set_ingest_password(raw=raw, user=user)


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


@dataclass(frozen=True)
class StaffAccount:
    username: str
    password_hash: str
    is_superuser: bool = False
    email: str = ""


def sync_staff_accounts(accounts: list[StaffAccount]) -> list[tuple[str, bool]]:
    """Create or update staff users from password hashes; returns (username, created) pairs.

    Idempotent: running it again with the same file changes nothing that matters.
    """
    for account in accounts:
        try:
            identify_hasher(account.password_hash)
        except ValueError as error:
            raise ValidationError(f"{account.username}: not a Django password hash") from error
    User = get_user_model()
    outcome = []
    with transaction.atomic():
        for account in accounts:
            user, created = User.objects.update_or_create(
                username=account.username,
                defaults={
                    "password": account.password_hash,
                    "is_staff": True,
                    "is_active": True,
                    "is_superuser": account.is_superuser,
                    "email": account.email,
                },
            )
            outcome.append((user.username, created))
    return outcome
