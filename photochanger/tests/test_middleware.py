"""Stock middleware hooks that only touch headers run on the event loop in async requests."""

import threading

from asgiref.sync import async_to_sync
from csp.middleware import CSPMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import AsyncClient


def test_an_async_requests_header_hooks_run_on_the_loop_and_session_ones_in_its_thread(
    monkeypatch,
):
    ran_on = {}

    def noting(name, hook):
        def noted(self, request, response):
            ran_on[name] = threading.current_thread()
            return hook(self, request, response)

        return noted

    monkeypatch.setattr(
        CSPMiddleware, "process_response", noting("csp", CSPMiddleware.process_response)
    )
    monkeypatch.setattr(
        SessionMiddleware,
        "process_response",
        noting("session", SessionMiddleware.process_response),
    )

    async def live():
        ran_on["loop"] = threading.current_thread()
        return await AsyncClient().get("/healthz/live")

    response = async_to_sync(live)()

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert ran_on["csp"] is ran_on["loop"]
    # It may save the session, which is database work: not on the loop.
    assert ran_on["session"] is not ran_on["loop"]
