import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from media.cleanup import sweep_orphan_folders
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory

pytestmark = pytest.mark.django_db


def result_file(job, name="payload.png", age=timedelta(hours=2)):
    path = default_storage.save(f"results/slot-001/{job}/{name}", ContentFile(b"x" * 7))
    written = (timezone.now() - age).timestamp()
    os.utime(default_storage.path(path), (written, written))
    return path


def test_sweep_removes_old_result_folders_that_no_row_references():
    result_file("job-a", "payload.png")
    result_file("job-a", "preview.webp")

    report = sweep_orphan_folders()

    assert (report.files, report.bytes) == (2, 14)
    assert not default_storage.exists("results/slot-001/job-a")


def test_sweep_keeps_folders_that_live_media_rows_reference():
    path = result_file("job-b")
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, path=path, expires_at=timezone.now())

    assert sweep_orphan_folders().files == 0
    assert default_storage.exists(path)


def test_sweep_removes_folders_whose_rows_are_all_cleaned():
    path = result_file("job-c")
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, path=path, cleaned_at=timezone.now())

    assert sweep_orphan_folders().files == 1
    assert not default_storage.exists(path)


def test_sweep_spares_folders_written_recently_as_ingest_may_not_have_recorded_them_yet():
    path = result_file("job-d", age=timedelta(minutes=5))

    assert sweep_orphan_folders().files == 0
    assert default_storage.exists(path)


def test_sweep_removes_empty_result_folders():
    os.makedirs(default_storage.path("results/slot-001/job-e"))

    sweep_orphan_folders()

    assert not default_storage.exists("results/slot-001/job-e")


def test_sweep_dry_run_reports_and_keeps_files():
    path = result_file("job-f")

    report = sweep_orphan_folders(dry_run=True)

    assert (report.files, report.dry_run) == (1, True)
    assert default_storage.exists(path)


def test_sweep_without_a_results_folder_finds_nothing():
    assert sweep_orphan_folders().files == 0
