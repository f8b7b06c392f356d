"""The cron job (every 15 minutes): end jobs whose worker died, then delete expired files.

It lives in ingest, above media, because it does both: ending an overdue job frees its
concurrency seats and deletes its files, which media alone knows nothing about.
"""

from django.core.management.base import BaseCommand, CommandError

from ingest.jobs import reconcile_overdue_jobs
from media.cleanup import cleanup_media, sweep_orphans
from media.services import StorageUnavailable


class Command(BaseCommand):
    help = (
        "Delete expired result, preview, provider-input and test-upload files and mark their "
        "rows cleaned (cron: every 15 minutes). Templates are never touched. Jobs left "
        "processing past their deadline are ended first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report, delete nothing")
        parser.add_argument("--slot", metavar="SLOT_ID", help="only this slot, e.g. slot-001")
        parser.add_argument(
            "--orphans",
            action="store_true",
            help="also delete stored files no media row names (lists the whole storage)",
        )

    def handle(self, *args, dry_run, slot, orphans, **options):
        if not dry_run:
            ended = reconcile_overdue_jobs()
            if ended:
                self.stdout.write(f"overdue jobs: ended {ended}")
        try:
            self._print("expired", cleanup_media(slot_id=slot, dry_run=dry_run))
            if orphans:
                self._print("orphaned", sweep_orphans(dry_run=dry_run))
        except StorageUnavailable as error:
            # Rows whose files could not be deleted stay live: the next run retries them.
            raise CommandError(f"the media storage is unavailable ({error})") from error

    def _print(self, what, report):
        verb = "would delete" if report.dry_run else "deleted"
        self.stdout.write(
            f"{what}: {verb} {report.files} files, {report.bytes} bytes in {report.seconds:.3f} s"
        )
