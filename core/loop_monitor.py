"""A watchdog that reports when something blocks the event loop.

A blocked loop stalls every upload in the worker at once, so each stall longer than
LOOP_LAG_WARN_MS is logged with its length (and measured by bench/ingest.py the same way).
"""

import asyncio

import structlog
from django.conf import settings

log = structlog.get_logger(__name__)
INTERVAL_SECONDS = 0.02


async def watch_event_loop() -> None:
    loop = asyncio.get_running_loop()
    threshold = settings.LOOP_LAG_WARN_MS / 1000
    while True:
        started = loop.time()
        await asyncio.sleep(INTERVAL_SECONDS)
        lag = loop.time() - started - INTERVAL_SECONDS
        if lag > threshold:
            log.warning("event_loop.blocked", lag_ms=round(lag * 1000, 1))
