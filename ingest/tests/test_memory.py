import asyncio

import pytest
from asgiref.sync import async_to_sync

from ingest import memory as memory_module
from ingest.memory import RELEASE_AFTER_BYTES, UploadMemory


@pytest.fixture
def memory(monkeypatch) -> tuple[UploadMemory, list[int]]:
    monkeypatch.setattr(memory_module, "QUIET_SECONDS", 0.05)
    trims: list[int] = []
    upload_memory = UploadMemory()
    upload_memory._trim = trims.append
    return upload_memory, trims


async def _released(upload_memory: UploadMemory) -> None:
    await asyncio.wait_for(upload_memory._waiting, 5)


def test_memory_is_released_once_no_body_has_come_in_for_a_moment(memory):
    upload_memory, trims = memory

    async def two_overlapping_uploads():
        with upload_memory.reading(RELEASE_AFTER_BYTES):
            with upload_memory.reading(RELEASE_AFTER_BYTES):
                pass
            assert not trims  # the other body is still coming in
        await _released(upload_memory)

    async_to_sync(two_overlapping_uploads)()
    assert trims == [0]


def test_memory_waits_for_a_quiet_moment_after_the_last_body(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(memory_module.time, "monotonic", lambda: clock[0])
    upload_memory = UploadMemory()

    with upload_memory.reading(0):
        assert upload_memory.still_to_wait(clock[0]) == memory_module.QUIET_SECONDS
    clock[0] += 0.4

    assert upload_memory.still_to_wait(clock[0]) == pytest.approx(0.6)
    assert upload_memory.still_to_wait(clock[0] + 0.6) == 0


def test_small_bodies_do_not_release(memory):
    upload_memory, trims = memory

    async def small_upload():
        with upload_memory.reading(100_000):
            pass

    async_to_sync(small_upload)()
    assert upload_memory._waiting is None and trims == []
