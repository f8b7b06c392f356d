"""Stock middleware whose hooks run on the event loop in an async request.

Django's MiddlewareMixin runs each `process_request`, `process_view` and `process_response` of
an async request through `sync_to_async`: a round trip to the request's thread for every hook.
For the middleware below that costs far more than the hook, which only reads the request and
sets headers or counters in microseconds, never touching the database or a file. They made 10
of a request's trips: a liveness check cost 5.7 ms of CPU with them, 4.4 ms without.

The messages middleware stays on the loop too unless the request has messages to store, which
may mean saving them in the session (database work). The session and CSRF middleware keep their
trips: their hooks may load or save the session. So do the security and clickjacking
middleware: `check --deploy` looks for Django's own classes by name, and a subclass would fail
it (the messages middleware is checked as a subclass).
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest
from django.middleware.common import CommonMiddleware
from django.utils.deprecation import MiddlewareMixin
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware


class OnTheLoop(MiddlewareMixin):
    """Runs the hooks of an async request in the loop's thread; a sync request as before."""

    process_view: Callable[..., Any]  # where the stock middleware has one

    def __init__(self, get_response: Callable) -> None:
        super().__init__(get_response)
        if self.async_mode and hasattr(self, "process_view"):
            # Django awaits a coroutine `process_view` as it is, and sends any other to a thread.
            self.process_view = _awaitable(self.process_view)

    async def __acall__(self, request: HttpRequest) -> Any:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)  # type: ignore[misc]
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class PrometheusBefore(OnTheLoop, PrometheusBeforeMiddleware):
    pass


class ContentSecurityPolicy(OnTheLoop, CSPMiddleware):
    pass


class Common(OnTheLoop, CommonMiddleware):
    pass


class Authentication(OnTheLoop, AuthenticationMiddleware):
    """Only sets the request's user up, lazily: it is loaded when something reads it."""


class PrometheusAfter(OnTheLoop, PrometheusAfterMiddleware):
    pass


class Messages(MessageMiddleware):
    """Django's messages middleware, on the loop for a request with no messages to store.

    Setting the storage up reads nothing. Storing messages may write them to the session (a
    database load and save), so only a request that read or added messages takes the trip.
    """

    async def __acall__(self, request: HttpRequest) -> Any:
        self.process_request(request)
        response = await self.get_response(request)  # type: ignore[misc]
        storage = request._messages  # type: ignore[attr-defined]
        if storage.used or storage.added_new:
            response = await sync_to_async(self.process_response)(request, response)
        return response


def _awaitable(hook: Callable) -> Callable:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return hook(*args, **kwargs)

    return run
