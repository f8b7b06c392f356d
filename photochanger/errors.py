"""Error answers: machine clients (booths, scripts, Prometheus) get JSON, people get the branded
HTML pages (templates/404.html, 500.html, 503.html).

Machine paths are decided here once, by prefix. Django's error handlers (urls.py), the CSRF
failure view and `JsonErrorResponseMiddleware` all ask `wants_json`; the middleware catches what the
handlers never see, such as the empty 405 of `require_POST`.
"""

import sys
from http import HTTPStatus
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import csrf, defaults

from core.errors import DATABASE_UNAVAILABLE, error_response, failure_for

_JSON_PREFIXES = (
    "/api/",
    "/ingest/",
    "/public/results/",
    "/public/provider-media/",
    "/healthz",
    "/metrics",
)
# failure_reason of a plain error status, for answers that arrive without one.
_REASONS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "internal_error",
    503: "service_unavailable",
}
# Headers a rewritten answer keeps: they tell the client what to do next.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "X-Job-Id")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_json(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        # A booth set up with an address the server was not told about: say which setting.
        return error_response(
            400, "disallowed_host", "this server does not answer to that Host; see ALLOWED_HOSTS"
        )
    return error_response(400, "bad_request", "malformed request")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_json(request):
        return defaults.permission_denied(request, exception)
    return error_response(403, "forbidden", "not allowed")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_json(request):
        return defaults.page_not_found(request, exception, template_name="404.html")
    reason = "result_not_found" if request.path.startswith("/public/results/") else "not_found"
    return error_response(404, reason, "no such resource")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception (asgiref carries it into its thread).
    failure = failure_for(sys.exc_info()[1])
    if wants_json(request):
        return failure.response()
    if failure is DATABASE_UNAVAILABLE:
        # Rendered without the request: its context processors would query the database.
        page = render_to_string("503.html")
        return HttpResponse(page, status=503, headers=failure.headers)
    if failure.status == 400:
        return defaults.bad_request(request, cast(Exception, sys.exc_info()[1]))
    # Rendered without a request context on purpose: whatever broke the request (a context
    # processor, the database) must not break its error page too.
    return defaults.server_error(request, template_name="500.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_json(request):
        return csrf.csrf_failure(request, reason)
    return error_response(403, "csrf_failed", "missing or wrong CSRF token")


class JsonErrorResponseMiddleware:
    """On machine paths, an error answer that is not JSON becomes the JSON error body."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        return as_json_error(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return as_json_error(request, await self.get_response(request))


def as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    content_type = response.get("Content-Type", "")
    if response.status_code < 400 or content_type.startswith("application/json"):
        return response
    if not wants_json(request):
        return response
    status = response.status_code
    reason = _REASONS.get(status, "error")
    kept = {name: response[name] for name in _KEPT_HEADERS if name in response}
    return error_response(status, reason, _phrase(status), headers=kept)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"
