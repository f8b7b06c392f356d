"""Disks that fill up, for the tests of writes that must never leave a truncated file."""

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

from media.storage import LocalMediaStorage

ROOM_BYTES = 64 * 1024


@contextlib.contextmanager
def small_tmpfs(folder: Path, size_bytes: int = ROOM_BYTES) -> Iterator[bool]:
    """Mount a tmpfs of `size_bytes` on `folder` (the tests run as root); False if refused."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)]
    mounted = subprocess.run(command, capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


class DiskFullMidWrite(LocalMediaStorage):
    """Stands in for a full disk where no tmpfs can be mounted: room for ROOM_BYTES more, and
    a bigger write fails half-way with ENOSPC, as the kernel would."""

    def _write_chunks(self, handle, content) -> None:
        data = content.read()
        handle.write(data[:ROOM_BYTES])
        handle.flush()
        if len(data) > ROOM_BYTES:
            raise OSError(errno.ENOSPC, "No space left on device")
