import asyncio

from asgiref.sync import async_to_sync

from ingest.memory import TRIM_AFTER_BYTES, UploadMemory


def _memory_with_counted_trims() -> tuple[UploadMemory, list[int]]:
    trims: list[int] = []
    memory = UploadMemory()
    memory._trim = trims.append
    return memory, trims


def test_memory_is_trimmed_once_the_last_big_upload_ends():
    memory, trims = _memory_with_counted_trims()

    async def two_overlapping_uploads():
        memory.started()
        memory.started()
        memory.ended(TRIM_AFTER_BYTES)
        assert memory._trimming is None  # another upload still holds its photo
        memory.ended(TRIM_AFTER_BYTES)
        await asyncio.wait_for(memory._trimming, 5)

    async_to_sync(two_overlapping_uploads)()
    assert trims == [0]


def test_small_requests_do_not_trim():
    memory, trims = _memory_with_counted_trims()

    async def small_upload():
        memory.started()
        memory.ended(100_000)

    async_to_sync(small_upload)()
    assert memory._trimming is None and trims == []
