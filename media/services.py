"""Storing, reading and deleting media files through Django's Storage API.

This is the storage boundary: whatever the backend raises when it cannot do its job now (an
unreachable or refusing bucket, a full or failing disk) leaves here as StorageUnavailable, which
ingest answers with 503 `storage_unavailable`. A missing file stays FileNotFoundError.
"""

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.utils import timezone

from media.images import EXTENSIONS, EncodedImage
from media.models import MediaObject
from media.storage import swept_storage

log = structlog.get_logger(__name__)

# Public downloads are read in chunks of this size: a 15 MB result never sits whole in memory.
STREAM_CHUNK_BYTES = 256 * 1024


class StorageUnavailable(Exception):
    """The media storage cannot write or read now; the cause is chained."""


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        raise
    except (BotoCoreError, ClientError, OSError) as error:
        log.warning("media.storage_unavailable", error=type(error).__name__)
        raise StorageUnavailable(type(error).__name__) from error


@dataclass(frozen=True)
class StoredFile:
    path: str
    kind: str
    mime: str
    size_bytes: int
    sha256: str


def result_folder(slot_id: str, job_id: uuid.UUID) -> str:
    return f"results/{slot_id}/{job_id}"


def write_result_files(
    *, slot_id: str, job_id: uuid.UUID, payload: EncodedImage
) -> list[StoredFile]:
    """Write the payload (its preview is made after the answer, see ingest.previews); storage
    only, no database, so it may run in any thread."""
    name = f"{result_folder(slot_id, job_id)}/payload.{EXTENSIONS[payload.mime]}"
    return _write_all([(name, MediaObject.Kind.RESULT, payload)])


def write_provider_inputs(*, job_id: uuid.UUID, images: list[EncodedImage]) -> list[StoredFile]:
    """Copies of a job's inputs for providers that download them by URL."""
    return _write_all(
        [
            (
                f"provider-media/{job_id}/{index}.{EXTENSIONS[image.mime]}",
                MediaObject.Kind.PROVIDER_INPUT,
                image,
            )
            for index, image in enumerate(images)
        ]
    )


def write_file(name: str, kind: str, data: bytes, mime: str) -> StoredFile:
    """Store `data` under `name` (or a free name near it), whole or not at all."""
    digest = _sha256_alongside(data)
    with storage_errors():
        saved = default_storage.save(name, ContentFile(data))
    return StoredFile(saved, kind, mime, len(data), digest.result())


# Hashing and writing both let go of the GIL: a large file's digest is worked out in another
# thread while it is written, so a booth's 15 MB answer does not wait for one and then the other.
_HASH_ALONGSIDE_BYTES = 1024 * 1024
_hashing = ThreadPoolExecutor(2, thread_name_prefix="sha256")


def _sha256_alongside(data: bytes) -> Future[str]:
    if len(data) >= _HASH_ALONGSIDE_BYTES:
        return _hashing.submit(_sha256, data)
    digest: Future[str] = Future()
    digest.set_result(_sha256(data))
    return digest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_all(files: list[tuple[str, str, EncodedImage]]) -> list[StoredFile]:
    """All of `files` or none: when one fails, the ones already written are deleted again."""
    written: list[StoredFile] = []
    try:
        for name, kind, image in files:
            written.append(write_file(name, kind, image.data, image.mime))
    except BaseException:
        # Best effort: what the storage cannot delete now is left to the orphan sweep.
        delete_stored_files([f.path for f in written])
        raise
    return written


def record_files(
    *, files: list[StoredFile], slot_id: str, job_id: uuid.UUID | None, expires_at: datetime | None
) -> list[MediaObject]:
    return MediaObject.objects.bulk_create(
        MediaObject(
            job_id=job_id,
            slot_id=slot_id,
            kind=f.kind,
            path=f.path,
            mime=f.mime,
            size_bytes=f.size_bytes,
            sha256=f.sha256,
            expires_at=expires_at,
        )
        for f in files
    )


def delete_stored_files(paths: list[str]) -> list[str]:
    """Delete files and the folders they leave empty; returns the paths now gone.

    Stops at the first file the storage cannot delete now: the others would fail as well, each
    after its retries. Files already gone count as deleted.
    """
    gone: list[str] = []
    with contextlib.suppress(StorageUnavailable), storage_errors():
        for path in paths:
            default_storage.delete(path)
            gone.append(path)
        for folder in {os.path.dirname(path) for path in gone}:
            swept_storage().remove_empty_folder(folder)
    return gone


def delete_media(objects: list[MediaObject]) -> list[MediaObject]:
    """Delete the files of `objects` and mark them cleaned; returns those whose files are gone.

    A file the storage cannot delete now keeps its row live, so the next cleanup retries it.
    """
    gone = set(delete_stored_files([obj.path for obj in objects]))
    deleted = [obj for obj in objects if obj.path in gone]
    MediaObject.objects.filter(pk__in=[obj.pk for obj in deleted], cleaned_at__isnull=True).update(
        cleaned_at=timezone.now()
    )
    return deleted


def read_file(path: str) -> bytes:
    with storage_errors(), default_storage.open(path, "rb") as handle:
        return handle.read()


class FileStream:
    """A stored file as an async iterator of chunks, each read in a thread.

    Django's StreamingHttpResponse calls close() when the response ends, sent or abandoned.
    """

    def __init__(self, handle):
        self._handle = handle

    def __aiter__(self) -> "FileStream":
        return self

    async def __anext__(self) -> bytes:
        chunk = await asyncio.to_thread(self._read)
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def _read(self) -> bytes:
        with storage_errors():
            return self._handle.read(STREAM_CHUNK_BYTES)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection has nothing left to close
            self._handle.close()


async def open_stream(path: str) -> FileStream:
    """Open a stored file for streaming; raises FileNotFoundError or StorageUnavailable."""
    return FileStream(await asyncio.to_thread(open_file, path))


def open_file(path: str) -> File:
    """A stored file opened for reading (streamed from a bucket); close it when done."""
    with storage_errors():
        return default_storage.open(path, "rb")


def check_writable() -> None:
    """Write a tiny object and delete it again (/healthz); raises StorageUnavailable."""
    with storage_errors():
        name = default_storage.save(f"healthz/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
        default_storage.delete(name)
