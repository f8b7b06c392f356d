"""A PhotoChanger running under a real uvicorn process, for end-to-end tests.

The server gets a database of its own on the engine the suite runs on (a fresh PostgreSQL
database or a SQLite file), migrated and set up before uvicorn starts.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PASSWORD = "e2e-booth-password"
DSLR_FIELDS = {
    "time": "1758217512",
    "user_id": "Acer",
    "id": "CY04N068111304S2L_00000001.",
    "profile": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\setup_Serg.xml",
    "status": "C:\\Users\\Acer\\Documents\\PhotoboothImages\\screenSerg\\preview.jpg",
    "hash": "7b6c683e1d3fd29c8701791c54e3c12a236f5a5b",
    "name": "DESKTOP-K968T3F",
    "model": "Windows",
    "version": "3.30.2",
    "password": PASSWORD,
}


# What a deployment runs before it starts serving (`migrate`, then `bootstrap`).
_PREPARE = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("bootstrap")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """A database of the server's own, on the same engine the suite runs on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path / 'e2e.sqlite3'}", None
    name = f"photochanger_e2e_{uuid.uuid4().hex[:8]}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}", name


@contextlib.contextmanager
def running_server(
    tmp_path: Path,
    *,
    setup: str,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
) -> Iterator[dict]:
    """Yield {"base", "port", "database_url", "pg_name", "env", "process"} of a server.

    The server gets a database of its own, or joins `database_url` (another server's) when
    given: two servers on one database and one bucket are one system on two machines. It starts
    the way a deployment does, with `manage.py serve`.
    """
    joined = database_url is not None
    if database_url is None:
        database_url, pg_name = _database_url(tmp_path)
    else:
        pg_name = database_url.rsplit("/", 1)[1] if database_url.startswith("postgres") else None
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "e2e-" + "x" * 50,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        # A machine of its own: nothing shared with another server but what is configured.
        "HEALTH_CACHE_DIR": str(tmp_path / "health-cache"),
        "INGEST_PASSWORD": PASSWORD,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WORKERS": "1",
        # Requests left hanging by a test must not hold the server's exit for a minute.
        "SERVER_GRACEFUL_SHUTDOWN_SECONDS": "5",
        **(env or {}),
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    # A server joining another's database finds it migrated and set up already. The commands
    # run in one process: each process of its own spent seconds starting Django first.
    commands = "" if joined else _PREPARE
    if commands or setup:
        script = f"{commands}\n{setup}"
        subprocess.run(
            [*manage, "shell", "-c", script], env=env, check=True, cwd=BASE_DIR, capture_output=True
        )
    with (tmp_path / f"server-{port}.log").open("wb") as log:  # kept for reading when a test fails
        process = subprocess.Popen(
            [*manage, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield {
            "base": base,
            "port": port,
            "database_url": database_url,
            "pg_name": pg_name,
            "env": env,
            "process": process,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        if pg_name and not joined:
            admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60  # system checks and imports, on a loaded machine
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            httpx.get(f"{base}/api/jobs/{uuid.uuid4()}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("uvicorn did not start")


def multipart(fields: dict[str, str], photo: bytes) -> tuple[str, bytes]:
    boundary = "------------090306000104030805010400"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="fileToUpload"; '
        f'filename="IMG_0003.JPG"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


class BoothConnection:
    """A raw HTTP/1.1 client that waits for `100 Continue` before sending the body."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.host = f"127.0.0.1:{port}"
        self.buffer = b""

    def send_head(self, path: str, headers: dict[str, str]) -> None:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read_response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
        length = int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def manage(server: dict, *command: str, env: dict[str, str] | None = None) -> str:
    """Run a management command as a process of its own on `server`'s database and storage."""
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *command],
        env={**server["env"], **(env or {})},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)
