"""ASGI entry point: `uvicorn photochanger.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
django.setup(set_prefix=False)

from ingest.asgi import BodyLimitMiddleware, OffLoopBodyASGIHandler  # noqa: E402
from photochanger.lifespan import LifespanMiddleware  # noqa: E402

django_application = OffLoopBodyASGIHandler()
application = LifespanMiddleware(BodyLimitMiddleware(django_application))
