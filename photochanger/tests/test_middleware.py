"""Stock middleware hooks that touch no database run on the event loop in async requests."""

import threading

import pytest
from asgiref.sync import async_to_sync
from csp.middleware import CSPMiddleware
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import AsyncClient, AsyncRequestFactory
from django_prometheus.middleware import PrometheusAfterMiddleware

from photochanger.middleware import Messages


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


def test_an_async_requests_view_hooks_run_on_the_loop(monkeypatch):
    ran_on = {}
    counted = PrometheusAfterMiddleware.process_view

    def noted(self, request, view_func, *args, **kwargs):
        ran_on["metrics"] = threading.current_thread()
        return counted(self, request, view_func, *args, **kwargs)

    monkeypatch.setattr(PrometheusAfterMiddleware, "process_view", noted)

    async def live():
        ran_on["loop"] = threading.current_thread()
        return await AsyncClient().get("/healthz/live")

    assert async_to_sync(live)().status_code == 200
    assert ran_on["metrics"] is ran_on["loop"]


@pytest.mark.parametrize("adds_a_message", [False, True])
def test_messages_are_stored_off_the_loop_and_a_request_without_any_stays_on_it(
    settings, monkeypatch, adds_a_message
):
    # Cookie storage keeps the test off the database; the session storage is the one that
    # needs the thread.
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    stored_on = []
    store = MessageMiddleware.process_response

    def noted(self, request, response):
        stored_on.append(threading.current_thread())
        return store(self, request, response)

    monkeypatch.setattr(MessageMiddleware, "process_response", noted)

    async def view(request):
        if adds_a_message:
            messages.success(request, "Сохранено")
        return HttpResponse("ok")

    async def request_once():
        loop_thread = threading.current_thread()
        response = await Messages(view)(AsyncRequestFactory().get("/"))
        return loop_thread, response

    loop_thread, response = async_to_sync(request_once)()

    assert response.status_code == 200
    if adds_a_message:
        assert len(stored_on) == 1 and stored_on[0] is not loop_thread
        assert "messages" in response.cookies
    else:
        assert stored_on == []
        assert "messages" not in response.cookies
