"""First-run set-up, and the refusal of an INGEST_PASSWORD the API itself would refuse."""

import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.runtime import load_runtime_settings
from photochanger.checks import check_ingest_password
from slots.models import Slot

pytestmark = pytest.mark.django_db


def test_bootstrap_stores_the_ingest_password_from_the_environment(settings):
    settings.INGEST_PASSWORD = "long-enough-password"
    out = StringIO()

    call_command("bootstrap", stdout=out)

    assert "(from INGEST_PASSWORD)" in out.getvalue()
    assert load_runtime_settings().ingest_password_hash


@pytest.mark.parametrize("password", ["short", " padded-password ", "1234567"])
def test_bootstrap_refuses_an_ingest_password_the_api_would_refuse(settings, password):
    settings.INGEST_PASSWORD = password

    with pytest.raises(CommandError, match="INGEST_PASSWORD is not usable: use at least 8"):
        call_command("bootstrap", stdout=StringIO())

    assert not load_runtime_settings().ingest_password_hash


@pytest.mark.parametrize(
    ("password", "errors"), [("short", ["photochanger.E001"]), ("long-enough", []), ("", [])]
)
def test_the_system_check_flags_a_bad_ingest_password(settings, password, errors):
    settings.INGEST_PASSWORD = password

    found = check_ingest_password(None)

    assert [error.id for error in found] == errors
    assert all("INGEST_PASSWORD" in error.hint for error in found)


def test_serve_refuses_to_start_with_a_bad_ingest_password(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "x" * 50,
        "INGEST_PASSWORD": "short",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]

    started = subprocess.run(
        [*manage, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=120
    )

    assert started.returncode != 0
    assert "photochanger.E001" in started.stderr
    assert "INGEST_PASSWORD is not usable" in started.stderr


def test_the_first_run_sets_slot_001_to_replace_backgrounds_with_the_studio_backdrop(settings):
    settings.INGEST_PASSWORD = "booth-secret-2"
    call_command("bootstrap", stdout=StringIO())
    call_command("bootstrap", stdout=StringIO())  # every start: nothing more happens

    slot = Slot.objects.get(pk="slot-001")
    assert (slot.provider, slot.operation) == ("local", "replace_background")
    assert list(slot.template_media.values_list("role", flat=True)) == ["background"]


def test_the_first_run_leaves_a_slot_staff_already_changed(settings):
    settings.INGEST_PASSWORD = "booth-secret-2"
    Slot.objects.filter(pk="slot-001").update(version=2, operation="passthrough")

    call_command("bootstrap", stdout=StringIO())

    slot = Slot.objects.get(pk="slot-001")
    assert slot.operation == "passthrough" and not slot.template_media.exists()
