"""Loopback fakes of the Gemini and Turbotext APIs, for contract and end-to-end tests.

Each fake is a real HTTP/1.1 server on 127.0.0.1 running in a background thread, so it can
serve a driver under test and a uvicorn process alike. It answers in the shapes the public
documentation gives, records every request in `received`, and is scripted per test with
`Answer`s, including the ones a client must survive: a hang, a hang after the headers, a reset.

    with FakeGemini() as gemini:            # settings.GEMINI_BASE_URL = gemini.url
        gemini.answers.append(gemini_no_image_answer("NO_IMAGE"))
"""

import base64
import io
import itertools
import json
import socket
import struct
import threading
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from PIL import Image


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    # "respond"; "hang": nothing is ever sent; "hang_after_headers": the status line and headers
    # are sent, the body never; "reset": the connection is aborted with a TCP RST.
    behaviour: str = "respond"
    # Seconds before responding: a slow provider that does answer in the end.
    delay: float = 0


HANG = Answer(behaviour="hang")
HANG_AFTER_HEADERS = Answer(behaviour="hang_after_headers", body=b'{"candidates": []}')
RESET = Answer(behaviour="reset")
MALFORMED_JSON = Answer(body=b'{"candidates": [{"content": {"parts": [')


def json_answer(payload: Any, *, status: int = 200) -> Answer:
    return Answer(status=status, body=json.dumps(payload, ensure_ascii=False).encode())


def html_answer(status: int) -> Answer:
    page = f"<html><head><title>Error {status}</title></head><body>Error {status}</body></html>"
    return Answer(status=status, body=page.encode(), content_type="text/html; charset=utf-8")


def png_bytes(size: tuple[int, int] = (1024, 1024), color=(30, 140, 110)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (640, 480), color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode()).items()}


class FakeServer:
    """A threaded loopback HTTP server that asks `answer_for()` how to answer each request."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        # A short poll interval keeps stop() quick; serve_forever only checks it between polls.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes every hanging answer
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def answer_for(self, request: Received) -> Answer:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY every keep-alive answer
    # waits for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        fake: FakeServer = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        request = Received(
            self.command,
            self.path,
            {name.lower(): value for name, value in self.headers.items()},
            self.rfile.read(length),
        )
        fake.received.append(request)
        try:
            self._perform(fake.answer_for(request), fake._stopping)
        except OSError:
            self.close_connection = True  # the client went away first

    do_POST = do_GET

    def _perform(self, answer: Answer, stopping: threading.Event) -> None:
        if answer.behaviour == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if answer.behaviour == "hang":
            stopping.wait()
            self.close_connection = True
            return
        if answer.delay and stopping.wait(answer.delay):
            self.close_connection = True  # the fake stopped before the delay was over
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if answer.behaviour == "hang_after_headers":
            stopping.wait()
            self.close_connection = True
            return
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `received` instead."""


# --- Gemini -------------------------------------------------------------------------------------


def gemini_image_answer(
    image: bytes, *, spelling: str = "camel", text_first: bool = True, mime: str = "image/png"
) -> Answer:
    """A 200 with the image inline; REST answers camelCase, some proxies snake_case."""
    inline, mime_key = (
        ("inlineData", "mimeType") if spelling == "camel" else ("inline_data", "mime_type")
    )
    parts: list[dict[str, Any]] = [
        {inline: {mime_key: mime, "data": base64.b64encode(image).decode()}}
    ]
    if text_first:
        parts.insert(0, {"text": "Here is the photo with the new background."})
    return json_answer(
        {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 1290, "candidatesTokenCount": 1290},
            "modelVersion": "gemini-2.5-flash-image",
        }
    )


def gemini_no_image_answer(finish_reason: str, *, text: str = "") -> Answer:
    """A 200 without an image; NO_IMAGE and the safety reasons usually come without content."""
    candidate: dict[str, Any] = {"finishReason": finish_reason, "index": 0}
    if text:
        candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    return json_answer({"candidates": [candidate], "modelVersion": "gemini-2.5-flash-image"})


def gemini_blocked_prompt_answer(block_reason: str = "PROHIBITED_CONTENT") -> Answer:
    """A blocked prompt: `promptFeedback.blockReason` and no `candidates` key at all."""
    return json_answer(
        {
            "promptFeedback": {"blockReason": block_reason},
            "usageMetadata": {"promptTokenCount": 1290, "totalTokenCount": 1290},
            "modelVersion": "gemini-2.5-flash-image",
        }
    )


