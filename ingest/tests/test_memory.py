import asyncio

from asgiref.sync import async_to_sync

from ingest.memory import RELEASE_WHEN_BUSY_BYTES, RELEASE_WHEN_IDLE_BYTES, UploadMemory


def _memory_with_counted_trims() -> tuple[UploadMemory, list[int]]:
    trims: list[int] = []
    memory = UploadMemory()
    memory._trim = trims.append
    return memory, trims


async def _released(memory: UploadMemory) -> None:
    if memory._releasing is not None:
        await asyncio.wait_for(memory._releasing, 5)


def test_memory_is_released_once_no_body_is_coming_in():
    memory, trims = _memory_with_counted_trims()

    async def two_uploads_waiting_on_a_provider():
        with memory.answering(), memory.answering():
            with memory.reading(RELEASE_WHEN_BUSY_BYTES):
                with memory.reading(RELEASE_WHEN_BUSY_BYTES):
                    pass
                assert memory._releasing is None  # the other body is still arriving
            await _released(memory)
            assert trims == [0]  # both wait on their provider: their chunks went back

    async_to_sync(two_uploads_waiting_on_a_provider)()


def test_a_small_read_waits_for_the_process_to_be_idle():
    memory, trims = _memory_with_counted_trims()

    async def one_upload():
        with memory.answering():
            with memory.reading(RELEASE_WHEN_IDLE_BYTES):
                pass
            assert memory._releasing is None
        await _released(memory)

    async_to_sync(one_upload)()
    assert trims == [0]


def test_small_requests_do_not_trim():
    memory, trims = _memory_with_counted_trims()

    async def small_upload():
        with memory.answering(), memory.reading(100_000):
            pass

    async_to_sync(small_upload)()
    assert memory._releasing is None and trims == []
