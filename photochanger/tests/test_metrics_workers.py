"""/metrics of a real uvicorn with two workers adds up what both workers counted."""

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from prometheus_client.mmap_dict import MmapedDict

pytestmark = pytest.mark.e2e
BASE_DIR = Path(settings.BASE_DIR)
REQUESTS = "django_http_requests_before_middlewares_total"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def two_workers(tmp_path):
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()
    (multiproc_dir / "counter_999999.db").write_bytes(b"left by an earlier run")
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "metrics-e2e-" + "k" * 50,
        # The server needs a database of its own; SQLite keeps this test quick on either suite.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "HEALTH_CACHE_DIR": str(tmp_path / "health-cache"),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    for command in (["migrate", "-v0"], ["reset_metrics"]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=BASE_DIR, capture_output=True)
    assert list(multiproc_dir.iterdir()) == []
    port = _free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "photochanger.asgi:application"]
    server = subprocess.Popen(
        [*uvicorn, "--port", str(port), "--workers", "2"],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(base), "uvicorn did not start", server)
        yield base, multiproc_dir
    finally:
        server.terminate()
        server.wait(timeout=15)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz/live", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _wait_for(condition, message: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "uvicorn exited"
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(message)


def _requests_per_worker(multiproc_dir: Path) -> dict[str, float]:
    """Requests each worker counted, read from its own file, as no single worker knows them."""
    counts = {}
    for path in multiproc_dir.glob("counter_*.db"):
        values = MmapedDict.read_all_values_from_file(str(path))
        counts[path.stem] = sum(v for key, v, *_ in values if f'"{REQUESTS}"' in key)
    return counts


def test_metrics_from_either_worker_count_the_requests_both_workers_served(two_workers):
    base, multiproc_dir = two_workers
    sent = 0

    def both_workers_served() -> bool:
        nonlocal sent
        # Fresh connections, several at once, so the kernel hands them to both workers.
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(lambda _: _answers(base), range(8)))
        sent += 8
        return sum(1 for n in _requests_per_worker(multiproc_dir).values() if n > 0) == 2

    deadline = time.monotonic() + 30
    while not both_workers_served():
        assert time.monotonic() < deadline, "one worker served every request"

    # Includes the readiness probes the fixture sent before the test started.
    served = sum(_requests_per_worker(multiproc_dir).values())
    assert served >= sent
    body = httpx.get(f"{base}/metrics", timeout=5).text

    total = float(re.search(rf"^{REQUESTS} (\S+)$", body, re.MULTILINE)[1])
    assert total == served + 1  # the scrape counts itself before it reads
    assert body.count('photochanger_media_files{kind="result"}') == 1
