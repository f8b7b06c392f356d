"""Staff authentication shared by the API, the pages and /admin/.

Two entry points decide who is staff: `staff_page` (sync pages: others go to the login page)
and `astaff_only` (async JSON endpoints: JWT bearer for scripts, session plus CSRF token for the
pages). django-axes counts failed logins and locks; this module tells it the real client
address, shapes its lockout answer, and writes the `auth.login.*` audit events (never the
password).
"""

import hmac
import ipaddress
from functools import cache
from typing import Any

import structlog
from asgiref.sync import sync_to_async
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.checks import Error, Tags, register
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from core.errors import error_body, error_response

log = structlog.get_logger(__name__)


def is_active_staff(user) -> bool:
    """Who may use the staff pages and API; simplejwt's USER_AUTHENTICATION_RULE too."""
    return user is not None and user.is_active and user.is_staff


# The staff pages; anyone else is sent to the login page.
staff_page = user_passes_test(is_active_staff)


async def astaff_only(request: HttpRequest) -> JsonResponse | None:
    """None when the request comes from staff (then `request.user` is set), else the refusal."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        try:
            user = await sync_to_async(_token_user)(request)
        except (InvalidToken, AuthenticationFailed):
            return error_response(401, "not_authenticated", "invalid or expired token")
    else:
        user = await request.auser()
        if user.is_authenticated and await _csrf_rejects(request):
            return error_response(403, "csrf_failed", "missing or wrong CSRF token")
    if not user.is_authenticated:
        return error_response(401, "not_authenticated", "log in as staff")
    if not user.is_staff:
        return error_response(403, "forbidden", "staff only")
    request.user = user
    return None


def _token_user(request: HttpRequest) -> Any:
    """The user of the request's JWT bearer token (simplejwt reads only its headers)."""
    authenticated = JWTAuthentication().authenticate(request)  # type: ignore[arg-type]
    if authenticated is None:
        raise AuthenticationFailed("no bearer token")
    return authenticated[0]


async def _csrf_rejects(request: HttpRequest) -> bool:
    # The check may read the multipart body, so it runs where parsing cannot block the loop.
    check = CsrfViewMiddleware(_no_response).process_view
    refusal = await sync_to_async(check, thread_sensitive=False)(request, _no_response, (), {})
    return refusal is not None


def _no_response(request: HttpRequest) -> HttpResponse:
    """The view the CSRF check is asked about: never called, the check only looks at it."""
    raise AssertionError("not a view")


def client_ip(request: HttpRequest) -> str:
    """The peer address, or the X-Forwarded-For hop that a trusted proxy saw connecting.

    Hops are read right to left and trusted proxies skipped: anything further left was
    written by the client and could be forged to dodge the lockout or frame another address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop if _is_ip(hop) else remote
    return remote


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted_proxy(address: str) -> bool:
    return _in_networks(address, settings.TRUSTED_PROXIES)


def _in_networks(address: str, entries: list[str]) -> bool:
    if not _is_ip(address):
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _networks(tuple(entries)))


@cache
def _networks(
    entries: tuple[str, ...],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


@register(Tags.security)
def check_trusted_proxies(app_configs, **kwargs) -> list[Error]:
    return _network_errors("TRUSTED_PROXIES", "core.E101") + _network_errors(
        "METRICS_ALLOWED_NETWORKS", "core.E102"
    )


def _network_errors(setting: str, error_id: str) -> list[Error]:
    errors = []
    for entry in getattr(settings, setting):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"{setting} has {entry!r}, which is not an IP address or network.",
                    hint="Use addresses such as 10.0.0.5 or networks such as 172.16.0.0/12.",
                    id=error_id,
                )
            )
    return errors


def metrics_refusal(request: HttpRequest) -> JsonResponse | None:
    """None when the scrape may read /metrics, else the 401 to answer.

    Allowed: the METRICS_TOKEN as a bearer token, or a request made straight from
    METRICS_ALLOWED_NETWORKS. A request relayed by a proxy (it carries X-Forwarded-For) does not
    count as local, so a reverse proxy on the same host does not publish /metrics.
    """
    header = request.headers.get("Authorization", "")
    if header:
        token, given = settings.METRICS_TOKEN.encode(), header.removeprefix("Bearer ").encode()
        if token and header.startswith("Bearer ") and hmac.compare_digest(given.strip(), token):
            return None
        return _metrics_401("invalid_token", "wrong metrics token")
    direct = "X-Forwarded-For" not in request.headers and "Forwarded" not in request.headers
    if direct and _in_networks(client_ip(request), settings.METRICS_ALLOWED_NETWORKS):
        return None
    return _metrics_401("not_authenticated", "send Authorization: Bearer METRICS_TOKEN")


def _metrics_401(reason: str, detail: str) -> JsonResponse:
    return error_response(401, reason, detail, headers={"WWW-Authenticate": "Bearer"})


def lockout_seconds() -> int:
    return int(get_cool_off().total_seconds())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """What a locked-out login gets: JSON for the API, the login page's notice otherwise.

    Axes calls this with (request, credentials) from its async middleware path and with
    (request, response, credentials) from the sync one; neither argument is needed here.
    """
    seconds = lockout_seconds()
    response: HttpResponse
    if request.path.startswith("/api/"):
        detail = "too many failed logins; try again later"
        response = JsonResponse(error_body("throttled", detail), status=429)
    else:
        context = {"minutes": max(1, seconds // 60)}
        response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


@receiver(user_logged_in)
def log_login_success(sender, request: HttpRequest | None, user, **kwargs) -> None:
    log.info(
        "auth.login.success",
        username=user.get_username(),
        ip=_request_ip(request),
    )


@receiver(user_login_failed)
def log_login_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    # axes' own receiver ran first (it is installed before this app) and flagged a lockout.
    locked = getattr(request, "axes_locked_out", False)
    log.warning(
        "auth.login.failure",
        username=str(credentials.get("username", ""))[:150],
        reason="throttled" if locked else "invalid_credentials",
        ip=_request_ip(request),
    )


def _request_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return getattr(request, "axes_ip_address", None) or client_ip(request)
