"""Typed access to the runtime settings staff edit, with their defaults and bounds.

Every value has a default from the environment (settings.py); a row in RuntimeSetting with a
non-null value overrides it. Reads are one query, so all workers see a change at once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from photochanger.models import RuntimeSetting

PROVIDER_NAMES = ("gemini", "turbotext", "local")
HASH_CHECK_MODES = ("warn", "enforce", "off")
SYNC_RESPONSE_BOUNDS = (10, 60)


@dataclass(frozen=True)
class RuntimeSettings:
    sync_response_seconds: int
    result_ttl_hours: int
    max_upload_mb: int
    per_slot_concurrency: int
    per_provider_concurrency: dict[str, int]
    hash_check: str
    ingest_password_hash: str = field(repr=False)
    gemini_api_key: str = field(repr=False)
    turbotext_api_key: str = field(repr=False)

    def api_key(self, provider: str) -> str:
        return getattr(self, f"{provider}_api_key", "")


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"must be a whole number from {low} to {high}")
        return value

    return check


def _provider_limits(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) - set(PROVIDER_NAMES):
        raise ValidationError(f"must map provider names ({', '.join(PROVIDER_NAMES)}) to limits")
    limits = {name: _int_between(1, 100)(limit) for name, limit in value.items()}
    # All providers share one HTTP connection pool; more concurrent calls than connections
    # would queue inside httpx, where a cancelled wait can leak a slot (encode/httpcore#1093).
    remote = sum(
        {**SPECS["per_provider_concurrency"].default(), **limits}[n]
        for n in ("gemini", "turbotext")
    )
    if remote >= settings.PROVIDER_HTTP_MAX_CONNECTIONS:
        raise ValidationError(
            f"gemini + turbotext limits must stay under PROVIDER_HTTP_MAX_CONNECTIONS "
            f"({settings.PROVIDER_HTTP_MAX_CONNECTIONS})"
        )
    return limits


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
class _Spec:
    default: Callable[[], Any]
    validate: Callable[[Any], Any]
    secret: bool = False


SPECS: dict[str, _Spec] = {
    "sync_response_seconds": _Spec(
        lambda: settings.SYNC_RESPONSE_SECONDS, _int_between(*SYNC_RESPONSE_BOUNDS)
    ),
    "result_ttl_hours": _Spec(lambda: settings.RESULT_TTL_HOURS, _int_between(1, 720)),
    "max_upload_mb": _Spec(lambda: settings.MAX_UPLOAD_MB, _int_between(1, 50)),
    "per_slot_concurrency": _Spec(lambda: 2, _int_between(1, 100)),
    "per_provider_concurrency": _Spec(
        lambda: {"gemini": 10, "turbotext": 5, "local": 4}, _provider_limits
    ),
    "hash_check": _Spec(lambda: "warn", _choice(HASH_CHECK_MODES)),
    "ingest_password_hash": _Spec(lambda: "", _text, secret=True),
    "gemini_api_key": _Spec(lambda: settings.GEMINI_API_KEY, _text, secret=True),
    "turbotext_api_key": _Spec(lambda: settings.TURBOTEXT_API_KEY, _text, secret=True),
}


def _build(stored: dict[str, Any]) -> RuntimeSettings:
    values = {key: spec.default() for key, spec in SPECS.items()}
    for key, value in stored.items():
        if key in SPECS and value is not None:
            values[key] = value
    # Stored partial provider limits fill in from the defaults.
    values["per_provider_concurrency"] = {
        **SPECS["per_provider_concurrency"].default(),
        **values["per_provider_concurrency"],
    }
    return RuntimeSettings(**values)


def load_runtime_settings() -> RuntimeSettings:
    return _build(dict(RuntimeSetting.objects.values_list("key", "value")))


async def aload_runtime_settings() -> RuntimeSettings:
    rows = RuntimeSetting.objects.values_list("key", "value")
    return _build({key: value async for key, value in rows})


def set_runtime_setting(*, key: str, value: Any, user=None) -> RuntimeSetting:
    """Validate and store one setting; bumps its version. Raises ValidationError."""
    if key not in SPECS:
        raise ValidationError({key: "unknown setting"})
    try:
        cleaned = SPECS[key].validate(value)
    except ValidationError as error:
        raise ValidationError({key: error.messages}) from error
    row, created = RuntimeSetting.objects.get_or_create(
        key=key, defaults={"value": cleaned, "updated_by": user}
    )
    if not created:
        row.value, row.updated_by, row.version = cleaned, user, row.version + 1
        row.updated_at = timezone.now()
        row.save(update_fields=["value", "updated_by", "version", "updated_at"])
    return row
