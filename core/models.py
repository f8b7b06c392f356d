from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuntimeSetting(models.Model):
    """One staff-editable setting; read through `core.runtime`, never directly.

    A null value means "not set here": the default from the environment applies.
    """

    key = models.CharField(_("ключ"), max_length=64, primary_key=True)
    value = models.JSONField(_("значение"), null=True, blank=True)
    version = models.PositiveIntegerField(_("версия"), default=1)
    updated_at = models.DateTimeField(_("изменено"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кем изменено"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        # The table keeps the name it had before the model moved into core.
        db_table = "photochanger_runtimesetting"
        # Masculine, so Django's «… был успешно изменен» agrees with it.
        verbose_name = _("параметр")
        verbose_name_plural = _("параметры")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
