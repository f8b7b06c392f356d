"""Typed access to the runtime settings staff edit, with their defaults and bounds.

Every value has a default from the environment (settings.py); a row in RuntimeSetting with a
non-null value overrides it. Reads are one query, so all workers see a change at once.

Provider facts are not known here (this package sits below the providers): a provider's API key
is the secret setting `<provider>_api_key`, and per-provider concurrency limits are stored as
overrides of the defaults each driver declares. The app that knows the registry checks names.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import journal
from core.crypto import UnreadableSecret, resealed, seal, unseal
from core.models import RuntimeSetting

log = structlog.get_logger(__name__)

HASH_CHECK_MODES = ("warn", "enforce", "off")
SYNC_RESPONSE_BOUNDS = (10, 60)
RESULT_TTL_BOUNDS = (1, 720)
MAX_UPLOAD_BOUNDS = (1, 50)
PER_SLOT_CONCURRENCY_BOUNDS = (1, 100)
PROVIDER_LIMIT_BOUNDS = (1, 100)
GALLERY_SIZE_BOUNDS = (1, 100)
# The range of every whole-number setting: the validators below and the settings page's own
# checks (ingest.pages) both read it, so the page never accepts what the server refuses.
BOUNDS = {
    "sync_response_seconds": SYNC_RESPONSE_BOUNDS,
    "result_ttl_hours": RESULT_TTL_BOUNDS,
    "max_upload_mb": MAX_UPLOAD_BOUNDS,
    "per_slot_concurrency": PER_SLOT_CONCURRENCY_BOUNDS,
    "per_provider_concurrency": PROVIDER_LIMIT_BOUNDS,
    "gallery_size": GALLERY_SIZE_BOUNDS,
}
INGEST_PASSWORD_KEY = "ingest_password_hash"  # noqa: S105 (a setting name, not a secret)
_API_KEY = re.compile(r"(?P<provider>[a-z][a-z0-9]{0,15})_api_key")


@dataclass(frozen=True)
class RuntimeSettings:
    sync_response_seconds: int
    result_ttl_hours: int
    max_upload_mb: int
    per_slot_concurrency: int
    # Only the limits staff stored; see provider_limit() for the effective one.
    per_provider_concurrency: Mapping[str, int]
    hash_check: str
    gallery_size: int
    ingest_password_hash: str = field(repr=False)
    api_keys: Mapping[str, str] = field(repr=False)

    def api_key(self, provider: str) -> str:
        """The stored key (empty when staff removed it), else `<PROVIDER>_API_KEY` from settings."""
        if provider in self.api_keys:
            return self.api_keys[provider]
        return getattr(settings, f"{provider.upper()}_API_KEY", "")

    def provider_limit(self, provider: str, default: int) -> int:
        return self.per_provider_concurrency.get(provider, default)


def api_key_setting(provider: str) -> str:
    return f"{provider}_api_key"


def provider_of_api_key(key: str) -> str | None:
    """The provider whose API key the setting `key` holds, if it holds one."""
    match = _API_KEY.fullmatch(key)
    return match["provider"] if match else None


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"must be a whole number from {low} to {high}")
        return value

    return check


def _provider_limits(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(name, str) for name in value):
        raise ValidationError("must map provider names to limits")
    return {name: _int_between(*PROVIDER_LIMIT_BOUNDS)(limit) for name, limit in value.items()}


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValidationError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be a string")
    return value


@dataclass(frozen=True)
class Spec:
    default: Callable[[], Any]
    validate: Callable[[Any], Any]
    secret: bool = False
    # Stored encrypted (core.crypto); read back in plain text through RuntimeSettings.
    sealed: bool = False


SPECS: dict[str, Spec] = {
    "sync_response_seconds": Spec(
        lambda: settings.SYNC_RESPONSE_SECONDS, _int_between(*SYNC_RESPONSE_BOUNDS)
    ),
    "result_ttl_hours": Spec(lambda: settings.RESULT_TTL_HOURS, _int_between(*RESULT_TTL_BOUNDS)),
    "max_upload_mb": Spec(lambda: settings.MAX_UPLOAD_MB, _int_between(*MAX_UPLOAD_BOUNDS)),
    "per_slot_concurrency": Spec(lambda: 2, _int_between(*PER_SLOT_CONCURRENCY_BOUNDS)),
    "per_provider_concurrency": Spec(dict, _provider_limits),
    "hash_check": Spec(lambda: "warn", _choice(HASH_CHECK_MODES)),
    # How many of a slot's latest results its public gallery shows.
    "gallery_size": Spec(lambda: 10, _int_between(*GALLERY_SIZE_BOUNDS)),
    INGEST_PASSWORD_KEY: Spec(lambda: "", _text, secret=True),
}
_API_KEY_SPEC = Spec(lambda: "", _text, secret=True, sealed=True)


def spec_for(key: str) -> Spec | None:
    """The spec of a fixed setting or of a provider's API key; None for an unknown key."""
    return SPECS.get(key) or (_API_KEY_SPEC if _API_KEY.fullmatch(key) else None)


