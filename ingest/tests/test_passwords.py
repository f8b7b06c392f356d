import asyncio
import logging
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from ingest import passwords
from ingest.errors import IngestError
from ingest.models import IngestClient, WrongPasswordCount
from ingest.selectors import wrong_password_counts

pytestmark = pytest.mark.django_db
STORED = ""


@pytest.fixture(autouse=True)
def _stored_hash():
    # Made under the tests' fast hasher (the root conftest switches to it for every test).
    global STORED
    STORED = make_password("right-password")


@pytest.fixture
def counted_checks(monkeypatch):
    calls = []
    real = passwords.check_password

    def counting(raw, encoded):
        calls.append(raw)
        return real(raw, encoded)

    monkeypatch.setattr(passwords, "check_password", counting)
    return calls


@pytest.fixture
def stalled_kdf(monkeypatch):
    """A KDF thread that holds every check until the test releases it."""
    release = threading.Event()
    started = []

    def stalled(raw, encoded):
        started.append(raw)
        release.wait(10)
        return raw == "right-password"

    monkeypatch.setattr(passwords, "check_password", stalled)
    yield started, release
    release.set()


async def until(condition, seconds=5.0):
    """Wait for a condition the KDF thread brings about, with a deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the KDF thread never got there"
        await asyncio.sleep(0.01)


def authenticate(raw, address="10.0.0.1", stored=None, slot_id="slot-001", **options):
    """None when accepted, else the failure_reason."""
    try:
        async_to_sync(passwords.authenticate_ingest)(
            raw,
            stored_hash=STORED if stored is None else stored,
            address=address,
            slot_id=slot_id,
            **options,
        )
    except IngestError as error:
        return error.reason
    return None


def test_the_slow_hash_runs_once_per_candidate_not_per_upload(counted_checks):
    assert [authenticate("right-password") for _ in range(5)] == [None] * 5
    assert [authenticate("wrong") for _ in range(3)] == ["invalid_password"] * 3
    assert counted_checks == ["right-password", "wrong"]


def test_a_rotated_password_is_checked_against_the_new_hash(counted_checks):
    assert authenticate("old-password", stored=make_password("old-password")) is None
    assert authenticate("old-password", stored=make_password("new-password")) == (
        "invalid_password"
    )


@pytest.mark.parametrize(("raw", "stored"), [("", None), ("right-password", "")])
def test_empty_password_or_unset_hash_never_matches(raw, stored, counted_checks):
    assert authenticate(raw, stored=stored) == "invalid_password"
    assert counted_checks == []


def test_uploads_arriving_together_share_one_slow_hash(counted_checks):
    async def five_at_once():
        return await asyncio.gather(
            *(
                passwords.authenticate_ingest(
                    "right-password", stored_hash=STORED, address=f"10.0.0.{i}", slot_id="slot-001"
                )
                for i in range(5)
            )
        )

    assert async_to_sync(five_at_once)() == [None] * 5
    assert counted_checks == ["right-password"]


def test_ten_wrong_passwords_throttle_the_address_before_any_hash(counted_checks):
    for attempt in range(passwords.FAILURE_LIMIT):
        assert authenticate(f"guess-{attempt}", address="10.0.0.66") == "invalid_password"
    checks_before = len(counted_checks)

    with pytest.raises(IngestError) as refused:
        async_to_sync(passwords.authenticate_ingest)(
            "right-password", stored_hash=STORED, address="10.0.0.66", slot_id="slot-001"
        )

    assert (refused.value.reason, refused.value.status) == ("throttled", 429)
    assert 800 < refused.value.retry_after <= passwords.FAILURE_WINDOW
    assert len(counted_checks) == checks_before
    assert authenticate("right-password", address="10.0.0.67") is None


def test_the_throttle_lifts_once_the_failures_leave_the_window(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(passwords.time, "monotonic", lambda: clock[0])
    for _ in range(passwords.FAILURE_LIMIT):
        authenticate("guess", address="10.0.0.66")
    assert authenticate("right-password", address="10.0.0.66") == "throttled"

    clock[0] += passwords.FAILURE_WINDOW + 1

    assert authenticate("right-password", address="10.0.0.66") is None


def test_a_known_password_is_answered_while_the_hash_thread_is_busy(stalled_kdf):
    started, release = stalled_kdf
    release.set()
    assert authenticate("right-password") is None  # now remembered
    release.clear()

    async def flood_then_booth():
        flood = asyncio.ensure_future(
            passwords.authenticate_ingest(
                "guess", stored_hash=STORED, address="10.9.9.9", slot_id="slot-001"
            )
        )
        await until(lambda: len(started) >= 2)  # the flood's check holds the KDF thread
        await passwords.authenticate_ingest(
            "right-password", stored_hash=STORED, address="10.0.0.1", slot_id="slot-001"
        )
        assert not flood.done()
        release.set()
        with pytest.raises(IngestError):
            await flood

    async_to_sync(flood_then_booth)()


def test_a_full_queue_refuses_new_candidates_with_503_and_retry_after(stalled_kdf):
    started, release = stalled_kdf

    async def flood():
        checks = [
            asyncio.ensure_future(
                passwords.authenticate_ingest(
                    f"guess-{i}", stored_hash=STORED, address=f"10.1.0.{i}", slot_id="slot-001"
                )
            )
            for i in range(passwords.KDF_QUEUE + 3)
        ]
        # Each check first looks its address up in the database: wait until every one has
        # either been refused or taken its place in the queue, however long the lookups take.
        await until(lambda: started)
        await until(lambda: sum(c.done() for c in checks) + passwords._GENERAL.busy == len(checks))
        refused = [c for c in checks if c.done()]
        release.set()
        outcomes = await asyncio.gather(*checks, return_exceptions=True)
        return refused, outcomes

    refused, outcomes = async_to_sync(flood)()

    busy = [o for o in outcomes if o.reason == "password_check_busy"]
    assert len(busy) == 2 and len(refused) == 2
    assert all(o.status == 503 and o.retry_after >= 1 for o in busy)
    assert [o.reason for o in outcomes].count("invalid_password") == passwords.KDF_QUEUE + 1


def test_one_address_has_one_unknown_candidate_checked_at_a_time(stalled_kdf):
    started, release = stalled_kdf

    async def two_guesses():
        first = asyncio.ensure_future(
            passwords.authenticate_ingest(
                "guess-1", stored_hash=STORED, address="10.0.0.5", slot_id="slot-001"
            )
        )
        await until(lambda: started)
        try:
            await passwords.authenticate_ingest(
                "guess-2", stored_hash=STORED, address="10.0.0.5", slot_id="slot-001"
            )
        except IngestError as error:
            second = error.reason
        release.set()
        await asyncio.gather(first, return_exceptions=True)
        return second

    assert async_to_sync(two_guesses)() == "throttled"


def test_a_password_after_the_photo_is_not_queued_behind_other_checks(stalled_kdf):
    started, release = stalled_kdf

    async def photo_first_upload_during_a_check():
        other = asyncio.ensure_future(
            passwords.authenticate_ingest(
                "guess", stored_hash=STORED, address="10.0.0.9", slot_id="slot-001"
            )
        )
        await until(lambda: started)
        try:
            await passwords.authenticate_ingest(
                "right-password",
                stored_hash=STORED,
                address="10.0.0.1",
                slot_id="slot-001",
                holding_body=True,
            )
        except IngestError as error:
            refused = error
        release.set()
        await asyncio.gather(other, return_exceptions=True)
        return refused

    refused = async_to_sync(photo_first_upload_during_a_check)()

    assert (refused.reason, refused.status) == ("password_check_busy", 503)
    assert authenticate("right-password", holding_body=True) is None  # the retry: remembered


def test_wrong_passwords_are_logged_and_counted_per_slot_for_staff(caplog):
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            authenticate("guess", address="10.0.0.7", slot_id="slot-002")
        authenticate("guess", address="10.0.0.7", slot_id="slot-003")

    assert wrong_password_counts(timezone.now() - timedelta(hours=1)) == {
        "slot-002": 3,
        "slot-003": 1,
    }
    failures = [r for r in caplog.records if "ingest.auth.failure" in r.getMessage()]
    assert len(failures) == 4
    assert "10.0.0.7" in failures[0].getMessage() and "slot-002" in failures[0].getMessage()
    assert "guess" not in caplog.text


def test_wrong_password_counts_leave_out_minutes_before_since():
    now = timezone.now()
    WrongPasswordCount.objects.record(slot_id="slot-001", at=now - timedelta(hours=2))
    WrongPasswordCount.objects.record(slot_id="slot-001", at=now)
    WrongPasswordCount.objects.record(slot_id="slot-001", at=now)

    assert wrong_password_counts(now - timedelta(hours=1)) == {"slot-001": 2}


def test_a_throttled_address_is_logged_once_a_minute_not_per_request(caplog):
    for _ in range(passwords.FAILURE_LIMIT):
        authenticate("guess", address="10.0.0.8")
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            assert authenticate("guess", address="10.0.0.8") == "throttled"

    throttled = [r for r in caplog.records if "throttled" in r.getMessage()]
    assert len(throttled) == 1


def test_the_right_password_records_its_address_as_a_booths():
    assert authenticate("right-password", address="10.0.0.42") is None
    assert IngestClient.objects.filter(address="10.0.0.42").exists()
    authenticate("guess", address="10.0.0.43")
    assert not IngestClient.objects.filter(address="10.0.0.43").exists()


def test_a_known_booth_is_checked_at_once_while_a_flood_fills_the_queue(monkeypatch):
    IngestClient.objects.remember(address="10.0.0.1")  # before the restart
    release, started = threading.Event(), []

    def guesses_stall(raw, encoded):
        started.append(raw)
        if raw.startswith("guess"):
            release.wait(10)
        return raw == "right-password"

    monkeypatch.setattr(passwords, "check_password", guesses_stall)

    async def flood_then_booth():
        flood = [
            asyncio.ensure_future(
                passwords.authenticate_ingest(
                    f"guess-{i}", stored_hash=STORED, address=f"10.2.0.{i}", slot_id="slot-001"
                )
            )
            for i in range(passwords.KDF_QUEUE + 1)
        ]
        await until(lambda: started)
        with pytest.raises(IngestError) as stranger:  # the general queue is full
            await passwords.authenticate_ingest(
                "right-password", stored_hash=STORED, address="10.3.0.1", slot_id="slot-001"
            )
        await passwords.authenticate_ingest(
            "right-password", stored_hash=STORED, address="10.0.0.1", slot_id="slot-001"
        )
        release.set()
        await asyncio.gather(*flood, return_exceptions=True)
        return stranger.value.reason

    try:
        assert async_to_sync(flood_then_booth)() == "password_check_busy"
    finally:
        release.set()
