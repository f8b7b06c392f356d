import re
import secrets
from dataclasses import dataclass
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.runtime import SYNC_RESPONSE_BOUNDS, RuntimeSettings
from media.models import MediaObject
from media.output import QR_CAPTION_MAX, OutputProfile, ProfileError, QrSpec
from providers.registry import DRIVERS
from slots.schema_messages import settings_message

SLOT_COUNT = 15
# The primary provider and up to two fallbacks.
MAX_CHAIN = 3


def slot_ids() -> list[str]:
    return [f"slot-{number:03d}" for number in range(1, SLOT_COUNT + 1)]


_SLOT_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def could_be_slot_id(value: str) -> bool:
    """False for what no slot is called (NUL, control characters, slashes, long strings):
    answered without a query, which PostgreSQL would fail on a NUL instead of missing."""
    return _SLOT_ID.fullmatch(value) is not None


def new_gallery_token() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class ProviderConfig:
    """One link of a slot's chain: which provider, what it does, with which settings."""

    provider: str
    operation: str
    settings: dict[str, Any]

    def errors(self) -> dict[str, list[str]]:
        """What is wrong with this configuration, by field (`provider`, `operation`, `settings`)."""
        driver = DRIVERS.get(self.provider)
        if driver is None:
            return {"provider": [str(_("Этот провайдер ещё не подключён."))]}
        if self.operation not in driver.operations:
            allowed = ", ".join(f"«{op.label}» ({name})" for name, op in driver.operations.items())
            return {"operation": [str(_("Допустимые операции: %s") % allowed)]}
        schema = driver.settings_schema
        found = sorted(
            jsonschema.Draft202012Validator(schema).iter_errors(self.settings),
            key=lambda e: [str(part) for part in e.path],
        )
        # dict.fromkeys: one message per missing field, however many errors name it.
        messages = dict.fromkeys(_settings_error(error, schema) for error in found)
        return {"settings": list(messages)} if messages else {}


