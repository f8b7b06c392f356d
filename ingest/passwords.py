"""The one global ingest password: stored as a slow hash, checked cheaply, guarded against floods.

A booth sends the password with every shot. Running the KDF (~0.4 s with Django's default
hasher on a small server) on each upload would cost a core per two uploads a second, so the
outcome of a check is remembered per (stored hash, candidate), keyed by an HMAC so the cache
holds no plain passwords. Rotating the password changes the stored hash and so invalidates it.

Wrong passwords must not stall the booths. In this order, before any KDF work:
- an address with FAILURE_LIMIT wrong passwords within FAILURE_WINDOW is refused (429
  `throttled`, with Retry-After), and so is a second different candidate from an address whose
  first one is still being checked;
- a remembered verdict answers at once, so a known password never waits behind anything;
- an unknown candidate waits for a KDF thread behind at most KDF_QUEUE others, or is refused
  (503 `password_check_busy`, with Retry-After) when that queue is full. Addresses that sent
  the right password before (`IngestClient`, kept in the database across restarts) have a
  thread and a queue of their own, so after a restart a flood from other addresses, however
  many, does not keep a booth waiting or refused.
The ASGI layer stops reading an upload's body while its password is checked (the booth sends
the password before the photo), so waiting checks hold no photos in memory.

Wrong passwords are logged (`ingest.auth.failure`) and counted per slot and minute in the
database for the staff pages; no job is created for them. The per-address counts live in each
worker process: with n workers an address gets at most n × FAILURE_LIMIT tries per window.
"""

import asyncio
import hashlib
import hmac
import math
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError

from core.runtime import INGEST_PASSWORD_KEY, set_runtime_setting
from ingest.errors import IngestError
from ingest.models import IngestClient, WrongPasswordCount

log = structlog.get_logger(__name__)

MIN_LENGTH = 8
FAILURE_LIMIT = 10
FAILURE_WINDOW = 15 * 60
# Unknown candidates that may wait for the KDF thread besides the one it runs: a right password
# arriving behind a flood waits for at most this many slow hashes more than its own.
KDF_QUEUE = 2

_CACHE_SIZE = 1024
_TRACKED_ADDRESSES = 10_000
_outcomes: OrderedDict[bytes, bool] = OrderedDict()
# Checks under way: uploads arriving together with the same password share one KDF run.
_in_flight: dict[bytes, asyncio.Future] = {}
# The candidate each address has under way: one at a time per address.
_checking: dict[str, bytes] = {}
# Known booths' addresses (when last recorded) and recent misses of that lookup.
_known: dict[str, float] = {}
_unknown_until: dict[str, float] = {}
_UNKNOWN_FOR = 60.0
_REMEMBER_EVERY = 24 * 3600.0
_kdf_seconds = 0.5  # how long a run takes here, updated as runs finish (for Retry-After)


