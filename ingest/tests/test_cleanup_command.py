import errno
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.factories import JobFactory
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory

pytestmark = pytest.mark.django_db


def expired(slot_id):
    return MediaObjectFactory(
        kind=MediaObject.Kind.PREVIEW,
        slot_id=slot_id,
        path=default_storage.save(f"results/{slot_id}/job/preview.webp", ContentFile(b"abc")),
        size_bytes=3,
        expires_at=timezone.now() - timedelta(seconds=1),
    )


def run(*args) -> str:
    out = StringIO()
    call_command("cleanup_media", *args, stdout=out)
    return out.getvalue()


def test_command_prints_the_summary_of_what_it_deleted(storage):
    media = expired("slot-003")

    assert run().startswith("expired: deleted 1 files, 3 bytes in ")
    assert not default_storage.exists(media.path)


def test_command_dry_run_for_one_slot_deletes_nothing(storage):
    media = expired("slot-003")
    expired("slot-004")

    assert run("--dry-run", "--slot", "slot-003").startswith("expired: would delete 1 files")
    assert default_storage.exists(media.path)


def test_command_sweeps_orphans_only_when_asked(storage):
    assert "orphaned" not in run()
    assert "orphaned: deleted 0 files" in run("--orphans")


def test_command_ends_jobs_whose_worker_died_and_frees_their_seats():
    job = JobFactory(deadline_at=timezone.now() - timedelta(minutes=2))
    ConcurrencyLease.objects.claim(
        scope="slot:slot-001",
        limit=1,
        job_id=job.job_id,
        expires_at=timezone.now() + timedelta(minutes=5),
    )

    assert run().splitlines()[0] == "overdue jobs: ended 1"
    assert JobHistory.objects.get(pk=job.pk).status == JobHistory.Status.FAILED
    assert not ConcurrencyLease.objects.filter(job_id=job.job_id).exists()


def test_command_dry_run_leaves_overdue_jobs_alone():
    job = JobFactory(deadline_at=timezone.now() - timedelta(minutes=2))

    assert "overdue" not in run("--dry-run")
    assert JobHistory.objects.get(pk=job.pk).status == JobHistory.Status.PROCESSING


def test_command_fails_with_a_message_when_the_storage_is_unavailable(monkeypatch):
    expired("slot-003")

    def refuse(name):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(default_storage, "delete", refuse)
    with pytest.raises(CommandError, match="media storage is unavailable"):
        run()
