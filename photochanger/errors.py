"""Error pages: machine clients (booths, scripts) get JSON, people get the branded HTML pages
(templates/404.html, templates/500.html)."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from core.errors import error_response

_JSON_PREFIXES = ("/api/", "/ingest/", "/public/results/", "/public/provider-media/")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _wants_json(request):
        return defaults.page_not_found(request, exception, template_name="404.html")
    reason = "result_not_found" if request.path.startswith("/public/results/") else "not_found"
    return error_response(404, reason, "no such resource")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django renders 500.html without a request context on purpose: whatever broke the request
    # (the database, a context processor) must not break its error page too.
    if not _wants_json(request):
        return defaults.server_error(request, template_name="500.html")
    return error_response(500, "internal_error", "unexpected error")
