"""System checks: a wrong storage setting stops `manage.py check` and `migrate`, not an upload."""

from django.conf import settings
from django.core import checks

from media.storage_config import S3_BACKEND, option_problems, parse_storage_url


@checks.register(checks.Tags.compatibility)
def check_media_storage(app_configs, **kwargs) -> list[checks.CheckMessage]:
    problems = parse_storage_url(settings.STORAGE_URL)[1] if settings.STORAGE_URL else []
    default = settings.STORAGES["default"]
    if default["BACKEND"] == S3_BACKEND:
        problems += option_problems(default.get("OPTIONS", {}))
    return [checks.Error(p.message, hint=p.hint, id=p.id) for p in problems]
