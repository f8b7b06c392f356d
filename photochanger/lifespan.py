"""ASGI lifespan: what runs once per worker process at start-up and shutdown."""

import asyncio
import contextlib
import gc

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import get_resolver

from core import metrics
from core.db import close_idle_connections
from core.loop_monitor import watch_event_loop
from ingest import previews
from ingest.jobs import reconcile_overdue_jobs
from media import faces
from providers import matting
from providers.http import close_client

log = structlog.get_logger(__name__)
_background: list[asyncio.Task] = []


async def on_startup() -> None:
    # Jobs a crashed or restarted worker left `processing` are closed before new work starts.
    closed = await sync_to_async(_reconcile)()
    log.info("startup.reconciled", overdue_jobs=closed)
    # Importing every view now, not on the first requests, keeps that import off their clock;
    # so does loading the face detector the print renderer crops around.
    get_resolver().url_patterns  # noqa: B018
    await asyncio.to_thread(faces.warm_up)
    await asyncio.to_thread(_load_matting_model)
    # What start-up loaded (modules, models, the URL map) lives as long as the worker. Out of the
    # collector's sight, a full collection only walks what came after: it holds the GIL, so
    # walking it all paused every thread, the event loop included, for ~100 ms each time.
    gc.freeze()
    _background.append(asyncio.create_task(watch_event_loop()))
    _background.append(asyncio.create_task(reconcile_periodically()))


async def on_shutdown() -> None:
    for task in _background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    _background.clear()
    await previews.drain()  # the answers went out; their previews are a moment's work more
    await close_client()
    metrics.mark_worker_exited()


async def reconcile_periodically() -> None:
    """End jobs whose worker died, without waiting for someone to read them.

    A SIGKILLed worker or a connection lost mid-job leaves its job `processing`, holding its
    concurrency seats; every worker sweeps for such jobs, so they end within
    RECONCILE_INTERVAL_SECONDS of becoming overdue. The sweep is one indexed query and runs in
    a thread, off the event loop.
    """
    while True:
        await asyncio.sleep(settings.RECONCILE_INTERVAL_SECONDS)
        try:
            closed = await sync_to_async(_reconcile, thread_sensitive=False)()
        except Exception as error:  # the database may be away: try again next time
            log.warning("reconcile.failed", error=type(error).__name__)
            continue
        if closed:
            log.info("reconcile.overdue_jobs", overdue_jobs=closed)


def _load_matting_model() -> None:
    """Load the offline background replacement's model before the first photo needs it."""
    try:
        matting.load_model()
    except matting.MattingModelUnavailable as error:  # /healthz and the slots' readiness say so
        log.error("matting.model_unavailable", detail=error.detail)


def _reconcile() -> int:
    try:
        return reconcile_overdue_jobs()
    finally:
        close_idle_connections()  # outside any request: nothing else would hand it back


class LifespanMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await on_startup()
                except Exception as error:
                    log.exception("startup.failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