class _FailureLog:
    """Wrong passwords per client address within the window, for the most recent addresses."""

    def __init__(self) -> None:
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until `address` may try again, or None when it may now."""
        times = self._recent(address, now)
        if len(times) < FAILURE_LIMIT:
            return None
        return max(1, math.ceil(times[-FAILURE_LIMIT] + FAILURE_WINDOW - now))

    def add(self, address: str, now: float) -> None:
        self._recent(address, now).append(now)
        self._times.move_to_end(address)
        while len(self._times) > _TRACKED_ADDRESSES:
            self._times.popitem(last=False)

    def clear(self) -> None:
        self._times.clear()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._times.setdefault(address, deque(maxlen=FAILURE_LIMIT))
        while times and times[0] <= now - FAILURE_WINDOW:
            times.popleft()
        return times


_failures = _FailureLog()
# When each throttled address was last logged.
_throttle_logged: dict[str, float] = {}


def validate_ingest_password(raw: str) -> None:
    # Booth operators type it into DSLR Remote Pro: long enough, and no invisible spaces.
    if len(raw) < MIN_LENGTH or raw != raw.strip():
        raise ValidationError(f"use at least {MIN_LENGTH} characters, without spaces at the ends")


def set_ingest_password(*, raw: str, user=None) -> None:
    """Store a new ingest password (hashed); ValidationError when it breaks the rule."""
    validate_ingest_password(raw)
    set_runtime_setting(key=INGEST_PASSWORD_KEY, value=make_password(raw), user=user)


async def authenticate_ingest(
    raw: str, *, stored_hash: str, address: str, slot_id: str, holding_body: bool = False
) -> None:
    """Accept the ingest password or raise IngestError (`throttled`, `invalid_password`,
    `password_check_busy`).

    `holding_body`: the caller already holds the upload's photo (the password came after it).
    It then never queues: an unknown password is checked at once when the KDF thread is idle,
    else the check runs without the photo and the upload is refused with 503, so that its
    retry finds the verdict remembered.
    """
    refuse_throttled(address, slot_id)
    if not await _verdict(raw, stored_hash, address, holding_body):
        _failures.add(address, time.monotonic())
        _log_failure(slot_id, address, "invalid_password")
        await sync_to_async(WrongPasswordCount.objects.record)(slot_id=slot_id)
        raise IngestError("invalid_password", "wrong ingest password")


def refuse_throttled(address: str, slot_id: str) -> None:
    """Raise IngestError `throttled` (429) when `address` sent too many wrong passwords.

    Costs no I/O, so the ASGI layer asks it before anything else: a throttled flood must not
    queue for the database in front of the booths. Each address's refusals are logged once a
    minute, not once per request.
    """
    now = time.monotonic()
    retry_after = _failures.retry_after(address, now)
    if retry_after is None:
        return
    if now - _throttle_logged.get(address, -math.inf) >= 60:
        _throttle_logged[address] = now
        _log_failure(slot_id, address, "throttled")
        while len(_throttle_logged) > _TRACKED_ADDRESSES:
            _throttle_logged.pop(next(iter(_throttle_logged)))
    raise IngestError("throttled", "too many wrong passwords", retry_after=retry_after)


async def _verdict(raw: str, stored_hash: str, address: str, holding_body: bool) -> bool:
    if not raw or not stored_hash:
        return False
    key = hmac.new(
        settings.SECRET_KEY.encode(), f"{stored_hash}\0{raw}".encode(), hashlib.sha256
    ).digest()
    lane = _GENERAL
    if key not in _outcomes and key not in _in_flight:
        lane = _KNOWN if await _is_known(address) else _GENERAL  # may wait for the database
    if key in _outcomes:  # settled before, or while the lane was being looked up
        _outcomes.move_to_end(key)
        outcome = _outcomes[key]
    else:
        check = _in_flight.get(key) or _start_check(
            key, raw, stored_hash, address, holding_body, lane
        )
        # Shielded: one upload giving up (its client left) must not cancel the others' check.
        outcome = await asyncio.shield(check)
    if outcome:
        await _remember(address)
    return outcome


@dataclass
class _Lane:
    """A KDF thread and the unknown candidates waiting for it."""

    capacity: int  # checks that may wait besides the one running
    executor: ThreadPoolExecutor
    busy: int = 0  # checks waiting or running


# Addresses that sent the right password before (recorded in the database, so a restart keeps
# them) have a thread of their own: a flood from unknown addresses never delays a known booth.
_GENERAL = _Lane(KDF_QUEUE, ThreadPoolExecutor(1, thread_name_prefix="ingest-password"))
_KNOWN = _Lane(KDF_QUEUE, ThreadPoolExecutor(1, thread_name_prefix="ingest-password-known"))


def _start_check(
    key: bytes, raw: str, stored_hash: str, address: str, holding_body: bool, lane: _Lane
) -> asyncio.Future:
    if address in _checking:
        raise IngestError(
            "throttled", "another password from this client is being checked", retry_after=1
        )
    busy = lane.busy
    if busy > lane.capacity:
        raise _busy(busy)
    lane.busy += 1  # counted now: other uploads this same moment must see it
    check = _in_flight[key] = asyncio.ensure_future(_run_check(key, raw, stored_hash, lane))
    _checking[address] = key
    check.add_done_callback(lambda _: _checking.pop(address, None))
    if holding_body and busy:
        raise _busy(busy)  # the verdict is on its way: the retry will find it remembered
    return check


def _busy(queued: int) -> IngestError:
    wait = max(1, math.ceil(_kdf_seconds * (queued + 1)))
    return IngestError("password_check_busy", "password checks are queued", retry_after=wait)


async def _run_check(key: bytes, raw: str, stored_hash: str, lane: _Lane) -> bool:
    global _kdf_seconds
    try:
        run = lane.executor.submit(_timed_check, raw, stored_hash)
        outcome, seconds = await asyncio.wrap_future(run)
    finally:
        lane.busy -= 1
        _in_flight.pop(key, None)
    _kdf_seconds = 0.8 * _kdf_seconds + 0.2 * seconds
    _outcomes[key] = outcome
    if len(_outcomes) > _CACHE_SIZE:
        _outcomes.popitem(last=False)
    return outcome


async def _is_known(address: str) -> bool:
    now = time.monotonic()
    if address in _known:
        return True
    if _unknown_until.get(address, 0.0) > now:
        return False
    if await IngestClient.objects.aknown(address):
        _known[address] = now
        return True
    _unknown_until[address] = now + _UNKNOWN_FOR
    while len(_unknown_until) > _TRACKED_ADDRESSES:
        _unknown_until.pop(next(iter(_unknown_until)))
    return False


async def _remember(address: str) -> None:
    """Record `address` as a booth's, once a day per process (it keeps its lane for months)."""
    now = time.monotonic()
    if now - _known.get(address, -math.inf) < _REMEMBER_EVERY or not address:
        return
    _known[address] = now
    _unknown_until.pop(address, None)
    await sync_to_async(IngestClient.objects.remember)(address=address)


def _timed_check(raw: str, stored_hash: str) -> tuple[bool, float]:
    started = time.monotonic()
    return check_password(raw, stored_hash), time.monotonic() - started


def _log_failure(slot_id: str, address: str, reason: str) -> None:
    log.warning("ingest.auth.failure", slot_id=slot_id, ip=address, reason=reason)


def forget_verdicts() -> None:
    """Start afresh: no remembered verdicts or failures (tests, and benchmarks of a cold start)."""
    _outcomes.clear()
    _failures.clear()
    _throttle_logged.clear()
    _known.clear()
    _unknown_until.clear()
