import errno
import hashlib
import os
import stat

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media import services
from media.services import StorageUnavailable, read_file, write_file
from media.storage import LocalMediaStorage
from media.tests.disks import ROOM_BYTES, DiskFullMidWrite


def local_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_write_goes_through_a_temporary_name_and_leaves_only_the_file(settings):
    path = default_storage.save("results/slot-001/job/payload.jpg", ContentFile(b"x" * 100))

    assert path == "results/slot-001/job/payload.jpg"
    assert local_files(settings.MEDIA_ROOT) == ["results/slot-001/job/payload.jpg"]
    assert read_file(path) == b"x" * 100


def test_written_files_get_the_permissions_django_gives_them(settings):
    umask = os.umask(0)
    os.umask(umask)
    default_storage.save("templates/slot-001/a.png", ContentFile(b"png"))

    mode = stat.S_IMODE((settings.MEDIA_ROOT / "templates/slot-001/a.png").stat().st_mode)
    assert mode == 0o666 & ~umask


def test_a_name_already_taken_gets_a_new_one():
    first = default_storage.save("uploads/shared/a.jpg", ContentFile(b"1"))
    second = default_storage.save("uploads/shared/a.jpg", ContentFile(b"2"))

    assert first != second
    assert (read_file(first), read_file(second)) == (b"1", b"2")


class FolderSweptAway(LocalMediaStorage):
    """The orphan sweep removes the new, still empty folder between its creation and use."""

    swept = False

    def _make_folder(self, folder):
        super()._make_folder(folder)
        if not self.swept:
            self.swept = True
            os.rmdir(folder)


def test_a_write_whose_folder_is_swept_away_meanwhile_still_succeeds(settings):
    storage = FolderSweptAway(location=settings.MEDIA_ROOT)

    path = storage.save("healthz/probe", ContentFile(b"ok"))

    assert storage.swept and read_file(path) == b"ok"


def test_a_write_that_fails_half_way_leaves_nothing_behind(settings):
    storage = DiskFullMidWrite(location=settings.MEDIA_ROOT)
    storage.save("results/slot-001/job/old.jpg", ContentFile(b"x" * 1000))  # still fits

    with pytest.raises(OSError, match="No space left"):
        storage.save("results/slot-001/job/payload.jpg", ContentFile(b"x" * (ROOM_BYTES + 1)))

    assert local_files(settings.MEDIA_ROOT) == ["results/slot-001/job/old.jpg"]


def test_a_full_disk_fails_the_write_cleanly_and_keeps_what_was_stored(full_disk):
    kept = write_file("templates/slot-001/kept.png", "template", b"k" * 1000, "image/png")
    big = os.urandom(3 * ROOM_BYTES)  # three times the room left

    with pytest.raises(StorageUnavailable) as raised:
        write_file("results/slot-001/job/payload.jpg", "result", big, "image/jpeg")

    assert raised.value.__cause__.errno == errno.ENOSPC
    assert local_files(full_disk) == [kept.path]
    assert read_file(kept.path) == b"k" * 1000


@pytest.mark.parametrize("size", [100, 3 * 1024 * 1024], ids=["small", "hashed-alongside"])
def test_a_stored_file_records_the_digest_of_what_was_written(size):
    data = os.urandom(size)

    stored = write_file("results/slot-001/job/payload.jpg", "result", data, "image/jpeg")

    assert read_file(stored.path) == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size_bytes == size


def test_a_jobs_provider_inputs_are_written_all_or_none(settings, monkeypatch):
    real_save, saved = default_storage.save, []

    def save_then_fail(name, content):
        if saved:
            raise OSError(errno.EIO, "Input/output error")
        saved.append(real_save(name, content))
        return saved[-1]

    monkeypatch.setattr(default_storage, "save", save_then_fail)
    image = services.EncodedImage(b"jpeg", "image/jpeg", 1, 1)

    with pytest.raises(StorageUnavailable):
        services.write_provider_inputs(job_id="job", images=[image, image])

    assert saved and local_files(settings.MEDIA_ROOT) == []


def test_a_bucket_streams_files_and_lists_them_by_prefix(s3_storage):
    data = os.urandom(600 * 1024)
    path = write_file("results/slot-001/job/payload.jpg", "result", data, "image/jpeg").path
    write_file("templates/slot-001/t.png", "template", b"png", "image/png")

    handle = services.open_file(path)
    chunks = iter(lambda: handle.read(services.STREAM_CHUNK_BYTES), b"")
    assert [len(chunk) for chunk in chunks] == [262144, 262144, 90112]
    assert handle.size == len(data)
    [entry] = default_storage.list_files("results")
    assert (entry.name, entry.size) == (path, len(data))
    assert s3_storage.names() == [path, "templates/slot-001/t.png"]


def test_a_missing_file_in_a_bucket_is_file_not_found(s3_storage):
    with pytest.raises(FileNotFoundError):
        read_file("results/slot-001/nothing/payload.jpg")


def test_an_unreachable_bucket_is_storage_unavailable(settings, s3_storage):
    from media.tests.s3 import free_port

    options = {**s3_storage.setting["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{free_port()}"}
    settings.STORAGES = {**settings.STORAGES, "default": {**s3_storage.setting, "OPTIONS": options}}

    with pytest.raises(StorageUnavailable, match="EndpointConnectionError"):
        write_file("healthz/x.probe", "", b"ok", "")
