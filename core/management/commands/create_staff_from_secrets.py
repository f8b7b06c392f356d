"""Create or update the staff accounts listed in secrets/runtime_credentials.json.

The file holds Django password hashes, never plain passwords; see
secrets/runtime_credentials.example.json. Safe to run on every deploy.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.accounts import StaffAccount, sync_staff_accounts


class Command(BaseCommand):
    help = "Create or update staff users from a JSON file of usernames and password hashes."

    def add_arguments(self, parser):
        # The setting is django-environ's own Path type, which reads no files.
        parser.add_argument("--file", type=Path, default=Path(settings.RUNTIME_CREDENTIALS_FILE))

    def handle(self, *args, file: Path, **options):
        try:
            entries = json.loads(file.read_text(encoding="utf-8"))["staff"]
            accounts = [StaffAccount(**entry) for entry in entries]
            outcome = sync_staff_accounts(accounts)
        except FileNotFoundError as error:
            raise CommandError(
                f"{file} does not exist; copy the .example file next to it"
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise CommandError(
                f"{file}: expected {{'staff': [{{'username', 'password_hash'}}]}}"
            ) from error
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        for username, created in outcome:
            self.stdout.write(f"{'created' if created else 'updated'} staff user {username}")
