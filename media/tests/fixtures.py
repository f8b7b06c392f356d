"""Storage fixtures shared by every app's tests (loaded by the root conftest).

`storage` runs a test twice: on the local disk and on a fresh bucket of a real S3 server
(moto's server mode on loopback, started once per session).
"""

import pytest
from moto.server import ThreadedMotoServer

from media.tests.disks import small_tmpfs
from media.tests.s3 import StorageUnderTest, new_bucket


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, settings) -> StorageUnderTest:
    if request.param == "local":
        under_test = StorageUnderTest("local", settings.MEDIA_ROOT)
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        under_test = StorageUnderTest("s3", settings.MEDIA_ROOT, endpoint, new_bucket(endpoint))
    settings.STORAGES = {**settings.STORAGES, "default": under_test.setting}
    return under_test


@pytest.fixture
def s3_storage(settings, s3_endpoint) -> StorageUnderTest:
    """A fresh bucket only, for what concerns S3 alone."""
    under_test = StorageUnderTest("s3", settings.MEDIA_ROOT, s3_endpoint, new_bucket(s3_endpoint))
    settings.STORAGES = {**settings.STORAGES, "default": under_test.setting}
    return under_test


@pytest.fixture
def full_disk(settings, tmp_path):
    """MEDIA_ROOT on a 64 KiB tmpfs; where mounting is refused, a storage that fails the same
    way (ENOSPC half-way through a write). Yields the media root."""
    root = tmp_path / "small-disk"
    with small_tmpfs(root) as mounted:
        settings.MEDIA_ROOT = root
        if not mounted:
            backend = {"BACKEND": "media.tests.disks.DiskFullMidWrite"}
            settings.STORAGES = {**settings.STORAGES, "default": backend}
        yield root
