from django.core.management.base import BaseCommand

from photochanger.metrics import reset_multiprocess_dir


class Command(BaseCommand):
    help = (
        "Empty PROMETHEUS_MULTIPROC_DIR before uvicorn starts its workers, so /metrics does not "
        "add up files of processes from an earlier run."
    )

    def handle(self, *args, **options):
        path = reset_multiprocess_dir()
        if path is None:
            self.stdout.write("PROMETHEUS_MULTIPROC_DIR is not set: single-process metrics.")
        else:
            self.stdout.write(f"Emptied {path}")
