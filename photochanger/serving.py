"""How uvicorn serves PhotoChanger: its limits come from the settings, in one place.

`python manage.py serve` (make run, the Docker image) starts uvicorn with these options. The
HTTP parser is h11, not httptools: only h11 bounds the request head (httptools buffers headers
of any size), so a client cannot make a worker hold megabytes of headers. h11 notices only once
a read outgrows the limit; `core.asgi` refuses any head over it exactly.
"""

import json
from typing import Any

import h11
from django.conf import settings
from uvicorn.protocols.http.h11_impl import H11Protocol

from core.errors import error_body

APPLICATION = "photochanger.asgi:application"


class JsonH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, refusing a malformed or oversized request head in JSON."""

    def send_400_response(self, msg: str) -> None:
        # h11 keeps the unparsed bytes: more than the limit means the head was too big.
        unparsed = len(self.conn.trailing_data[0])
        if unparsed > (self.config.h11_max_incomplete_event_size or 0):
            status, reason, detail = 431, "headers_too_large", "the request headers are too large"
        else:
            status, reason, detail = 400, "bad_request", "malformed HTTP request"
        body = json.dumps(error_body(reason, detail)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


def uvicorn_options(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` for APPLICATION; `overrides` win (None is ignored)."""
    options = {
        "host": settings.HOST,
        "port": settings.PORT,
        "workers": settings.WORKERS,
        "http": JsonH11Protocol,
        "ws": "none",
        "lifespan": "on",
        "h11_max_incomplete_event_size": settings.SERVER_MAX_HEADER_BYTES,
        "timeout_keep_alive": settings.SERVER_KEEPALIVE_SECONDS,
        "limit_concurrency": settings.SERVER_LIMIT_CONCURRENCY or None,
        "backlog": settings.SERVER_BACKLOG,
        "timeout_graceful_shutdown": settings.SERVER_GRACEFUL_SHUTDOWN_SECONDS,
        # X-Forwarded-For is read by core.auth.client_ip alone, and only from TRUSTED_PROXIES.
        # uvicorn's own handling trusts 127.0.0.1 by default, so any client on this host could
        # pick its address per request and dodge the login lockout.
        "proxy_headers": False,
        "server_header": False,
        # Django's LOGGING (JSON lines) already formats uvicorn's loggers.
        "log_config": None,
    }
    return options | {name: value for name, value in overrides.items() if value is not None}