def _build(stored: dict[str, Any]) -> RuntimeSettings:
    values = {key: spec.default() for key, spec in SPECS.items()}
    values |= {key: value for key, value in stored.items() if key in SPECS and value is not None}
    api_keys = {
        provider: _plain_key(key, value)
        for key, value in stored.items()
        if value is not None and (provider := provider_of_api_key(key))
    }
    return RuntimeSettings(**values, api_keys=api_keys)


def _plain_key(key: str, value: Any) -> str:
    try:
        return unseal(value)
    except UnreadableSecret:
        # The provider then answers provider_unconfigured instead of every request failing.
        log.error(
            "runtime.secret_unreadable",
            setting=key,
            hint="FIELD_ENCRYPTION_KEY changed: list the previous one in FIELD_ENCRYPTION_KEYS_OLD",
        )
        return ""


def load_runtime_settings() -> RuntimeSettings:
    return _build(dict(RuntimeSetting.objects.values_list("key", "value")))


async def aload_runtime_settings() -> RuntimeSettings:
    rows = RuntimeSetting.objects.values_list("key", "value")
    return _build({key: value async for key, value in rows})


def settings_version() -> int:
    """One version for all the runtime settings together, their ETag.

    Every change bumps one row's version or stores a new row at 1, and rows are never deleted,
    so the sum only grows: a save made to an older sum was made without someone's change.
    """
    return RuntimeSetting.objects.aggregate(total=Coalesce(Sum("version"), 0))["total"]


class StaleSettings(Exception):
    def __init__(self, current_version: int):
        super().__init__(f"the settings are at version {current_version}")
        self.current_version = current_version


def check_settings_version(expected: int | None) -> None:
    """Inside a transaction: hold every setting row until it ends, then refuse a stale version.

    The sum is read by a statement of its own after the lock, so it also counts a row another
    transaction created before it released the lock. None: an unconditional write.
    """
    if expected is None:
        return
    list(RuntimeSetting.objects.select_for_update().values_list("pk", flat=True))
    current = settings_version()
    if current != expected:
        raise StaleSettings(current)


def set_runtime_setting(*, key: str, value: Any, user=None) -> RuntimeSetting:
    """Validate and store one setting; bumps its version. Raises ValidationError."""
    spec = spec_for(key)
    if spec is None:
        raise ValidationError({key: "unknown setting"})
    try:
        cleaned = spec.validate(value)
    except ValidationError as error:
        raise ValidationError({key: error.messages}) from error
    stored = seal(cleaned) if spec.sealed and cleaned else cleaned
    with transaction.atomic():
        row, created = RuntimeSetting.objects.select_for_update().get_or_create(
            key=key, defaults={"value": stored, "updated_by": user}
        )
        old = None if created else row.value
        if not created:
            row.value, row.updated_by, row.version = stored, user, row.version + 1
            row.updated_at = timezone.now()
            row.save(update_fields=["value", "updated_by", "version", "updated_at"])
        journal.record_change(
            row, user=user, changes={key: _journaled(spec, old, cleaned)}, version=row.version
        )
    return row


def _journaled(spec: Spec, old: Any, new: Any) -> tuple[Any, Any]:
    if spec.secret:
        return journal.secret_change(old, new)
    return (spec.default() if old is None else old), new


def reencrypt_secrets() -> tuple[list[str], list[str]]:
    """Seal every stored secret under the current key: (keys re-encrypted, keys unreadable).

    A plain value left by an older version is encrypted too. Values, versions and the
    journal are untouched: the secret itself did not change.
    """
    done, unreadable = [], []
    for key in RuntimeSetting.objects.values_list("key", flat=True):
        spec = spec_for(key)
        if spec is None or not spec.sealed:
            continue
        try:
            if _reseal(key):
                done.append(key)
        except UnreadableSecret:
            unreadable.append(key)
    return done, unreadable


def _reseal(key: str) -> bool:
    # Locked, so a key staff store meanwhile is not overwritten by the old one re-encrypted.
    with transaction.atomic():
        row = RuntimeSetting.objects.select_for_update().get(key=key)
        new = resealed(row.value)
        if new is not None:
            RuntimeSetting.objects.filter(key=key).update(value=new)
    return new is not None
