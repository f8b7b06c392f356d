from django.apps import AppConfig


class PhotoChangerConfig(AppConfig):
    name = "photochanger"
    verbose_name = "PhotoChanger"

    def ready(self) -> None:
        from photochanger import checks  # noqa: F401  (registers the system checks)
