"""Serve PhotoChanger with uvicorn and the limits in settings (HOST, PORT, WORKERS, SERVER_*)."""

import uvicorn
from django.core.management.base import BaseCommand

from photochanger.serving import APPLICATION, uvicorn_options


class Command(BaseCommand):
    help = (
        "Start uvicorn with the settings' host, port, workers, header size, keep-alive and "
        "concurrency limits (see .env.example); flags override the settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", help="default: HOST")
        parser.add_argument("--port", type=int, help="default: PORT")
        parser.add_argument("--workers", type=int, help="default: WORKERS")

    def handle(self, *args, host, port, workers, **options):
        uvicorn.run(APPLICATION, **uvicorn_options(host=host, port=port, workers=workers))
