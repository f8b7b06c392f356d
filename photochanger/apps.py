from django.apps import AppConfig


class PhotoChangerConfig(AppConfig):
    name = "photochanger"
    verbose_name = "PhotoChanger"

    def ready(self) -> None:
        from photochanger import auth  # noqa: F401  (connects the login audit receivers)
