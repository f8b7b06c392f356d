"""Concurrency limits per slot and per provider, held in the database so they bind every worker."""

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.db import transaction

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
    """Take a seat of the slot's limit and one of its provider's, or refuse with 429.

    Both in one transaction: a job refused by its provider's limit does not hold its slot's
    seat meanwhile, and an upload costs one round of statements, not two.
    """
    refusal = await sync_to_async(_claim_both)(job, config)
    if refusal is not None:
        raise refusal


def _claim_both(job: JobHistory, config: RuntimeSettings) -> IngestError | None:
    expires_at = job.deadline_at + timedelta(seconds=LEASE_GRACE_SECONDS)
    scopes = [
        (f"slot:{job.slot_id}", config.per_slot_concurrency, "slot_busy"),
        (f"provider:{job.provider}", provider_limit(config, job.provider), "provider_busy"),
    ]
    refused = None
    with transaction.atomic():
        for scope, limit, reason in scopes:
            if not ConcurrencyLease.objects.claim(
                scope=scope, limit=limit, job_id=job.job_id, expires_at=expires_at
            ):
                refused = (scope, limit, reason)
                transaction.set_rollback(True)  # the seat already taken goes back
                break
    if refused is None:
        return None
    scope, limit, reason = refused
    retry_after = ConcurrencyLease.objects.seconds_until_free(scope, limit, LEASE_GRACE_SECONDS)
    return IngestError(reason, f"{scope} is at its limit of {limit}", retry_after=retry_after)


async def claim_provider_seat(job: JobHistory, config: RuntimeSettings, provider: str) -> None:
    """A seat of `provider`'s limit for `job` (a fallback takes one before its call)."""
    scope, limit = f"provider:{provider}", provider_limit(config, provider)
    refusal = await sync_to_async(_claim_one)(job, scope, limit, "provider_busy")
    if refusal is not None:
        raise refusal


def _claim_one(job: JobHistory, scope: str, limit: int, reason: str) -> IngestError | None:
    expires_at = job.deadline_at + timedelta(seconds=LEASE_GRACE_SECONDS)
    if ConcurrencyLease.objects.claim(
        scope=scope, limit=limit, job_id=job.job_id, expires_at=expires_at
    ):
        return None
    retry_after = ConcurrencyLease.objects.seconds_until_free(scope, limit, LEASE_GRACE_SECONDS)
    return IngestError(reason, f"{scope} is at its limit of {limit}", retry_after=retry_after)
