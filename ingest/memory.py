"""Handing the memory of big uploads back to the system.

glibc serves a freed 15 MB buffer's successors from its heaps instead of fresh mappings, and
keeps what the heaps grew to: after a burst of uploads the process would hold hundreds of MB it
no longer uses, and while a hundred uploads wait on a provider it would still hold the chunks
their bodies arrived in, besides their photos. So once no upload is being read, a
young-generation collection (a finished request's objects can hold its photo in reference
cycles, which only the collector frees) and `malloc_trim(0)` hand the heaps' free pages back,
in a thread. Elsewhere than glibc, only the collection runs.
"""

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Iterator

import structlog

log = structlog.get_logger(__name__)

# Bodies read since the last release, before another is worth it: when the process is idle,
# and while other uploads are still being answered (each release costs a few milliseconds).
RELEASE_WHEN_IDLE_BYTES = 8 * 1024 * 1024
RELEASE_WHEN_BUSY_BYTES = 64 * 1024 * 1024


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class UploadMemory:
    """Counts uploads being read and being answered; releases memory when no body is coming in."""

    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._reading = 0
        self._answering = 0
        self._read_since_release = 0
        self._releasing: asyncio.Task | None = None

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around an upload's whole request."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            self._maybe_release()

    @contextlib.contextmanager
    def reading(self, body_bytes: int) -> Iterator[None]:
        """Around the reading of an upload's body; after it, the chunks it came in are garbage."""
        self._reading += 1
        try:
            yield
        finally:
            self._reading -= 1
            self._read_since_release += body_bytes
            self._maybe_release()

    def _maybe_release(self) -> None:
        if self._reading:
            return  # bodies coming in would take the memory straight back
        enough = RELEASE_WHEN_BUSY_BYTES if self._answering else RELEASE_WHEN_IDLE_BYTES
        if self._read_since_release < enough:
            return
        if self._releasing is None or self._releasing.done():
            self._read_since_release = 0
            self._releasing = asyncio.ensure_future(asyncio.to_thread(self._release))

    def _release(self) -> None:
        started = time.monotonic()
        gc.collect(1)
        if self._trim is not None:
            self._trim(0)
        log.info("memory.released", seconds=round(time.monotonic() - started, 3))
