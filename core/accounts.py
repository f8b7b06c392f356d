"""Staff accounts from a deploy's credentials file (password hashes, never plain passwords)."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import transaction


@dataclass(frozen=True)
class StaffAccount:
    username: str
    password_hash: str
    is_superuser: bool = False
    email: str = ""


def sync_staff_accounts(accounts: list[StaffAccount]) -> list[tuple[str, bool]]:
    """Create or update staff users from password hashes; returns (username, created) pairs.

    Idempotent: running it again with the same file changes nothing that matters.
    """
    for account in accounts:
        try:
            identify_hasher(account.password_hash)
        except ValueError as error:
            raise ValidationError(f"{account.username}: not a Django password hash") from error
    User = get_user_model()
    outcome = []
    with transaction.atomic():
        for account in accounts:
            user, created = User.objects.update_or_create(
                username=account.username,
                defaults={
                    "password": account.password_hash,
                    "is_staff": True,
                    "is_active": True,
                    "is_superuser": account.is_superuser,
                    "email": account.email,
                },
            )
            outcome.append((user.username, created))
    return outcome
