"""Images staff upload (slot templates, temporary files): checked like ingest input, then stored.

Sync code: call it from a sync view (Django runs those in a thread) or through
`core.cpu.run_cpu`; decoding never runs on the event loop.
"""

import uuid
from datetime import datetime

from media import images
from media.models import MediaObject
from media.services import record_files, write_file


class UploadTooLarge(Exception):
    """The file is over the upload limit."""


def check_upload_size(*, size_bytes: int, limit_mb: int) -> None:
    if size_bytes > limit_mb * images.MB:
        raise UploadTooLarge(f"the file is over the {limit_mb} MB limit")


def store_image(
    *, data: bytes, folder: str, kind: str, slot_id: str = "", expires_at: datetime | None
) -> MediaObject:
    """Decode, orient and re-encode `data` without metadata, store it, record its row.

    Raises images.UnsupportedImage, images.InvalidImage or services.StorageUnavailable; nothing
    is stored then.
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
    stored = write_file(name, kind, image.data, image.mime)
    [media] = record_files(files=[stored], slot_id=slot_id, job_id=None, expires_at=expires_at)
    return media
