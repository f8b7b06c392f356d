"""Check the committed API contract, or bump its version and regenerate it.

python manage.py contract                 # exit 1 with what to do when it is stale
python manage.py contract --bump minor    # new version, spec/contracts/openapi.yaml, digest
"""

import json
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from photochanger import openapi


class Command(BaseCommand):
    help = (
        "Check spec/contracts/openapi.yaml against the code, or --bump its version and rewrite it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bump",
            choices=("major", "minor", "patch"),
            help="SemVer part to raise: minor for additions, patch for fixes, major for breaks",
        )

    def handle(self, *args, bump: str | None, **options):
        if bump:
            self._bump(bump)
        problems = self._problems()
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write(f"contract {openapi.recorded_version()['version']} is up to date")

    def _bump(self, part: str) -> None:
        record = openapi.recorded_version()
        version = openapi.bumped(record["version"], part)
        self._record(version, record["sha256"])
        _generate(openapi.OPENAPI_FILE)
        self._record(version, openapi.digest(openapi.OPENAPI_FILE.read_bytes()))
        self.stdout.write(f"contract {record['version']} -> {version}")

    def _record(self, version: str, sha256: str) -> None:
        text = json.dumps({"version": version, "sha256": sha256}, indent=2) + "\n"
        openapi.VERSION_FILE.write_text(text, encoding="utf-8")

    def _problems(self) -> list[str]:
        committed = openapi.OPENAPI_FILE.read_bytes()
        with tempfile.TemporaryDirectory() as folder:
            fresh = Path(folder) / "openapi.yaml"
            _generate(fresh)
            if fresh.read_bytes() != committed:
                return [f"spec/contracts/openapi.yaml does not match the code: {openapi.BUMP_HINT}"]
        return openapi.contract_problems(committed, openapi.recorded_version())


def _generate(path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", file=str(path))
