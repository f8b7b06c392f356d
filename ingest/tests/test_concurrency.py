"""Concurrency limits hold across connections (and so across worker processes)."""

import asyncio
import threading
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.utils import timezone

from core.runtime import load_runtime_settings, set_runtime_setting
from ingest.errors import IngestError
from ingest.jobs import claim_job
from ingest.limits import claim_seats
from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.conftest import FakeDriver, jpeg_bytes, shot_form
from ingest.tests.factories import JobFactory
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def claims_at_once(count: int, *, scope: str, limit: int) -> list[bool]:
    """`count` claims of `scope`'s seats, each on its own connection, released together."""
    barrier = threading.Barrier(count)
    outcomes = []

    def claim():
        barrier.wait()
        try:
            outcomes.append(
                ConcurrencyLease.objects.claim(
                    scope=scope,
                    limit=limit,
                    job_id=uuid.uuid4(),
                    expires_at=timezone.now() + timedelta(seconds=60),
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_racing_claims_from_many_connections_never_exceed_the_limit():
    outcomes = claims_at_once(12, scope="slot:race", limit=3)

    assert outcomes.count(True) == 3
    assert ConcurrencyLease.objects.filter(scope="slot:race", job_id__isnull=False).count() == 3


def test_racing_first_claims_of_a_new_scope_all_get_a_seat_up_to_the_limit():
    """The first claims of a scope (its seats not made yet) make them once and all take one."""
    outcomes = claims_at_once(40, scope="slot:fresh", limit=40)

    assert outcomes == [True] * 40
    assert ConcurrencyLease.objects.filter(scope="slot:fresh").count() == 40


def test_an_expired_lease_frees_its_seat():
    past = timezone.now() - timedelta(seconds=1)
    ConcurrencyLease.objects.claim(scope="slot:x", limit=1, job_id=uuid.uuid4(), expires_at=past)
    later = timezone.now() + timedelta(seconds=60)
    assert ConcurrencyLease.objects.claim(
        scope="slot:x", limit=1, job_id=uuid.uuid4(), expires_at=later
    )


def test_a_lowered_limit_applies_to_seats_above_it():
    later = timezone.now() + timedelta(seconds=60)
    for _ in range(3):
        ConcurrencyLease.objects.claim(
            scope="slot:y", limit=3, job_id=uuid.uuid4(), expires_at=later
        )
    ConcurrencyLease.objects.filter(scope="slot:y", seat=0).update(job_id=None)
    assert ConcurrencyLease.objects.claim(
        scope="slot:y", limit=1, job_id=uuid.uuid4(), expires_at=later
    )
    assert not ConcurrencyLease.objects.claim(
        scope="slot:y", limit=1, job_id=uuid.uuid4(), expires_at=later
    )


def test_concurrent_uploads_beyond_the_slot_limit_get_429(ingest_password, fake_provider):
    set_runtime_setting(key="per_slot_concurrency", value=2)

    async def slow(job):
        await asyncio.sleep(0.8)
        return await FakeDriver.answer_png(job)

    fake_provider.behaviour = slow

    async def upload_four():
        client = AsyncClient()
        photos = [jpeg_bytes(color=(i * 40, 10, 10)) for i in range(4)]
        return await asyncio.gather(
            *(client.post("/api/ingest/slot-001", shot_form(p)) for p in photos)
        )

    responses = async_to_sync(upload_four)()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429]
    busy = [r for r in responses if r.status_code == 429]
    assert all(r.json()["failure_reason"] == "slot_busy" for r in busy)
    assert all(1 <= int(r["Retry-After"]) <= 120 for r in busy)
    assert fake_provider.calls == 2
    assert not ConcurrencyLease.objects.filter(job_id__isnull=False).exists()


def _claim_from_threads(count: int, photo_of) -> list:
    """`count` uploads of one key claim their job at once, each on its own connection."""
    slot = Slot.objects.get(pk="slot-001")
    barrier = threading.Barrier(count)
    outcomes = []

    def claim(index: int):
        barrier.wait()
        try:
            outcomes.append(
                async_to_sync(claim_job)(
                    slot=slot,
                    source=JobHistory.Source.INGEST,
                    window_seconds=30,
                    sha256=photo_of(index),
                    idempotency_key="constant-key",
                    metadata={},
                )
            )
        except IngestError as error:
            outcomes.append(error.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_racing_first_uses_of_a_key_with_different_photos_start_one_job():
    outcomes = _claim_from_threads(20, lambda i: f"{i:064x}")

    started = [o for o in outcomes if not isinstance(o, str) and o.job is not None]
    assert len(started) == 1
    assert outcomes.count("idempotency_key_reused") == 19
    assert JobHistory.objects.filter(idempotency_key="constant-key").count() == 1


def test_racing_first_uses_of_a_key_with_the_same_photo_follow_one_job():
    outcomes = _claim_from_threads(20, lambda i: "a" * 64)

    started = [o.job for o in outcomes if o.new]
    followers = [o.job for o in outcomes if not o.new]
    assert len(started) == 1 and len(followers) == 19
    assert {job.pk for job in followers} == {started[0].pk}


def test_a_job_refused_by_its_providers_limit_keeps_no_slot_seat():
    set_runtime_setting(key="per_provider_concurrency", value={"local": 1})
    busy, job = JobFactory(), JobFactory()
    async_to_sync(claim_seats)(busy, load_runtime_settings())

    with pytest.raises(IngestError) as refused:
        async_to_sync(claim_seats)(job, load_runtime_settings())

    assert refused.value.reason == "provider_busy"
    assert not ConcurrencyLease.objects.filter(job_id=job.job_id).exists()
