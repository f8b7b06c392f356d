"""Absolute links handed to booths, guests and providers."""

from django.conf import settings
from django.http import HttpRequest


def public_url(request: HttpRequest, path: str) -> str:
    """`path` on PUBLIC_BASE_URL when set (behind a proxy), else on the request's own host."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path)


def provider_media_base(request: HttpRequest) -> str:
    """Where providers that download inputs by URL reach this server."""
    return settings.PUBLIC_MEDIA_BASE_URL or request.build_absolute_uri("/").rstrip("/")
