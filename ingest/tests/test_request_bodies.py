import threading

import pytest
from asgiref.sync import async_to_sync

from ingest import asgi as ingest_asgi
from ingest.asgi import SPOOL_ON_LOOP_BYTES, OffLoopBodyASGIHandler


def _receive(*chunks: bytes):
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0)

    return receive


@pytest.fixture
def spooled_in(monkeypatch):
    """The thread each body was spooled in."""
    threads: list[threading.Thread] = []
    spool = ingest_asgi._spool

    def recording(chunks):
        threads.append(threading.current_thread())
        return spool(chunks)

    monkeypatch.setattr(ingest_asgi, "_spool", recording)
    return threads


def _read(*chunks: bytes) -> tuple[bytes, threading.Thread]:
    async def read():
        body = await OffLoopBodyASGIHandler().read_body(_receive(*chunks))
        return body.read(), threading.current_thread()

    return async_to_sync(read)()


def test_a_small_body_is_spooled_on_the_event_loop(spooled_in):
    body, loop_thread = _read(b"a" * 1000, b"b" * 24)

    assert body == b"a" * 1000 + b"b" * 24
    assert spooled_in == [loop_thread]


def test_an_empty_body_is_spooled_on_the_event_loop(spooled_in):
    body, loop_thread = _read(b"")

    assert body == b""
    assert spooled_in == [loop_thread]


def test_a_large_body_is_spooled_in_a_worker_thread(spooled_in):
    half = b"x" * (SPOOL_ON_LOOP_BYTES // 2 + 1)
    body, loop_thread = _read(half, half)

    assert body == half + half
    assert len(spooled_in) == 1
    assert spooled_in[0] is not loop_thread
