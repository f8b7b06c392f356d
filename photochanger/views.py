"""Endpoints for operators and their tools: health probes and Prometheus metrics."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core.auth import metrics_refusal
from core.metrics import render_metrics
from media.metrics import StoredMediaCollector
from photochanger.health import check_health


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    health = await check_health()
    return JsonResponse(
        {"status": health.status, "checks": health.checks}, status=health.http_status
    )


@never_cache
@require_GET
async def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; touches nothing else, so a slow database never restarts it."""
    return JsonResponse({"status": "ok"})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    # Sync: the scrape reads the database for the stored-media figures.
    body = render_metrics(StoredMediaCollector())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
