"""LOG_SYSLOG_ADDRESS: the same JSON lines reach a syslog server, here a real UDP socket."""

import io
import json
import logging.config
import os
import re
import socket
import subprocess
import sys

import pytest
import structlog
from django.conf import settings
from django.core.management import call_command

from core.logging import with_syslog

# <PRI> is facility * 8 + severity: user (1) with info (6) or warning (4).
LINE = re.compile(rb"^<(?P<priority>\d+)>photochanger: (?P<json>.*)\x00$", re.DOTALL)


@pytest.fixture
def syslog_server():
    """A UDP socket on loopback standing in for the syslog daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        yield server


def received(server) -> list[dict]:
    """Datagrams until the socket stays quiet, each `<PRI>photochanger: {json}` and a NUL."""
    lines = []
    try:
        while True:
            match = LINE.match(server.recv(65536))
            assert match, "not a syslog line of PhotoChanger's"
            assert int(match["priority"]) in (14, 12)
            lines.append(json.loads(match["json"]))
            server.settimeout(0.5)
    except TimeoutError:
        return lines


@pytest.fixture
def logging_to(syslog_server):
    address = f"127.0.0.1:{syslog_server.getsockname()[1]}"
    logging.config.dictConfig(with_syslog(settings.LOGGING, address=address))
    yield syslog_server
    logging.config.dictConfig(settings.LOGGING)


def test_a_structlog_event_reaches_syslog_as_one_json_line(logging_to):
    structlog.get_logger("photochanger.test").info("syslog.probe", slot_id="slot-001")

    [line] = [line for line in received(logging_to) if line["event"] == "syslog.probe"]
    assert (line["slot_id"], line["level"], line["logger"]) == (
        "slot-001",
        "info",
        "photochanger.test",
    )


def test_secrets_are_redacted_on_the_way_to_syslog_too(logging_to):
    structlog.get_logger("photochanger.test").info("syslog.secret", password="hunter2-booth")

    [line] = [line for line in received(logging_to) if line["event"] == "syslog.secret"]
    assert line["password"] == "[redacted]"


@pytest.mark.django_db
def test_the_cleanup_crons_summary_goes_to_syslog(logging_to):
    call_command("cleanup_media", stdout=io.StringIO())

    events = [line["event"] for line in received(logging_to)]
    assert "cleanup.finished" in events


def test_settings_turn_syslog_on_from_the_environment(syslog_server):
    env = {
        **os.environ,
        "LOG_SYSLOG_ADDRESS": f"127.0.0.1:{syslog_server.getsockname()[1]}",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    probe = "import structlog; structlog.get_logger('probe').warning('syslog.from_settings')"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
    )

    assert "syslog.from_settings" in [line["event"] for line in received(syslog_server)]


def test_a_malformed_address_is_refused():
    with pytest.raises(ValueError, match="syslog") as refused:
        logging.config.dictConfig(with_syslog(settings.LOGGING, address="no-port-here"))
    logging.config.dictConfig(settings.LOGGING)
    assert "neither host:port nor a path" in str(refused.value.__cause__)
