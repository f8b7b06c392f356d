from django.apps import AppConfig


class PhotoChangerConfig(AppConfig):
    name = "photochanger"
    verbose_name = "PhotoChanger"
