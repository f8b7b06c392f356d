"""The one global ingest password: stored as a slow hash, checked cheaply.

A booth sends the password with every shot. Running the KDF (~200 ms with Django's default
hasher) on each upload would cost a core per five uploads a second, so the outcome of a check
is remembered per (stored hash, candidate), keyed by an HMAC so the cache holds no plain
passwords. Rotating the password changes the stored hash and so invalidates the cache.
"""

import asyncio
import hashlib
import hmac
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError

from core.runtime import INGEST_PASSWORD_KEY, set_runtime_setting

MIN_LENGTH = 8

_CACHE_SIZE = 256
_outcomes: OrderedDict[bytes, bool] = OrderedDict()
# Checks under way: uploads arriving together with the same password share one KDF run.
_in_flight: dict[bytes, Future] = {}
# One KDF run at a time: a stream of wrong guesses queues here instead of taking every core.
_kdf_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-password")


def validate_ingest_password(raw: str) -> None:
    # Booth operators type it into DSLR Remote Pro: long enough, and no invisible spaces.
    if len(raw) < MIN_LENGTH or raw != raw.strip():
        raise ValidationError(f"use at least {MIN_LENGTH} characters, without spaces at the ends")


def set_ingest_password(*, raw: str, user=None) -> None:
    """Store a new ingest password (hashed); ValidationError when it breaks the rule."""
    validate_ingest_password(raw)
    set_runtime_setting(key=INGEST_PASSWORD_KEY, value=make_password(raw), user=user)


async def acheck_ingest_password(raw: str, stored_hash: str) -> bool:
    if not raw or not stored_hash:
        return False
    key = hmac.new(
        settings.SECRET_KEY.encode(), f"{stored_hash}\0{raw}".encode(), hashlib.sha256
    ).digest()
    if key in _outcomes:
        _outcomes.move_to_end(key)
        return _outcomes[key]
    check = _in_flight.get(key)
    if check is None:
        check = _in_flight[key] = _kdf_executor.submit(check_password, raw, stored_hash)
    try:
        outcome = await asyncio.wrap_future(check)
    finally:
        _in_flight.pop(key, None)
    _outcomes[key] = outcome
    if len(_outcomes) > _CACHE_SIZE:
        _outcomes.popitem(last=False)
    return outcome