class Slot(models.Model):
    """One of the 15 fixed ingest slots; re-configured, never created or deleted by users."""

    class OutputFormat(models.TextChoices):
        SAME = "same", _("как у входного файла")
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        WEBP = "webp", "WEBP"

    class LastResort(models.TextChoices):
        ERROR = "error", _("ответить ошибкой (будка напечатает оригинал)")
        ORIGINAL = "original", _("отдать оригинал с рамкой и QR-кодом")

    class GalleryVisibility(models.TextChoices):
        TOKEN = "token", _("по ссылке с ключом")
        OPEN = "open", _("открыта всем")
        OFF = "off", _("выключена")

    class QrCorner(models.TextChoices):
        NONE = "", _("без QR-кода")
        BOTTOM_RIGHT = "bottom-right", _("справа внизу")
        BOTTOM_LEFT = "bottom-left", _("слева внизу")
        TOP_RIGHT = "top-right", _("справа вверху")
        TOP_LEFT = "top-left", _("слева вверху")

    id = models.CharField(max_length=16, primary_key=True)
    display_name = models.CharField(_("название"), max_length=100)
    # One of providers.registry.DRIVERS, checked in clean(): a new provider needs no migration.
    provider = models.CharField(_("провайдер"), max_length=16)
    operation = models.CharField(_("операция"), max_length=64)
    settings_json = models.JSONField(_("настройки провайдера"), default=dict, blank=True)
    is_active = models.BooleanField(_("активен"), default=True)
    version = models.PositiveIntegerField(_("версия"), default=1)
    updated_at = models.DateTimeField(_("изменён"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кем изменён"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    size_limit_mb = models.PositiveSmallIntegerField(
        _("лимит файла, МБ"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    sync_response_seconds = models.PositiveSmallIntegerField(
        _("окно ожидания, с"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(SYNC_RESPONSE_BOUNDS[0]),
            MaxValueValidator(SYNC_RESPONSE_BOUNDS[1]),
        ],
    )
    output_format = models.CharField(
        _("формат результата"),
        max_length=8,
        choices=OutputFormat.choices,
        default=OutputFormat.SAME,
    )
    # media.output.OutputProfile as JSON (aspect, long side, fit, …); {} keeps the answer as is.
    output_profile = models.JSONField(_("профиль печати"), default=dict, blank=True)
    qr_corner = models.CharField(
        _("QR-код на отпечатке"), max_length=16, choices=QrCorner.choices, default="", blank=True
    )
    qr_caption = models.BooleanField(_("короткая ссылка под QR-кодом"), default=False)
    # Further links of the chain after the slot's own provider: [{provider, operation, settings}].
    fallbacks = models.JSONField(_("запасные провайдеры"), default=list, blank=True)
    last_resort = models.CharField(
        _("если все провайдеры отказали"),
        max_length=8,
        choices=LastResort.choices,
        default=LastResort.ERROR,
    )
    gallery_visibility = models.CharField(
        _("галерея"),
        max_length=8,
        choices=GalleryVisibility.choices,
        default=GalleryVisibility.TOKEN,
    )
    gallery_token = models.CharField(_("ключ галереи"), max_length=32, default=new_gallery_token)

    class Meta:
        verbose_name = _("слот")
        verbose_name_plural = _("слоты")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} · {self.display_name}"

    def upload_limit_mb(self, config: RuntimeSettings) -> int:
        """The largest photo this slot takes: its own limit, else the global one."""
        return self.size_limit_mb or config.max_upload_mb

    def response_window_seconds(self, config: RuntimeSettings) -> int:
        """How long a booth waits for this slot's answer: its own window, else the global one."""
        return self.sync_response_seconds or config.sync_response_seconds

    def print_profile(self) -> OutputProfile:
        """How the answer becomes the print; raises ProfileError for a stored profile gone bad."""
        stored = self.output_profile if isinstance(self.output_profile, dict) else {}
        return OutputProfile.from_dict({**stored, "format": self.output_format})

    def qr_spec(self, guest_url: str) -> QrSpec | None:
        """The QR code to print, linking to `guest_url`, or None when the slot prints none."""
        if not self.qr_corner:
            return None
        short = guest_url.split("://", 1)[-1]
        caption = short if self.qr_caption and len(short) <= QR_CAPTION_MAX else None
        return QrSpec(guest_url, corner=self.qr_corner, caption=caption)

    @property
    def provider_label(self) -> str:
        driver = DRIVERS.get(self.provider)
        return str(driver.label) if driver else self.provider

    def chain(self) -> list[ProviderConfig]:
        """The providers to try, in order: the slot's own, then its fallbacks."""
        own = ProviderConfig(self.provider, self.operation, self.settings_json)
        return [own, *(_config(entry) for entry in self.fallbacks if isinstance(entry, dict))]

    def gallery_opens_with(self, token: str) -> bool:
        if self.gallery_visibility == self.GalleryVisibility.OPEN:
            return True
        return (
            self.gallery_visibility == self.GalleryVisibility.TOKEN
            and bool(token)
            and secrets.compare_digest(token.encode(), self.gallery_token.encode())
        )

    def clean(self) -> None:
        own_errors = self.chain()[0].errors()
        names = {"settings": "settings_json"}
        errors = {names.get(field, field): messages for field, messages in own_errors.items()}
        errors |= _chain_errors(self)
        try:
            self.print_profile()
        except (ProfileError, TypeError) as error:
            errors["output_profile"] = [getattr(error, "message", str(error))]
        if errors:
            raise ValidationError(errors)


def _config(entry: dict) -> ProviderConfig:
    settings_value = entry.get("settings")
    return ProviderConfig(
        provider=str(entry.get("provider", "")),
        operation=str(entry.get("operation", "")),
        settings=settings_value if isinstance(settings_value, dict) else {},
    )


def _chain_errors(slot: Slot) -> dict[str, list[str]]:
    if not isinstance(slot.fallbacks, list) or len(slot.fallbacks) > MAX_CHAIN - 1:
        return {"fallbacks": [str(_("Не больше двух запасных провайдеров."))]}
    messages = []
    for number, entry in enumerate(slot.fallbacks, start=1):
        if not isinstance(entry, dict) or set(entry) - {"provider", "operation", "settings"}:
            messages.append(str(_("Запасной %d: нужны provider, operation, settings.") % number))
            continue
        prefix = _("Запасной провайдер %d") % number
        for problems in _config(entry).errors().values():
            messages += [f"{prefix}: {problem}" for problem in problems]
    configs = [(c.provider, c.operation, repr(sorted(c.settings.items()))) for c in slot.chain()]
    if len(set(configs)) != len(configs):
        messages.append(str(_("Одна и та же настройка провайдера указана в цепочке дважды.")))
    return {"fallbacks": messages} if messages else {}


def _settings_error(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    """In Russian, naming the field by its title: jsonschema's own messages are English."""
    return settings_message(error, schema)


class SlotTemplateMedia(models.Model):
    """A template image a slot sends to its provider, with the role it plays there."""

    class Role(models.TextChoices):
        STYLE = "style", _("стиль")
        BACKGROUND = "background", _("фон")
        FACE = "face", _("лицо")
        OVERLAY = "overlay", _("наложение / рамка")
        REFERENCE = "reference", _("референс")

    slot = models.ForeignKey(
        Slot, verbose_name=_("слот"), on_delete=models.CASCADE, related_name="template_media"
    )
    media = models.ForeignKey(
        MediaObject, verbose_name=_("файл"), on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    position = models.PositiveSmallIntegerField(_("порядок"), default=0)

    class Meta:
        # Masculine, so the admin's «Добавить еще один …» agrees with it.
        verbose_name = _("шаблон")
        verbose_name_plural = _("шаблоны")
        ordering = ["slot", "position", "id"]

    def __str__(self) -> str:
        return f"{self.slot_id} · {self.get_role_display()}"
