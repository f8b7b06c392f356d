import re

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.runtime import SYNC_RESPONSE_BOUNDS, RuntimeSettings
from media.models import MediaObject
from providers.registry import DRIVERS

SLOT_COUNT = 15


def slot_ids() -> list[str]:
    return [f"slot-{number:03d}" for number in range(1, SLOT_COUNT + 1)]


_SLOT_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def could_be_slot_id(value: str) -> bool:
    """False for what no slot is called (NUL, control characters, slashes, long strings):
    answered without a query, which PostgreSQL would fail on a NUL instead of missing."""
    return _SLOT_ID.fullmatch(value) is not None


class Slot(models.Model):
    """One of the 15 fixed ingest slots; re-configured, never created or deleted by users."""

    class OutputFormat(models.TextChoices):
        SAME = "same", _("как у входного файла")
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        WEBP = "webp", "WEBP"

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

    def clean(self) -> None:
        driver = DRIVERS.get(self.provider)
        if driver is None:
            raise ValidationError({"provider": _("Этот провайдер ещё не подключён.")})
        if self.operation not in driver.operations:
            raise ValidationError(
                {"operation": _("Допустимые операции: %s") % ", ".join(driver.operations)}
            )
        errors = sorted(
            jsonschema.Draft202012Validator(driver.settings_schema).iter_errors(self.settings_json),
            key=lambda e: list(e.path),
        )
        if errors:
            raise ValidationError({"settings_json": [_settings_error(e) for e in errors]})


def _settings_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


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
        verbose_name = _("шаблонное изображение")
        verbose_name_plural = _("шаблонные изображения")
        ordering = ["slot", "position", "id"]

    def __str__(self) -> str:
        return f"{self.slot_id} · {self.get_role_display()}"
