"""Stock middleware whose hooks run on the event loop in an async request.

Django's MiddlewareMixin runs each `process_request` and `process_response` of an async request
through `sync_to_async`: a round trip to the request's thread for every hook. For the
middleware below that costs far more than the hook, which only reads the request and sets
headers or counters in microseconds, never touching the database or a file. They made 9 of a
request's trips: a liveness check cost 5.7 ms of CPU with them, 4.4 ms without.

Session, CSRF and messages middleware keep the trips: their hooks may load or save the
session, which is database work. So do the security and clickjacking middleware: `check
--deploy` looks for Django's own classes by name, and a subclass would fail it.
"""

from typing import Any

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest
from django.middleware.common import CommonMiddleware
from django.utils.deprecation import MiddlewareMixin
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware


class OnTheLoop(MiddlewareMixin):
    """Runs the hooks of an async request in the loop's thread; a sync request as before."""

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
