"""ASGI entry point: `uvicorn photochanger.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
django.setup(set_prefix=False)

from core.asgi import JsonErrorsMiddleware  # noqa: E402
from ingest.asgi import BodyLimitMiddleware, OffLoopBodyASGIHandler  # noqa: E402
from photochanger.lifespan import LifespanMiddleware  # noqa: E402

django_application = OffLoopBodyASGIHandler()
# Outermost: an exception from any layer below still gets the JSON error body.
application = JsonErrorsMiddleware(LifespanMiddleware(BodyLimitMiddleware(django_application)))
