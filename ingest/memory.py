"""Handing the memory of big uploads back to the system.

glibc serves a freed 15 MB buffer's successors from its heaps instead of fresh mappings, and
keeps what the heaps grew to: after a burst of uploads the process would hold hundreds of MB it
no longer uses, and while a hundred uploads wait on a provider it would still hold the chunks
their bodies came in, besides their photos. So once no upload body has been coming in for a
moment (QUIET_SECONDS: not between two shots of a busy booth, not while an upload that just
arrived is being processed), a young-generation collection (a finished request's objects can
hold its photo in reference cycles, which only the collector frees) and `malloc_trim(0)` hand
the heaps' free pages back, in a thread. Elsewhere than glibc, only the collection runs.
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

# Bodies read since the last release before another is worth its few milliseconds.
RELEASE_AFTER_BYTES = 8 * 1024 * 1024
QUIET_SECONDS = 1.0


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class UploadMemory:
    """Counts the upload bodies being read; releases memory once none has been for a moment."""

    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._reading = 0
        self._read_since_release = 0
        self._last_read_at = 0.0
        self._waiting: asyncio.Task | None = None

    @contextlib.contextmanager
    def reading(self, body_bytes: int) -> Iterator[None]:
        """Around the reading of an upload's body; after it, the chunks it came in are garbage."""
        self._reading += 1
        try:
            yield
        finally:
            self._reading -= 1
            self._read_since_release += body_bytes
            self._last_read_at = time.monotonic()
            if self._read_since_release >= RELEASE_AFTER_BYTES and self._idle():
                self._waiting = asyncio.ensure_future(self._release_when_quiet())

    def _idle(self) -> bool:
        return self._waiting is None or self._waiting.done()

    def still_to_wait(self, now: float) -> float:
        """Seconds until no body has come in for QUIET_SECONDS; 0 when memory may go back."""
        if self._reading:
            return QUIET_SECONDS
        return max(0.0, self._last_read_at + QUIET_SECONDS - now)

    async def _release_when_quiet(self) -> None:
        # The quiet moment starts again with every body that ends: checked again after a wait.
        while wait := self.still_to_wait(time.monotonic()):  # noqa: ASYNC110
            await asyncio.sleep(wait)
        self._read_since_release = 0
        await asyncio.to_thread(self._release)

    def _release(self) -> None:
        started = time.monotonic()
        gc.collect(1)
        if self._trim is not None:
            self._trim(0)
        log.info("memory.released", seconds=round(time.monotonic() - started, 3))
