"""Log plumbing: secret and image-data redaction, and the per-request id.

structlog is configured in settings.py; every line, PhotoChanger's own events and records
from Django, uvicorn or httpx alike, passes `redact` just before it is rendered.
"""

import copy
import logging.handlers
import re
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction

REDACTED = "[redacted]"
# Keys whose values are secrets wherever they appear (headers, form fields, settings).
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|api[-_]?key|token|authori[sz]ation|cookie|credential|signing",
    re.IGNORECASE,
)
_SECRET_IN_TEXT = [
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)([?&](?:key|api_key|token|password)=)[^&\s\"']+"), r"\1" + REDACTED),
    (
        re.compile(
            r"(?i)\b(password|api[-_]?key|x-goog-api-key)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
        ),
        r"\1\2" + REDACTED,
    ),
]
# Inline image payloads (data: URLs, Gemini inline_data) are long unbroken base64 runs.
_BASE64_RUN = re.compile(r"(?:data:[\w/+.-]+;base64,)?[A-Za-z0-9+/_-]{200,}={0,2}")


def redact(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict:
    """structlog processor: hide secrets and image bytes anywhere in the event."""
    return {key: _redact_item(key, value) for key, value in event_dict.items()}


def _redact_item(key: Any, value: Any) -> Any:
    if isinstance(key, str) and _SECRET_KEY.search(key) and value not in (None, ""):
        return REDACTED
    return _redact_value(value)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if isinstance(value, dict):
        return {key: _redact_item(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(item) for item in value]
    return value


def _redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_IN_TEXT:
        text = pattern.sub(replacement, text)
    return _BASE64_RUN.sub(lambda match: f"[base64 {len(match[0])} chars]", text)


_REQUEST_ID = re.compile(r"[\w.-]{1,64}")


class RequestIdMiddleware:
    """Binds a request id to every log line of a request and returns it as X-Request-Id.

    An id sent by a proxy in X-Request-Id is kept when it is short and plain, so one id
    follows the request through the proxy's logs and ours.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        request_id = self._bind(request)
        return self._tag(self.get_response(request), request_id)

    async def _acall(self, request):
        request_id = self._bind(request)
        return self._tag(await self.get_response(request), request_id)

    @staticmethod
    def _bind(request) -> str:
        sent = request.headers.get("X-Request-Id", "")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        request.request_id = request_id
        # Cleared here rather than after the response: uvicorn writes its access line once the
        # response has left the middleware, and it should carry the id too.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        return request_id

    @staticmethod
    def _tag(response, request_id: str):
        response["X-Request-Id"] = request_id
        return response


def shared_processors() -> list:
    """Processors for structlog events and for records from the stdlib logging alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The logging.Formatter that renders every record (LOGGING "()" factory)."""
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )


def syslog_handler(*, address: str, facility: str = "user") -> logging.handlers.SysLogHandler:
    """A SysLogHandler for `address`: "host:port" over UDP, or a socket path such as /dev/log.

    A LOGGING "()" factory; each line is tagged `photochanger:` for the syslog daemon.
    """
    if address.startswith("/"):
        target: str | tuple[str, int] = address
    else:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"LOG_SYSLOG_ADDRESS {address!r} is neither host:port nor a path")
        target = (host.strip("[]"), int(port))
    handler = logging.handlers.SysLogHandler(address=target, facility=facility)
    handler.ident = "photochanger: "
    return handler


def with_syslog(config: dict, *, address: str, facility: str = "user") -> dict:
    """`config` (a LOGGING dict) that also sends every line, as JSON, to syslog at `address`."""
    config = copy.deepcopy(config)
    config["formatters"]["syslog"] = {"()": f"{__name__}.formatter", "json": True}
    config["handlers"]["syslog"] = {
        "()": f"{__name__}.syslog_handler",
        "address": address,
        "facility": facility,
        "formatter": "syslog",
    }
    for logger in [config["root"], *config.get("loggers", {}).values()]:
        if "handlers" in logger:
            logger["handlers"] = [*logger["handlers"], "syslog"]
    return config
