"""ASGI entry point: `uvicorn photochanger.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
django_application = get_asgi_application()

from ingest.asgi import BodyLimitMiddleware  # noqa: E402
from photochanger.lifespan import LifespanMiddleware  # noqa: E402  (needs Django set up)

application = LifespanMiddleware(BodyLimitMiddleware(django_application))
