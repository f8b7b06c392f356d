from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "PhotoChanger"

    def ready(self) -> None:
        from core import auth  # noqa: F401  (connects the login audit receivers)
