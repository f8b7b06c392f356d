import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from media.cleanup import sweep_orphans
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory

pytestmark = pytest.mark.django_db


def stored(name: str) -> str:
    return default_storage.save(name, ContentFile(b"x" * 7))


def sweep(**options):
    """A sweep two hours from now: everything written by the test is old enough to go."""
    return sweep_orphans(now=timezone.now() + timedelta(hours=2), **options)


def test_sweep_removes_old_result_files_that_no_row_names(storage):
    stored("results/slot-001/job-a/payload.png")
    stored("results/slot-001/job-a/preview.webp")

    report = sweep()

    assert (report.files, report.bytes) == (2, 14)
    assert storage.names() == []


def test_sweep_keeps_files_that_live_media_rows_name(storage):
    path = stored("results/slot-001/job-b/payload.png")
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, path=path, expires_at=timezone.now())

    assert sweep().files == 0
    assert storage.names() == [path]


def test_sweep_removes_files_whose_rows_are_all_cleaned(storage):
    path = stored("results/slot-001/job-c/payload.png")
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, path=path, cleaned_at=timezone.now())

    assert sweep().files == 1
    assert storage.names() == []


def test_sweep_spares_files_written_recently_as_ingest_may_not_have_recorded_them_yet(storage):
    path = stored("results/slot-001/job-d/payload.png")

    assert sweep_orphans(now=timezone.now() + timedelta(minutes=5)).files == 0
    assert storage.names() == [path]


@pytest.mark.parametrize(
    "name",
    [
        "provider-media/job-e/0.jpg",  # a crash between writing inputs and recording them
        "healthz/0123abcd.probe",  # a probe whose delete never ran
        "templates/slot-001/lost.png",  # an upload whose transaction rolled back
        "uploads/shared/lost.jpg",
        "results/slot-001/job-e/.0123abcd.part",  # a write cut short by a crash
    ],
)
def test_sweep_covers_every_kind_of_stored_file(storage, name):
    stored(name)

    assert sweep().files == 1
    assert storage.names() == []


def test_sweep_keeps_templates_that_slots_use(storage):
    template = MediaObjectFactory(kind=MediaObject.Kind.TEMPLATE)

    assert sweep().files == 0
    assert storage.names() == [template.path]


def test_sweep_dry_run_reports_and_keeps_files(storage):
    path = stored("results/slot-001/job-f/payload.png")

    report = sweep(dry_run=True)

    assert (report.files, report.dry_run) == (1, True)
    assert storage.names() == [path]


def test_sweep_of_an_empty_storage_finds_nothing(storage):
    assert sweep().files == 0


def test_sweep_removes_empty_folders_on_the_local_disk(settings):
    os.makedirs(settings.MEDIA_ROOT / "results/slot-001/job-g")
    stored("results/slot-001/job-h/payload.png")

    sweep()

    assert not (settings.MEDIA_ROOT / "results/slot-001").exists()
    assert (settings.MEDIA_ROOT / "results").is_dir()  # the prefix itself stays
