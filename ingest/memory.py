"""Handing the memory of big uploads back to the system once they are done.

glibc serves a freed 15 MB buffer's successors from its heaps instead of fresh mappings, and
keeps what the heaps grew to: after a burst of uploads the process would hold hundreds of MB it
no longer uses. `malloc_trim(0)` returns the heaps' free pages; it runs in a thread once the last
upload in flight has ended (while others run, they would only take the memory again).
Elsewhere than glibc this does nothing.
"""

import asyncio
import ctypes
import ctypes.util
import gc
import time

import structlog

log = structlog.get_logger(__name__)

# Trimming walks the heaps: not worth it for small requests.
TRIM_AFTER_BYTES = 8 * 1024 * 1024


def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class UploadMemory:
    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._in_flight = 0
        self._bytes_since_trim = 0
        self._trimming: asyncio.Task | None = None

    def started(self) -> None:
        self._in_flight += 1

    def ended(self, body_bytes: int) -> None:
        self._in_flight -= 1
        self._bytes_since_trim += body_bytes
        if self._in_flight or self._bytes_since_trim < TRIM_AFTER_BYTES or self._trim is None:
            return
        if self._trimming is None or self._trimming.done():
            self._bytes_since_trim = 0
            self._trimming = asyncio.ensure_future(asyncio.to_thread(self._release))

    def _release(self) -> None:
        started = time.monotonic()
        # A finished request's objects may hold its photo in reference cycles, which only the
        # collector frees, and an idle process allocates nothing that would make it run.
        gc.collect(1)
        collected = time.monotonic()
        self._trim(0)
        log.info(
            "memory.released",
            collect_seconds=round(collected - started, 3),
            trim_seconds=round(time.monotonic() - collected, 3),
        )
