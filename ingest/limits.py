"""Concurrency limits per slot and per provider, held in the database so they bind every worker."""

from datetime import timedelta

from asgiref.sync import sync_to_async

from core.runtime import RuntimeSettings
from ingest.errors import IngestError
from ingest.models import ConcurrencyLease, JobHistory
from providers.registry import DRIVERS

# A seat outlives its job's deadline by this much, so a crashed worker's seat frees itself.
LEASE_GRACE_SECONDS = 30


def provider_limit(config: RuntimeSettings, provider: str) -> int:
    """What staff set for `provider`, else the default its driver declares."""
    driver = DRIVERS.get(provider)
    return config.provider_limit(provider, driver.default_concurrency if driver else 1)


async def claim_seats(job: JobHistory, config: RuntimeSettings) -> None:
    """Take a seat of the slot's limit and one of its provider's, or refuse with 429."""
    await _claim(job, f"slot:{job.slot_id}", config.per_slot_concurrency, "slot_busy")
    await claim_provider_seat(job, config, job.provider)


async def claim_provider_seat(job: JobHistory, config: RuntimeSettings, provider: str) -> None:
    """A seat of `provider`'s limit for `job` (a fallback takes one before its call)."""
    await _claim(job, f"provider:{provider}", provider_limit(config, provider), "provider_busy")


async def _claim(job: JobHistory, scope: str, limit: int, reason: str) -> None:
    expires_at = job.deadline_at + timedelta(seconds=LEASE_GRACE_SECONDS)
    claimed = await sync_to_async(ConcurrencyLease.objects.claim)(
        scope=scope, limit=limit, job_id=job.job_id, expires_at=expires_at
    )
    if not claimed:
        retry_after = await sync_to_async(ConcurrencyLease.objects.seconds_until_free)(
            scope, limit, LEASE_GRACE_SECONDS
        )
        raise IngestError(reason, f"{scope} is at its limit of {limit}", retry_after=retry_after)
