"""Re-encrypt stored provider API keys under the current FIELD_ENCRYPTION_KEY (rotation)."""

from django.core.management.base import BaseCommand, CommandError

from core.runtime import reencrypt_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt stored provider API keys under FIELD_ENCRYPTION_KEY; keys sealed under a "
        "value listed in FIELD_ENCRYPTION_KEYS_OLD are opened with it. Safe to repeat."
    )

    def handle(self, *args, **options):
        done, unreadable = reencrypt_secrets()
        self.stdout.write(f"re-encrypted {len(done)} secrets: {', '.join(done) or 'none'}")
        if unreadable:
            raise CommandError(
                f"cannot open {', '.join(unreadable)}: list the key they were stored under in "
                "FIELD_ENCRYPTION_KEYS_OLD, or enter those provider keys again"
            )
