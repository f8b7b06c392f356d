"""The two places media files can live, behind Django's Storage API.

`LocalMediaStorage` (the default) is the local disk with atomic writes. `S3MediaStorage` is an
S3-compatible bucket (django-storages), chosen by STORAGE_URL (`media/storage_config.py`), so
that several machines share one set of files. Besides the Storage API both offer what cleanup
needs: `list_files(prefix)` (one listing call per 1 000 objects on S3, instead of a request per
file) and `remove_empty_folder(folder)` (nothing to do on S3, where a "folder" is a key prefix
that disappears with its last object).
"""

import contextlib
import os
import posixpath
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Protocol, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils._os import safe_makedirs
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# Files being written carry this suffix until they are complete; nothing ever serves them.
TEMPORARY_SUFFIX = ".part"
# Every file PhotoChanger writes is far below this, so each one is a single, atomic PUT.
SINGLE_PUT_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True)
class StoredEntry:
    name: str
    size: int
    modified: datetime


class SweptStorage(Protocol):
    """What cleanup needs besides the Storage API; both storages below offer it."""

    def list_files(self, prefix: str) -> Iterator[StoredEntry]: ...

    def remove_empty_folder(self, folder: str) -> None: ...

    def remove_empty_folders(self, prefix: str) -> None: ...


def swept_storage() -> SweptStorage:
    """`default_storage` as what it is configured to be (STORAGES: one of the two below)."""
    return cast(SweptStorage, default_storage)


class LocalMediaStorage(FileSystemStorage):
    """The local disk, written atomically.

    Each file is written to a temporary name in its final folder, flushed to disk and renamed
    over its final name (`os.replace`), so a crash or a full disk mid-write leaves no truncated
    file under a name anything serves; a failed write removes its temporary file.
    """

    def _save(self, name: str, content) -> str:
        full_path = self.path(name)
        fd, temporary = self._create_temporary(os.path.dirname(full_path))
        try:
            with os.fdopen(fd, "wb") as handle:
                self._write_chunks(handle, content)
                handle.flush()
                os.fsync(handle.fileno())
            if self.file_permissions_mode is not None:
                os.chmod(temporary, self.file_permissions_mode)
            os.replace(temporary, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        # Django's own step after a save (FileSystemStorage._save); django-stubs omits it.
        self._ensure_location_group_id(full_path)  # type: ignore[attr-defined]
        return os.path.relpath(full_path, self.location).replace("\\", "/")

    def _create_temporary(self, folder: str) -> tuple[int, str]:
        temporary = os.path.join(folder, f".{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
        # Mode 0o666 less the umask, as FileSystemStorage creates its files.
        flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666
        self._make_folder(folder)
        try:
            return os.open(temporary, flags, mode), temporary
        except FileNotFoundError:  # an orphan sweep removed the empty folder just now
            self._make_folder(folder)
            return os.open(temporary, flags, mode), temporary

    def _make_folder(self, folder: str) -> None:
        if self.directory_permissions_mode is not None:
            safe_makedirs(folder, self.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(folder, exist_ok=True)

    def _write_chunks(self, handle, content) -> None:
        for chunk in content.chunks():
            handle.write(chunk.encode() if isinstance(chunk, str) else chunk)

    def list_files(self, prefix: str) -> Iterator[StoredEntry]:
        for folder, _, names in os.walk(self.path(prefix)):
            for name in names:
                full_path = os.path.join(folder, name)
                try:
                    stat = os.stat(full_path)
                except FileNotFoundError:  # deleted while the walk went on
                    continue
                yield StoredEntry(
                    os.path.relpath(full_path, self.location).replace("\\", "/"),
                    stat.st_size,
                    datetime.fromtimestamp(stat.st_mtime, UTC),
                )

    def remove_empty_folder(self, folder: str) -> None:
        with contextlib.suppress(OSError):  # not empty, or already gone
            os.rmdir(self.path(folder))

    def remove_empty_folders(self, prefix: str) -> None:
        """Remove the empty folders below `prefix` (a write that loses its folder retries)."""
        root = self.path(prefix)
        for folder, _, _ in os.walk(root, topdown=False):
            if folder != root:
                self.remove_empty_folder(os.path.relpath(folder, self.location))


class S3MediaStorage(S3Storage):
    """An S3-compatible bucket: short timeouts, a few retries, every file one PUT.

    A PUT is atomic: the object appears whole or not at all. Reads stream the object instead of
    downloading it into memory first as django-storages' S3File does.
    """

    # django-storages builds a boto session per thread, and each session parses boto's service
    # descriptions again: about a second of CPU for every thread that touches the bucket. One
    # session per set of credentials, shared under a lock, parses them once per process.
    _sessions: ClassVar[dict[tuple, boto3.Session]] = {}
    _sessions_lock = threading.Lock()

    def __init__(self, **options):
        # Unset means boto's default (AWS itself, its credential chain), never an empty string.
        for name in ("endpoint_url", "region_name", "addressing_style", "access_key", "secret_key"):
            options[name] = options.get(name) or None
        options.setdefault("client_config", _client_config(options.get("addressing_style")))
        options.setdefault(
            "transfer_config",
            TransferConfig(multipart_threshold=SINGLE_PUT_LIMIT, use_threads=False),
        )
        super().__init__(**options)

    @property
    def connection(self):
        with self._sessions_lock:  # a boto session must not build two clients at once
            return super().connection

    def _create_session(self) -> boto3.Session:
        key = (self.access_key, self.secret_key, self.security_token, self.session_profile)
        if key not in self._sessions:
            self._sessions[key] = super()._create_session()
        return self._sessions[key]

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        try:
            answer = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"no such file: {name}") from error
            raise
        stream = File(answer["Body"], name)
        stream.size = answer["ContentLength"]
        return stream

    def list_files(self, prefix: str) -> Iterator[StoredEntry]:
        root = self._normalize_name(clean_name(prefix)).rstrip("/") + "/"
        pages = self.connection.meta.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name, Prefix=root
        )
        for page in pages:
            for entry in page.get("Contents", ()):
                name = (
                    posixpath.relpath(entry["Key"], self.location)
                    if self.location
                    else entry["Key"]
                )
                yield StoredEntry(name, entry["Size"], entry["LastModified"])

    def remove_empty_folder(self, folder: str) -> None:
        """Nothing to do: a prefix disappears with its last object."""

    def remove_empty_folders(self, prefix: str) -> None:
        """Nothing to do: a prefix disappears with its last object."""


def _client_config(addressing_style: str | None) -> Config:
    timeout = settings.STORAGE_TIMEOUT_SECONDS
    return Config(
        s3={"addressing_style": addressing_style or "auto"},
        connect_timeout=timeout,
        read_timeout=timeout,
        # A few quick retries ride out a blip; an unreachable bucket fails well inside the
        # ingest window instead of boto's default minute-long connect timeout.
        retries={"max_attempts": 3, "mode": "standard"},
        # Checksums only where S3 requires them: many S3-compatible servers reject the
        # default CRC headers of recent boto versions.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
