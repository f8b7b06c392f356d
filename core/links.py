"""Absolute links handed to booths, guests and providers."""

from django.conf import settings
from django.http import HttpRequest


def public_url(request: HttpRequest, path: str) -> str:
    """`path` on PUBLIC_BASE_URL when set (behind a proxy), else on the request's own host."""
    return site_url(request) + path


def site_url(request: HttpRequest) -> str:
    """The absolute base of links guests and booths open, without a trailing slash."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def provider_media_base(request: HttpRequest) -> str:
    """Where providers that download inputs by URL reach this server."""
    return settings.PUBLIC_MEDIA_BASE_URL or request.build_absolute_uri("/").rstrip("/")
