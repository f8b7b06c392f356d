"""A real S3 server on loopback for the tests: moto's server mode, spoken to over HTTP.

The app talks to it through django-storages and boto3 exactly as it would to a bucket
elsewhere; nothing in boto3 is mocked. `MotoProcess` runs one in a child process that a test can
stop and start again (a stopped process refuses connections, pooled ones included).
"""

import functools
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from media.storage_config import media_storage

REGION = "us-east-1"
# moto accepts any credentials; real ones must never reach a test.
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@functools.cache  # building a client parses boto's service descriptions: once per endpoint
def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def new_bucket(endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def storage_url(endpoint: str, bucket: str) -> str:
    return f"s3://{bucket}?endpoint_url={endpoint}&region={REGION}&addressing_style=path"


@dataclass
class StorageUnderTest:
    """Where a test's media files go: `local` (MEDIA_ROOT) or `s3` (a fresh bucket)."""

    kind: str
    media_root: Path
    endpoint: str = ""
    bucket: str = ""

    @property
    def setting(self) -> dict:
        """The STORAGES["default"] entry."""
        if self.kind == "local":
            return media_storage(url="", bucket="", endpoint_url="", region="", addressing_style="")
        return media_storage(
            url=storage_url(self.endpoint, self.bucket),
            bucket="",
            endpoint_url="",
            region="",
            addressing_style="",
            **CREDENTIALS,
        )

    def env(self) -> dict[str, str]:
        """Environment variables that point a server process at this storage."""
        if self.kind == "local":
            return {}
        return {
            "STORAGE_URL": storage_url(self.endpoint, self.bucket),
            "AWS_ACCESS_KEY_ID": CREDENTIALS["access_key"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_key"],
        }

    def names(self) -> list[str]:
        """Every stored file, read straight from the disk or the bucket, not through the app."""
        if self.kind == "local":
            return sorted(
                p.relative_to(self.media_root).as_posix()
                for p in Path(self.media_root).rglob("*")
                if p.is_file()
            )
        pages = (
            s3_client(self.endpoint).get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        )
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))


class MotoProcess:
    """An S3 server in a child process on a fixed loopback port, to stop and start at will."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the S3 server exited"
            try:
                s3_client(self.endpoint).list_buckets()
                return
            except Exception:  # not listening yet
                time.sleep(0.1)
        raise AssertionError("the S3 server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
