import errno
import os
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from structlog.testing import capture_logs

from media import cleanup
from media.cleanup import cleanup_media
from media.models import MediaObject
from media.services import StorageUnavailable
from media.tests.factories import MediaObjectFactory

pytestmark = pytest.mark.django_db


def expired_result(slot_id="slot-001", name="payload.png", job="job-1", **fields):
    fields.setdefault("kind", MediaObject.Kind.RESULT)
    fields.setdefault("expires_at", timezone.now() - timedelta(minutes=1))
    return MediaObjectFactory(
        slot_id=slot_id,
        path=default_storage.save(f"results/{slot_id}/{job}/{name}", ContentFile(b"x" * 10)),
        size_bytes=10,
        **fields,
    )


def test_cleanup_deletes_expired_files_and_marks_rows_cleaned(storage):
    payload = expired_result(name="payload.png")
    preview = expired_result(name="preview.webp", kind=MediaObject.Kind.PREVIEW)

    report = cleanup_media()

    assert (report.files, report.bytes) == (2, 20)
    assert storage.names() == []
    assert not default_storage.exists(payload.path)
    assert not default_storage.exists("results/slot-001/job-1")  # the emptied folder goes too
    cleaned = MediaObject.objects.exclude(cleaned_at=None).values_list("pk", flat=True)
    assert set(cleaned) == {payload.pk, preview.pk}


def test_cleanup_keeps_media_that_has_not_expired_yet(storage):
    live = MediaObjectFactory(
        kind=MediaObject.Kind.RESULT, expires_at=timezone.now() + timedelta(hours=1)
    )

    assert cleanup_media().files == 0
    assert default_storage.exists(live.path)
    live.refresh_from_db()
    assert live.cleaned_at is None


def test_cleanup_never_touches_templates_even_with_an_expiry_set(storage):
    template = MediaObjectFactory(
        kind=MediaObject.Kind.TEMPLATE, expires_at=timezone.now() - timedelta(days=1)
    )

    assert cleanup_media().files == 0
    assert default_storage.exists(template.path)
    template.refresh_from_db()
    assert template.cleaned_at is None


def test_dry_run_reports_what_would_go_and_deletes_nothing(storage):
    media = expired_result()

    report = cleanup_media(dry_run=True)

    assert (report.files, report.bytes, report.dry_run) == (1, 10, True)
    assert default_storage.exists(media.path)
    assert MediaObject.objects.expired().count() == 1


def test_cleanup_limited_to_one_slot_leaves_other_slots_alone(storage):
    expired_result(slot_id="slot-001")
    other = expired_result(slot_id="slot-002")

    assert cleanup_media(slot_id="slot-001").files == 1
    assert default_storage.exists(other.path)


def test_cleanup_uses_the_given_clock(storage):
    media = MediaObjectFactory(
        kind=MediaObject.Kind.PROVIDER_INPUT, expires_at=timezone.now() + timedelta(hours=2)
    )

    assert cleanup_media(now=timezone.now() + timedelta(hours=3)).files == 1
    assert not default_storage.exists(media.path)


def test_cleanup_tolerates_files_that_are_already_gone(storage):
    media = expired_result()
    default_storage.delete(media.path)

    report = cleanup_media()

    assert report.files == 1
    media.refresh_from_db()
    assert media.cleaned_at is not None


def test_cleanup_works_through_more_rows_than_one_batch(storage, monkeypatch):
    monkeypatch.setattr(cleanup, "BATCH_SIZE", 2)
    for job in range(5):
        expired_result(job=f"job-{job}")

    assert cleanup_media().files == 5
    assert not MediaObject.objects.expired().exists()
    assert storage.names() == []


def test_a_jobs_files_go_in_the_same_batch_so_its_folder_is_removed_once(monkeypatch):
    monkeypatch.setattr(cleanup, "BATCH_SIZE", 2)
    expiry = timezone.now() - timedelta(minutes=1)  # ingest records a job's files together
    for name in ("payload.png", "preview.webp"):  # interleaved: job-a, job-b, job-a, job-b
        for job in ("job-a", "job-b"):
            expired_result(job=job, name=name, expires_at=expiry)
    removals = []
    real_rmdir = os.rmdir
    monkeypatch.setattr(os, "rmdir", lambda path: removals.append(path) or real_rmdir(path))

    cleanup_media()

    assert sorted(os.path.basename(path) for path in removals) == ["job-a", "job-b"]


def test_a_second_run_finds_nothing_left_to_delete(storage):
    expired_result()
    cleanup_media()

    assert cleanup_media().files == 0


def test_cleanup_run_is_logged_with_its_summary():
    expired_result()

    with capture_logs() as logs:
        cleanup_media(slot_id="slot-001")

    assert [(e["event"], e["slot_id"], e["files"], e["bytes"]) for e in logs] == [
        ("cleanup.finished", "slot-001", 1, 10)
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks to skip; runs take turns"
)
def test_overlapping_runs_delete_each_file_once(monkeypatch):
    """Run A holds its claimed batch while run B goes; B must pass A's rows, not delete them."""
    for job in range(4):
        expired_result(job=f"job-{job}")
    monkeypatch.setattr(cleanup, "BATCH_SIZE", 2)
    deleted, a_claimed, release_a = [], threading.Event(), threading.Event()
    real_delete = cleanup.delete_media

    def delete_and_record(batch):
        deleted.extend(obj.path for obj in batch)
        if threading.current_thread().name == "run-a" and not a_claimed.is_set():
            a_claimed.set()
            assert release_a.wait(timeout=30)
        return real_delete(batch)

    monkeypatch.setattr(cleanup, "delete_media", delete_and_record)
    reports = {}

    def run_in_thread():
        try:
            reports["a"] = cleanup_media()
        finally:
            connection.close()

    run_a = threading.Thread(target=run_in_thread, name="run-a")
    run_a.start()
    assert a_claimed.wait(timeout=30)
    reports["b"] = cleanup_media()
    release_a.set()
    run_a.join(timeout=30)

    assert reports["b"].files == 2  # the two rows A did not hold
    assert reports["a"].files + reports["b"].files == 4
    assert sorted(deleted) == sorted(set(deleted)) and len(deleted) == 4


def test_cleanup_stops_when_the_storage_deletes_nothing_and_keeps_the_rows_for_later(
    storage, monkeypatch
):
    media = expired_result()

    def refuse(name):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(default_storage, "delete", refuse)
    with pytest.raises(StorageUnavailable):
        cleanup_media()

    media.refresh_from_db()
    assert media.cleaned_at is None
    monkeypatch.undo()
    assert cleanup_media().files == 1
