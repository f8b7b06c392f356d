"""First-run set-up, safe to run on every start: a staff user, the ingest password, and slot-001
replacing backgrounds with the built-in studio backdrop (while nobody has changed that slot).

Values come from ADMIN_USERNAME / ADMIN_PASSWORD / INGEST_PASSWORD when set (reproducible
deploys); otherwise they are generated and printed once, on the run that creates them.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.runtime import load_runtime_settings
from ingest.passwords import set_ingest_password
from providers.local import DEFAULT_BACKDROP, LocalDriver
from slots import services


class Command(BaseCommand):
    help = "Create the first staff user and the ingest password when they do not exist yet."

    def handle(self, *args, **options):
        self._ensure_staff_user()
        self._ensure_ingest_password()
        self._offer_first_slot()

    def _ensure_staff_user(self) -> None:
        User = get_user_model()
        if User.objects.filter(is_staff=True).exists():
            return
        username = settings.ADMIN_USERNAME or "admin"
        password = settings.ADMIN_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, password=password, email="")
        shown = password if not settings.ADMIN_PASSWORD else "(from ADMIN_PASSWORD)"
        self.stdout.write(f"Created staff user {username!r} with password: {shown}")

    def _ensure_ingest_password(self) -> None:
        if load_runtime_settings().ingest_password_hash:
            return
        password = settings.INGEST_PASSWORD or secrets.token_urlsafe(9)
        try:
            set_ingest_password(raw=password)
        except ValidationError as error:
            raise CommandError(
                f"INGEST_PASSWORD is not usable: {'; '.join(error.messages)}. Set a longer one "
                "in .env, or leave it empty to get one generated."
            ) from error
        shown = password if not settings.INGEST_PASSWORD else "(from INGEST_PASSWORD)"
        self.stdout.write(f"Set the ingest password (DSLR Remote Pro 'password' field): {shown}")

    def _offer_first_slot(self) -> None:
        slot = services.offer_first_slot(
            provider=LocalDriver.name,
            operation="replace_background",
            background=DEFAULT_BACKDROP.read_bytes(),
        )
        if slot is not None:
            self.stdout.write(f"{slot.pk} replaces the background with the studio backdrop")
