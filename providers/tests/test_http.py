import asyncio
import time

import httpx
import pytest

from providers import http
from providers.base import ProviderError
from providers.tests.fakes import HANG, FakeGemini


def generate(fake: FakeGemini, seconds: float = 5):
    return http.send(
        "POST",
        f"{fake.url}/v1beta/models/gemini-2.5-flash-image:generateContent",
        content=b"{}",
        headers={"x-goog-api-key": FakeGemini.api_key},
        timeouts=http.timeout_within(seconds),
        max_bytes=10 * 1024 * 1024,
    )


async def failure(call) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await call
    return caught.value


async def until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def use_transport(monkeypatch, handler) -> None:
    transport = httpx.MockTransport(handler)
    monkeypatch.setattr(http, "_new_client", lambda: httpx.AsyncClient(transport=transport))


def test_timeouts_never_outlast_what_is_left_of_the_window(settings):
    settings.PROVIDER_HTTP_READ_TIMEOUT_SECONDS = 45

    capped = http.timeout_within(3)
    assert (capped.connect, capped.read, capped.write, capped.pool) == (3, 3, 3, 3)
    assert http.timeout_within(float("inf")).read == 45
    assert http.timeout_within(-1).read > 0


def test_many_cancelled_calls_in_a_row_leave_the_client_usable(run, fake_gemini):
    success, fake_gemini.default = fake_gemini.default, HANG

    async def cancel_many_then_call():
        for _ in range(8):
            calls = [asyncio.wait_for(generate(fake_gemini), 0.05) for _ in range(5)]
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(outcome, TimeoutError) for outcome in outcomes)
        fake_gemini.default = success
        return await generate(fake_gemini)

    assert run(cancel_many_then_call()).status_code == 200


def test_cancellations_under_pool_contention_leave_the_client_usable(run, fake_gemini, settings):
    # More concurrent calls than connections: the httpcore#1093 set-up. Should a slot leak, the
    # pool timeouts that follow retire the client, so a call succeeds within that many tries.
    settings.PROVIDER_HTTP_MAX_CONNECTIONS = 2
    settings.PROVIDER_HTTP_POOL_TIMEOUT_SECONDS = 0.1
    success, fake_gemini.default = fake_gemini.default, HANG

    async def cancel_many_then_call():
        for _ in range(8):
            calls = [asyncio.wait_for(generate(fake_gemini), 0.05) for _ in range(6)]
            await asyncio.gather(*calls, return_exceptions=True)
        fake_gemini.default = success
        failures = []
        for _ in range(http.POOL_TIMEOUTS_BEFORE_REBUILD + 1):
            try:
                return failures, await generate(fake_gemini)
            except ProviderError as error:
                failures.append(error.code)
        raise AssertionError(f"no call succeeded after {failures}")

    failures, reply = run(cancel_many_then_call())
    assert reply.status_code == 200
    assert set(failures) <= {"network"}


def test_client_is_rebuilt_after_repeated_pool_timeouts(run, fake_gemini, settings):
    settings.PROVIDER_HTTP_MAX_CONNECTIONS = 1
    settings.PROVIDER_HTTP_POOL_TIMEOUT_SECONDS = 0.1
    fake_gemini.answers.append(HANG)

    async def starve_then_call():
        holder = asyncio.create_task(generate(fake_gemini, seconds=30))
        await until(lambda: len(fake_gemini.generate_requests) == 1)
        failures = [
            await failure(generate(fake_gemini)) for _ in range(http.POOL_TIMEOUTS_BEFORE_REBUILD)
        ]
        reply = await generate(fake_gemini)
        holder.cancel()
        return failures, reply

    failures, reply = run(starve_then_call())
    assert [f.code for f in failures] == ["network"] * http.POOL_TIMEOUTS_BEFORE_REBUILD
    assert "no free connection" in failures[0].detail
    assert reply.status_code == 200


def test_a_refused_connection_is_network(run):
    with FakeGemini() as stopped:
        pass

    assert run(failure(generate(stopped))).code == "network"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_answer_over_the_size_cap_is_bad_response(run, monkeypatch, declared):
    async def chunks():
        for _ in range(4):
            yield b"x" * 1000

    use_transport(
        monkeypatch,
        lambda request: httpx.Response(200, content=b"x" * 4000 if declared else chunks()),
    )
    oversized = http.send(
        "GET", "http://provider.test/", timeouts=http.timeout_within(5), max_bytes=3000
    )

    assert run(failure(oversized)).code == "bad_response"


def test_send_passes_request_options_and_returns_status_headers_and_body(run, monkeypatch):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, headers={"X-Answer": "yes"}, content=b"body")

    use_transport(monkeypatch, handler)

    reply = run(
        http.send(
            "POST",
            "http://provider.test/queue",
            data={"do": "create_queue"},
            headers={"Authorization": "Bearer k"},
            timeouts=http.timeout_within(5),
            max_bytes=100,
        )
    )

    assert (reply.status_code, reply.headers["x-answer"], reply.body) == (201, "yes", b"body")
    assert seen[0].content == b"do=create_queue"
    assert seen[0].headers["authorization"] == "Bearer k"
