import os
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or empty PROMETHEUS_MULTIPROC_DIR. Run it once before uvicorn starts its "
        "workers (never while they run): /metrics adds up every file in that folder, so files "
        "of an earlier run's processes would be counted again."
    )
    # The checks import the URLconf and with it the metrics, which need the folder to exist.
    requires_system_checks = []

    def handle(self, *args, **options):
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            self.stdout.write("PROMETHEUS_MULTIPROC_DIR is not set: metrics stay per process.")
            return
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        self.stdout.write(f"Emptied {path}")
