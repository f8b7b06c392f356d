import os
import subprocess
import sys

import pytest
from django.conf import settings

from media.checks import check_media_storage
from media.storage_config import LOCAL_BACKEND, S3_BACKEND, media_storage

NOTHING = {"url": "", "bucket": "", "endpoint_url": "", "region": "", "addressing_style": ""}


def configured(**values) -> dict:
    return media_storage(**{**NOTHING, **values})


def problems(settings_fixture, **values) -> list[str]:
    settings_fixture.STORAGE_URL = values.get("url", "")
    settings_fixture.STORAGES = {**settings_fixture.STORAGES, "default": configured(**values)}
    return [message.id for message in check_media_storage(None)]


def test_nothing_configured_keeps_the_files_on_the_local_disk():
    assert configured() == {"BACKEND": LOCAL_BACKEND}


def test_storage_url_names_bucket_prefix_endpoint_region_and_addressing_style():
    url = "s3://photos/booth-a?endpoint_url=http://minio:9000&region=eu-1&addressing_style=path"

    assert configured(url=url) == {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": "photos",
            "location": "booth-a",
            "endpoint_url": "http://minio:9000",
            "region_name": "eu-1",
            "addressing_style": "path",
        },
    }


def test_separate_variables_fill_in_what_the_url_leaves_out_and_credentials_come_along():
    storage = configured(
        url="s3://photos",
        bucket="ignored",
        region="eu-1",
        access_key="AKIA-test",
        secret_key="secret-test",
    )

    assert storage["OPTIONS"] == {
        "bucket_name": "photos",
        "region_name": "eu-1",
        "access_key": "AKIA-test",
        "secret_key": "secret-test",
    }


def test_a_bucket_variable_alone_selects_s3():
    assert configured(bucket="photos")["OPTIONS"] == {"bucket_name": "photos"}


def test_a_good_configuration_passes_the_check(settings):
    url = "s3://photos?endpoint_url=https://s3.example.com&region=eu-1&addressing_style=path"
    assert problems(settings, url=url) == []
    assert problems(settings) == []


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"url": "https://photos.s3.example.com"}, "media.E001"),
        ({"url": "s3://KEY:SECRET@photos"}, "media.E002"),
        ({"url": "s3://photos?endpoint=http://minio:9000"}, "media.E003"),
        ({"url": "s3://?region=eu-1"}, "media.E004"),
        ({"url": "s3://photos?endpoint_url=minio:9000"}, "media.E005"),
        ({"bucket": "photos", "endpoint_url": "minio.local"}, "media.E005"),
        ({"url": "s3://photos?addressing_style=dns"}, "media.E006"),
        ({"bucket": "photos", "access_key": "AKIA-test"}, "media.E007"),
    ],
)
def test_a_misconfigured_bucket_is_an_error_of_the_system_check(settings, values, error):
    assert error in problems(settings, **values)


def test_every_error_carries_a_hint(settings):
    settings.STORAGE_URL = "ftp://KEY@?nope=1&endpoint_url=x&addressing_style=dns"
    settings.STORAGES = {**settings.STORAGES, "default": configured(url=settings.STORAGE_URL)}

    messages = check_media_storage(None)

    assert len(messages) == 6
    assert all(message.hint for message in messages)


def test_manage_py_check_refuses_to_start_with_a_bucket_url_without_scheme():
    environment = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**environment, "SECRET_KEY": "x" * 50, "STORAGE_URL": "photos"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "media.E001" in result.stderr
    assert "HINT: e.g. s3://" in result.stderr
