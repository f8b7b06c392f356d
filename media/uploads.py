"""Images staff upload (slot templates, temporary files): checked like ingest input, then stored.

Sync code: call it from a sync view (Django runs those in a thread) or through
`core.cpu.run_cpu`; decoding never runs on the event loop.
"""

import hashlib
import uuid
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media import images
from media.models import MediaObject
from media.services import StoredFile, record_files


class UploadTooLarge(Exception):
    """The file is over the upload limit."""


def check_upload_size(*, size_bytes: int, limit_mb: int) -> None:
    if size_bytes > limit_mb * images.MB:
        raise UploadTooLarge(f"the file is over the {limit_mb} MB limit")


def store_image(
    *, data: bytes, folder: str, kind: str, slot_id: str = "", expires_at: datetime | None
) -> MediaObject:
    """Decode, orient and re-encode `data` without metadata, store it, record its row.

    Raises images.UnsupportedImage or images.InvalidImage; nothing is stored then.
    """
    return store_clean_image(
        image=images.normalise_upload(data),
        folder=folder,
        kind=kind,
        slot_id=slot_id,
        expires_at=expires_at,
    )


def store_clean_image(
    *, image: images.EncodedImage, folder: str, kind: str, slot_id: str, expires_at: datetime | None
) -> MediaObject:
    """Store an image `normalise_upload` already produced; storage and one row, no decoding."""
    name = f"{folder}/{uuid.uuid4().hex}.{images.EXTENSIONS[image.mime]}"
    path = default_storage.save(name, ContentFile(image.data))
    stored = StoredFile(
        path=path,
        kind=kind,
        mime=image.mime,
        size_bytes=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
    )
    [media] = record_files(files=[stored], slot_id=slot_id, job_id=None, expires_at=expires_at)
    return media
