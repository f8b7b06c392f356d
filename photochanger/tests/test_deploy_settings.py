import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "photo.example.com",
    "SECURE_SSL_REDIRECT": "1",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**environment, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_production_settings_pass_check_deploy():
    result = check_deploy(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_plain_http_first_run_is_what_check_deploy_warns_about():
    result = check_deploy(**{**PRODUCTION, "SECURE_SSL_REDIRECT": "0"})

    assert result.returncode != 0
    for warning in ("security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_env_example_documents_every_variable_settings_reads():
    source = (BASE_DIR / "photochanger/settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", source))
    documented = set(re.findall(r"^#?([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))

    assert read and read <= documented, sorted(read - documented)
