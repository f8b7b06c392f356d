import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(tmp_path):
    path = tmp_path / "runtime_credentials.json"

    def write(*accounts):
        path.write_text(json.dumps({"staff": list(accounts)}), encoding="utf-8")
        return path

    return write


def run(path) -> str:
    out = StringIO()
    call_command("create_staff_from_secrets", file=path, stdout=out)
    return out.getvalue()


def test_creates_staff_users_that_log_in_with_their_passwords(credentials, rf):
    path = credentials(
        {"username": "serg", "password_hash": make_password("serg-pass-1"), "is_superuser": True},
        {"username": "igor", "password_hash": make_password("igor-pass-1")},
    )

    assert run(path).splitlines() == ["created staff user serg", "created staff user igor"]

    serg = authenticate(rf.post("/login/"), username="serg", password="serg-pass-1")
    assert serg.is_staff and serg.is_superuser
    igor = authenticate(rf.post("/login/"), username="igor", password="igor-pass-1")
    assert igor.is_staff and not igor.is_superuser


def test_running_again_updates_instead_of_duplicating(credentials, rf):
    run(credentials({"username": "serg", "password_hash": make_password("old-password")}))
    path = credentials({"username": "serg", "password_hash": make_password("new-password")})

    assert run(path).strip() == "updated staff user serg"
    assert get_user_model().objects.filter(username="serg").count() == 1
    assert authenticate(rf.post("/login/"), username="serg", password="new-password")


def test_plain_passwords_are_refused_and_nothing_is_created(credentials):
    path = credentials(
        {"username": "serg", "password_hash": make_password("fine-password")},
        {"username": "igor", "password_hash": "igor-plain-password"},
    )

    with pytest.raises(CommandError, match="igor: not a Django password hash"):
        run(path)
    assert not get_user_model().objects.exists()


def test_a_missing_or_malformed_file_is_a_clear_error(credentials, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"users": []}', encoding="utf-8")
    with pytest.raises(CommandError, match="expected"):
        run(bad)


def test_without_file_it_reads_the_runtime_credentials_file_setting(credentials, settings):
    settings.RUNTIME_CREDENTIALS_FILE = credentials(
        {"username": "igor", "password_hash": make_password("igor-pass-1")}
    )
    out = StringIO()

    call_command("create_staff_from_secrets", stdout=out)

    assert out.getvalue().strip() == "created staff user igor"


def test_without_file_a_missing_default_file_names_it(settings, tmp_path):
    settings.RUNTIME_CREDENTIALS_FILE = str(tmp_path / "absent.json")

    with pytest.raises(CommandError, match=r"absent\.json does not exist"):
        call_command("create_staff_from_secrets")


def test_the_committed_example_has_the_expected_shape(settings):
    example = settings.BASE_DIR / "secrets/runtime_credentials.example.json"
    usernames = [entry["username"] for entry in json.loads(example.read_text())["staff"]]

    assert usernames == ["serg", "igor"]
