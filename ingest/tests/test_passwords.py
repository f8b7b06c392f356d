import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.hashers import make_password

from ingest import passwords


@pytest.fixture
def counted_checks(monkeypatch):
    calls = []
    real = passwords.check_password

    def counting(raw, encoded):
        calls.append(raw)
        return real(raw, encoded)

    monkeypatch.setattr(passwords, "check_password", counting)
    return calls


def test_the_slow_hash_runs_once_per_candidate_not_per_upload(counted_checks):
    stored = make_password("right")
    check = async_to_sync(passwords.acheck_ingest_password)
    assert all(check("right", stored) for _ in range(5))
    assert not any(check("wrong", stored) for _ in range(5))
    assert counted_checks == ["right", "wrong"]


def test_a_rotated_password_is_checked_against_the_new_hash(counted_checks):
    check = async_to_sync(passwords.acheck_ingest_password)
    assert check("old", make_password("old"))
    assert not check("old", make_password("new"))


@pytest.mark.parametrize(("raw", "stored"), [("", "x"), ("x", "")])
def test_empty_password_or_unset_hash_never_matches(raw, stored):
    assert not async_to_sync(passwords.acheck_ingest_password)(raw, stored)


def test_uploads_arriving_together_share_one_slow_hash(counted_checks):
    import asyncio

    stored = make_password("right")

    async def five_at_once():
        return await asyncio.gather(
            *(passwords.acheck_ingest_password("right", stored) for _ in range(5))
        )

    assert async_to_sync(five_at_once)() == [True] * 5
    assert counted_checks == ["right"]