def gemini_error_answer(
    status: int, rpc_status: str, message: str, *, reason: str = "", retry_delay: str = ""
) -> Answer:
    """Google's error envelope; an invalid key is a 400 whose ErrorInfo says API_KEY_INVALID."""
    details: list[dict[str, Any]] = []
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        )
    if retry_delay:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaMetric": "generate_content_free_tier_requests"}],
            }
        )
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return json_answer({"error": error}, status=status)


def gemini_quota_answer(retry_delay: str = "26s") -> Answer:
    return gemini_error_answer(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        retry_delay=retry_delay,
    )


_TEN_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
# What Google documents each image model to accept in generationConfig.imageConfig, kept apart
# from the driver's own table so tests hold the driver's requests against the documentation.
GEMINI_DOCUMENTED_MODELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gemini-2.5-flash-image": (_TEN_RATIOS, ()),
    "gemini-3-pro-image-preview": (_TEN_RATIOS, ("1K", "2K", "4K")),
    "gemini-3.1-flash-image-preview": ((*_TEN_RATIOS, "4:1", "8:1"), ("512", "1K", "2K", "4K")),
}
GEMINI_HARM_CATEGORIES = frozenset(
    {
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    }
)
GEMINI_BLOCK_THRESHOLDS = frozenset(
    {"BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"}
)


class FakeGemini(FakeServer):
    """generateContent and the model resource. Answers `answers` in order, then `default`.

    Like the real API it answers 404 for a retired model and 400 INVALID_ARGUMENT for an
    imageConfig or safetySettings the model does not accept, before any scripted answer.
    Models it does not know (newer ones) take any imageConfig.
    """

    api_key = "fake-gemini-key"

    def __init__(self) -> None:
        super().__init__()
        self.answers: deque[Answer] = deque()
        self.default = gemini_image_answer(png_bytes())
        self.retired_models = {
            "gemini-2.0-flash-preview-image-generation",
            "gemini-2.5-flash-image-preview",
        }

    @property
    def generate_requests(self) -> list[Received]:
        return [r for r in self.received if r.path.endswith(":generateContent")]

    @property
    def generation_configs(self) -> list[dict[str, Any]]:
        return [r.json().get("generationConfig", {}) for r in self.generate_requests]

    def answer_for(self, request: Received) -> Answer:
        key = request.headers.get("x-goog-api-key")
        if not key:
            return gemini_error_answer(
                403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."
            )
        if key != self.api_key:
            return gemini_error_answer(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                reason="API_KEY_INVALID",
            )
        path = urlsplit(request.path).path
        if not path.startswith("/v1beta/models/"):
            return gemini_error_answer(404, "NOT_FOUND", "Requested entity was not found.")
        model = path.removeprefix("/v1beta/models/").split(":")[0]
        if model in self.retired_models:
            return gemini_error_answer(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods.",
            )
        if request.method == "GET":
            return json_answer(
                {
                    "name": path.removeprefix("/v1beta/"),
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
            )
        refusal = _gemini_invalid_argument(model, request.json())
        if refusal:
            return gemini_error_answer(400, "INVALID_ARGUMENT", refusal)
        return self.answers.popleft() if self.answers else self.default


def _gemini_invalid_argument(model: str, body: dict[str, Any]) -> str:
    """What the API would refuse in this request body, or ""."""
    image_config = body.get("generationConfig", {}).get("imageConfig", {})
    unknown = set(image_config) - {"aspectRatio", "imageSize"}
    if unknown:
        return f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r}"
    ratios, sizes = GEMINI_DOCUMENTED_MODELS.get(model, (None, None))
    if ratios is not None and image_config.get("aspectRatio", "1:1") not in ratios:
        return f"Unsupported aspect ratio {image_config['aspectRatio']!r} for {model}"
    if sizes is not None and "imageSize" in image_config and image_config["imageSize"] not in sizes:
        return f"Image size {image_config['imageSize']!r} is not supported by {model}"
    for setting in body.get("safetySettings", []):
        if setting.get("category") not in GEMINI_HARM_CATEGORIES:
            return f"Invalid value at 'safety_settings.category' ({setting.get('category')!r})"
        if setting.get("threshold") not in GEMINI_BLOCK_THRESHOLDS:
            return f"Invalid value at 'safety_settings.threshold' ({setting.get('threshold')!r})"
    return ""


# --- Turbotext ----------------------------------------------------------------------------------


