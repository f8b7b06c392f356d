from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "media"
    label = "media"
    verbose_name = _("Медиафайлы")

    def ready(self):
        from media import checks  # noqa: F401  (registers the storage checks)
