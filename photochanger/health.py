"""What GET /healthz checks: the database, the media storage, and each configured provider.

The database and the media storage are required: if either fails the service cannot take an
upload, so /healthz answers 503. A provider that does not answer its ping, or that fallback
chains skip for a cooldown after repeated failures (`cooldown_until`), only makes the answer
"degraded": slots on other providers still work. Pings go out at most once per
PING_INTERVAL per provider across all workers on the host (the lock lives in the shared
"health" cache), so frequent health probes never load a provider.
"""

import asyncio
from dataclasses import dataclass

import structlog
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.utils import timezone

from core.runtime import RuntimeSettings, aload_runtime_settings
from ingest.models import ProviderState
from media.services import check_writable
from providers.registry import DRIVERS, get_driver

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 5
PING_INTERVAL_SECONDS = 60
# A ping result outlives the lock so that workers which lose the race still have an answer.
PING_RESULT_TTL_SECONDS = 10 * PING_INTERVAL_SECONDS

OK, FAIL, DEGRADED = "ok", "fail", "degraded"
NOT_CONFIGURED, PENDING, SKIPPED = "not_configured", "pending", "skipped"


@dataclass(frozen=True)
class Health:
    status: str
    checks: dict

    @property
    def http_status(self) -> int:
        return 503 if self.status == FAIL else 200


async def check_health() -> Health:
    database, storage = await asyncio.gather(
        _timed(sync_to_async(_probe_database)()),
        _timed(asyncio.to_thread(check_writable)),
    )
    providers = await _check_providers() if database["status"] == OK else _skipped_providers()
    checks = {"database": database, "media_storage": storage, "providers": providers}
    if FAIL in (database["status"], storage["status"]):
        status = FAIL
    elif any(check["status"] == FAIL for check in providers.values()):
        status = DEGRADED
    else:
        status = OK
    return Health(status, checks)


async def _timed(probe) -> dict:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure is the answer here, never a 500
        log.warning("health.check_failed", error=type(error).__name__)
        return {"status": FAIL, "detail": type(error).__name__}
    return {"status": OK}


def _probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _skipped_providers() -> dict:
    return {name: {"status": SKIPPED} for name in sorted(DRIVERS)}


async def _check_providers() -> dict:
    try:
        runtime = await aload_runtime_settings()
        cooling = await sync_to_async(_cooldowns)()
    except DatabaseError:
        return _skipped_providers()
    names = sorted(DRIVERS)
    results = await asyncio.gather(*(_provider_status(name, runtime) for name in names))
    checks = dict(zip(names, results, strict=True))
    for name, until in cooling.items():
        if name in checks:  # skipped by every slot's chain until then: the service is degraded
            checks[name] = {**checks[name], "status": FAIL, "cooldown_until": until}
    return checks


def _cooldowns() -> dict[str, str]:
    """Providers in a cooldown after repeated failures, with its end (shared by all workers)."""
    rows = ProviderState.objects.cooling_down().values_list("provider", "cooldown_until")
    # cooling_down() reads only rows with a cooldown_until: the check is for the type checker.
    return {provider: until.isoformat() for provider, until in rows if until is not None}


async def _provider_status(name: str, runtime: RuntimeSettings) -> dict:
    driver = get_driver(name)
    api_key = runtime.api_key(name)
    if driver.requires_api_key and not api_key:
        return {"status": NOT_CONFIGURED}
    cache = caches["health"]
    if await cache.aadd(f"ping-lock:{name}", True, PING_INTERVAL_SECONDS):
        result = await _ping(name, driver, api_key)
        await cache.aset(f"ping:{name}", result, PING_RESULT_TTL_SECONDS)
        return result
    # Another request pinged within the interval; its answer may still be on its way.
    return await cache.aget(f"ping:{name}") or {"status": PENDING}


async def _ping(name: str, driver, api_key: str) -> dict:
    try:
        reachable = await asyncio.wait_for(driver.ping(api_key=api_key), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # a broken driver must not take /healthz down with it
        log.warning("health.ping_failed", provider=name, error=type(error).__name__)
        reachable = False
    return {"status": OK if reachable else FAIL, "checked_at": timezone.localtime().isoformat()}