@dataclass
class TurbotextScenario:
    """How the fake Turbotext treats the jobs that follow."""

    # Answers create_queue instead of queueing a job.
    create: Answer | None = None
    # get_result answers {"action": "reconnect"} this many times before the job is done ...
    pending_polls: int = 1
    # ... with "success": false as well, as Turbotext sometimes does.
    pending_says_failure: bool = False
    # Where the done answer puts the result: "uploaded_image" (an absolute download.php link)
    # or "data_image" (data.image[], a path relative to the API host).
    result_in: str = "uploaded_image"
    # Answers the final get_result instead of the done answer.
    done: Answer | None = None
    # Answers the result download instead of the result image.
    download: Answer | None = None


class FakeTurbotext(FakeServer):
    """Turbotext's queue API. Like the real one, it downloads the image links it is given."""

    api_key = "fake-turbotext-key"

    def __init__(self, result_image: bytes | None = None) -> None:
        super().__init__()
        self.scenario = TurbotextScenario()
        self.result_image = result_image or png_bytes((768, 768))
        # (url, HTTP status or None when unreachable) for every input it fetched.
        self.fetches: list[tuple[str, int | None]] = []
        self._jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1001)

    def api_requests(self, do: str) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and r.form().get("do") == do]

    def answer_for(self, request: Received) -> Answer:
        path = urlsplit(request.path).path
        if request.method == "GET":
            return self._file(path)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            # Assumed: the documentation does not show the answer to a bad key.
            return json_answer({"success": False, "error": "Неверный токен"}, status=401)
        method, form = path.removeprefix("/api_ai/"), request.form()
        if form.get("do") == "create_queue":
            return self._create_queue(method, form)
        if form.get("do") == "get_result":
            return self._get_result(method, form.get("queueid", ""))
        return json_answer({"success": False, "error": "Неизвестный запрос"})

    def _create_queue(self, method: str, form: dict[str, str]) -> Answer:
        if self.scenario.create is not None:
            return self.scenario.create
        links = [form[name] for name in ("url", "url_image_target") if name in form]
        fetched = [self._fetch(link) for link in links]
        queue_id = next(self._ids)
        self._jobs[str(queue_id)] = {
            "method": method,
            "polls_left": self.scenario.pending_polls,
            "inputs_ok": bool(links) and all(fetched),
        }
        return json_answer({"success": True, "queueid": queue_id})

    def _fetch(self, link: str) -> bool:
        try:
            with urllib.request.urlopen(link, timeout=5) as response:  # noqa: S310 (loopback)
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        self.fetches.append((link, status))
        return status == 200

    def _get_result(self, method: str, queue_id: str) -> Answer:
        job = self._jobs.get(queue_id)
        if job is None:
            return json_answer({"success": False, "error": "Очередь не найдена"})
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
            pending = {"success": False} if self.scenario.pending_says_failure else {}
            return json_answer({**pending, "action": "reconnect"})
        if self.scenario.done is not None:
            return self.scenario.done
        if not job["inputs_ok"]:
            return json_answer({"success": False, "error": "Не удалось загрузить изображение"})
        return json_answer(self._done(method, queue_id))

    def _done(self, method: str, queue_id: str) -> dict[str, Any]:
        if self.scenario.result_in == "data_image":
            image = f"image/{method}_id{queue_id}_0.png"
            return {"success": True, "error": "", "data": {"image": [image], "width": 768}}
        return {
            "success": True,
            "error": "",
            "data": {"width": 768, "height": 768, "forbidden_content": False},
            "uploaded_image": f"{self.url}/download.php?f={method}_{queue_id}.png",
        }

    def _file(self, path: str) -> Answer:
        if path == "/":
            return Answer(body=b"<html>Turbotext</html>", content_type="text/html")
        if path == "/download.php" or path.startswith("/image/"):
            return self.scenario.download or Answer(
                body=self.result_image, content_type="image/png"
            )
        return Answer(status=404, body=b"Not Found", content_type="text/plain")


class FakeMediaHost(FakeServer):
    """Stands in for PhotoChanger's /public/provider-media/{media_id}: 410 once `expired`."""

    def __init__(self) -> None:
        super().__init__()
        self.expired = False
        self._files: dict[str, tuple[bytes, str]] = {}

    def publish(self, data: bytes, mime: str) -> str:
        media_id = uuid.uuid4().hex
        self._files[media_id] = (data, mime)
        return f"{self.url}/public/provider-media/{media_id}"

    def answer_for(self, request: Received) -> Answer:
        found = self._files.get(urlsplit(request.path).path.rsplit("/", 1)[-1])
        if found is None:
            return json_answer({"status": "error", "failure_reason": "not_found"}, status=404)
        if self.expired:
            return json_answer({"status": "error", "failure_reason": "media_expired"}, status=410)
        return Answer(body=found[0], content_type=found[1])
