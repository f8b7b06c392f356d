import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MediaQuerySet(models.QuerySet["MediaObject"]):
    def live(self) -> "MediaQuerySet":
        return self.filter(cleaned_at__isnull=True)

    def expired(self, now=None) -> "MediaQuerySet":
        return self.live().filter(expires_at__lte=now or timezone.now())


class MediaObject(models.Model):
    """Every file PhotoChanger stores. Templates never expire; everything else does."""

    class Kind(models.TextChoices):
        RESULT = "result", _("результат")
        PREVIEW = "preview", _("превью")
        TEMPLATE = "template", _("шаблон")
        PROVIDER_INPUT = "provider_input", _("вход для провайдера")
        TEST_UPLOAD = "test_upload", _("тестовая загрузка")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Plain values rather than foreign keys: media sits below slots and ingest in the layering.
    job_id = models.UUIDField(_("задача"), null=True, blank=True, db_index=True)
    slot_id = models.CharField(_("слот"), max_length=32, blank=True, db_index=True)
    kind = models.CharField(_("вид"), max_length=16, choices=Kind.choices)
    path = models.CharField(_("путь"), max_length=255)
    mime = models.CharField(_("MIME"), max_length=32)
    size_bytes = models.PositiveBigIntegerField(_("размер, байт"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("создан"), default=timezone.now)
    expires_at = models.DateTimeField(_("истекает"), null=True, blank=True)
    cleaned_at = models.DateTimeField(_("удалён"), null=True, blank=True)

    objects = MediaQuerySet.as_manager()

    class Meta:
        verbose_name = _("медиафайл")
        verbose_name_plural = _("медиафайлы")
        indexes = [
            # Cleanup reads only what expired and is not yet cleaned.
            models.Index(
                fields=["expires_at"],
                name="media_expiring_idx",
                condition=models.Q(cleaned_at__isnull=True, expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.path

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
