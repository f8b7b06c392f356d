"""Storing, reading and deleting media files through Django's Storage API."""

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from media.images import EXTENSIONS, EncodedImage
from media.models import MediaObject


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
    *, slot_id: str, job_id: uuid.UUID, payload: EncodedImage, preview: EncodedImage
) -> list[StoredFile]:
    """Write payload and preview; storage only, no database, so it may run in any thread."""
    folder = result_folder(slot_id, job_id)
    files = [
        (f"{folder}/payload.{EXTENSIONS[payload.mime]}", MediaObject.Kind.RESULT, payload),
        (f"{folder}/preview.webp", MediaObject.Kind.PREVIEW, preview),
    ]
    return [_write(name, kind, image.data, image.mime) for name, kind, image in files]


def write_provider_inputs(*, job_id: uuid.UUID, images: list[EncodedImage]) -> list[StoredFile]:
    """Copies of a job's inputs for providers that download them by URL."""
    return [
        _write(
            f"provider-media/{job_id}/{index}.{EXTENSIONS[image.mime]}",
            MediaObject.Kind.PROVIDER_INPUT,
            image.data,
            image.mime,
        )
        for index, image in enumerate(images)
    ]


def _write(name: str, kind: str, data: bytes, mime: str) -> StoredFile:
    saved = default_storage.save(name, ContentFile(data))
    return StoredFile(saved, kind, mime, len(data), hashlib.sha256(data).hexdigest())


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


def delete_stored_files(paths: list[str]) -> None:
    """Delete files and the folders they leave empty; files already gone are fine."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            default_storage.delete(path)
    for folder in {os.path.dirname(p) for p in paths}:
        _remove_empty_folder(folder)


def _remove_empty_folder(folder: str) -> None:
    try:
        local = default_storage.path(folder)
    except NotImplementedError:  # object stores have no folders to remove
        return
    with contextlib.suppress(FileNotFoundError, OSError):
        os.rmdir(local)


def delete_media(objects: list[MediaObject]) -> int:
    """Delete the files of `objects` and mark them cleaned. Returns the bytes freed."""
    delete_stored_files([obj.path for obj in objects])
    now = timezone.now()
    cleaned = MediaObject.objects.filter(
        pk__in=[obj.pk for obj in objects], cleaned_at__isnull=True
    ).update(cleaned_at=now)
    return sum(obj.size_bytes for obj in objects) if cleaned else 0


def read_file(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()
