"""What each worker runs at start-up and beside requests: the periodic sweep of jobs whose
worker died."""

import asyncio
import contextlib
import gc
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.utils import timezone
from structlog.testing import capture_logs

from ingest.models import ConcurrencyLease, JobHistory
from ingest.tests.factories import JobFactory
from photochanger import lifespan


async def sweep_until(condition, seconds: float = 20) -> None:
    """Run the periodic sweep until `condition()` (sync, reads the database) holds."""
    sweeper = asyncio.create_task(lifespan.reconcile_periodically())
    check = sync_to_async(condition, thread_sensitive=False)
    try:
        deadline = time.monotonic() + seconds
        while not await check():
            assert time.monotonic() < deadline, "the sweep did not happen in time"
            await asyncio.sleep(0.05)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_died_is_ended_and_its_seat_freed_without_any_read(settings):
    settings.RECONCILE_INTERVAL_SECONDS = 0.1
    deadline = timezone.now() - timedelta(seconds=31)
    job = JobFactory(started_at=deadline - timedelta(seconds=48), deadline_at=deadline)
    # The dead worker's seat: a lease that would still hold for minutes.
    held_until = timezone.now() + timedelta(minutes=5)
    assert ConcurrencyLease.objects.claim(
        scope="slot:slot-001", limit=1, job_id=job.job_id, expires_at=held_until
    )

    def ended() -> bool:
        return JobHistory.objects.get(pk=job.pk).status != JobHistory.Status.PROCESSING

    asyncio.run(sweep_until(ended))

    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("failed", "internal_error")
    assert not ConcurrencyLease.objects.filter(job_id=job.job_id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_job_still_inside_its_deadline_and_grace_is_left_running(settings):
    settings.RECONCILE_INTERVAL_SECONDS = 0.05
    running = JobFactory(deadline_at=timezone.now() - timedelta(seconds=5))  # grace: 30 s
    overdue = JobFactory(deadline_at=timezone.now() - timedelta(seconds=40))

    def overdue_ended() -> bool:
        return JobHistory.objects.get(pk=overdue.pk).status == JobHistory.Status.FAILED

    asyncio.run(sweep_until(overdue_ended))

    assert JobHistory.objects.get(pk=running.pk).status == JobHistory.Status.PROCESSING


def test_the_sweep_runs_off_the_event_loop_and_hands_its_connection_back(settings, monkeypatch):
    settings.RECONCILE_INTERVAL_SECONDS = 0.01
    threads = {"reconcile": [], "close": []}
    monkeypatch.setattr(
        lifespan,
        "reconcile_overdue_jobs",
        lambda: threads["reconcile"].append(threading.get_ident()) or 0,
    )
    monkeypatch.setattr(
        lifespan,
        "close_idle_connections",
        lambda: threads["close"].append(threading.get_ident()),
    )

    async def main():
        await sweep_until(lambda: len(threads["reconcile"]) >= 2)
        return threading.get_ident()

    loop_thread = asyncio.run(main())

    assert loop_thread not in threads["reconcile"]
    assert threads["close"][: len(threads["reconcile"])] == threads["reconcile"]


def test_the_sweep_outlives_a_lost_database(settings, monkeypatch):
    settings.RECONCILE_INTERVAL_SECONDS = 0.01
    calls = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database system is shutting down")
        return 0

    monkeypatch.setattr(lifespan, "reconcile_overdue_jobs", flaky)
    monkeypatch.setattr(lifespan, "close_idle_connections", lambda: None)

    with capture_logs() as logs:
        asyncio.run(sweep_until(lambda: len(calls) >= 3))

    failures = [entry for entry in logs if entry["event"] == "reconcile.failed"]
    assert failures == [
        {"event": "reconcile.failed", "error": "OperationalError", "log_level": "warning"}
    ]


@pytest.fixture
def collector_restored():
    """Start-up freezes the collector's view of the process: give the test process it back."""
    yield
    gc.unfreeze()


def test_every_worker_starts_the_sweep(monkeypatch, collector_restored):
    started = []

    async def fake_sweep():
        started.append(True)
        await asyncio.Event().wait()

    monkeypatch.setattr(lifespan, "reconcile_periodically", fake_sweep)
    monkeypatch.setattr(lifespan, "_reconcile", lambda: 0)

    async def main():
        await lifespan.on_startup()
        await asyncio.sleep(0)
        await lifespan.on_shutdown()

    asyncio.run(main())

    assert started == [True]


def test_start_up_takes_what_it_loaded_out_of_the_collectors_walks(monkeypatch, collector_restored):
    frozen_while = {}

    def loading(name):
        return lambda: frozen_while.setdefault(name, gc.get_freeze_count())

    async def idle():
        return None

    gc.unfreeze()
    monkeypatch.setattr(lifespan, "_reconcile", lambda: 0)
    monkeypatch.setattr(lifespan.faces, "warm_up", loading("face detector"))
    monkeypatch.setattr(lifespan, "_load_matting_model", loading("matting model"))
    monkeypatch.setattr(lifespan, "watch_event_loop", idle)
    monkeypatch.setattr(lifespan, "reconcile_periodically", idle)

    async def main():
        await lifespan.on_startup()
        await asyncio.gather(*lifespan._background)
        lifespan._background.clear()

    asyncio.run(main())

    # Frozen after the models were loaded, so that they are among what the walks skip.
    assert frozen_while == {"face detector": 0, "matting model": 0}
    assert gc.get_freeze_count() > 0
