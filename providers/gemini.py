"""Google Gemini image editing: photo, template images and a prompt in, one edited image out.

REST: `POST {GEMINI_BASE_URL}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
Answers are camelCase (`inlineData.mimeType`); snake_case is accepted too, and the image is
the first part that holds image data, since a text part often comes first. A 200 without a
usable image is a failure: the model refused (`finishReason`, `promptFeedback.blockReason`)
or gave up (`NO_IMAGE`, `IMAGE_OTHER`, which often succeed when asked again).

Image models, as Google documented them when checked (2026-11):

| id                             | label           | aspectRatio               | imageSize      |
|--------------------------------|-----------------|---------------------------|----------------|
| gemini-2.5-flash-image         | Nano Banana, GA | 1:1 2:3 3:2 3:4 4:3 4:5   | not accepted:  |
|                                |                 | 5:4 9:16 16:9 21:9        | 1K (~1024 px)  |
| gemini-3-pro-image-preview     | Nano Banana Pro | the same ten              | 1K 2K 4K       |
| gemini-3.1-flash-image-preview | Nano Banana 2   | the ten, plus 4:1 and 8:1 | 1K 2K 4K       |

The Gemini 3 ids carry `-preview` (public preview; 3.1 Flash Image released 2026-02-26). 3.1
Flash also takes imageSize "512" (0.5K), useless for prints and not offered. Without
aspectRatio the model copies the input image's aspect or answers square, hence the request
always names the print's (nearest supported) ratio. Sources:
  https://ai.google.dev/gemini-api/docs/image-generation (ratios and 1K sizes per model; "Gemini
    3 image models generate 1K images by default but can also output 2K, 4K, and 512")
  https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-1-flash-image
  https://docs.cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding
    (Gemini 3 Pro Image preview: the ten ratios)
  https://github.com/googleapis/js-genai/issues/1461 (3.1 Flash Image on Vertex answering ~1K
    whatever imageSize says: the renderer upscales whatever arrives)
An unknown id (a model newer than this table) gets the capabilities of the known id it extends
(`gemini-3-pro-image` → the preview's), else the ten common ratios and no imageSize.

Safety: `safetySettings` with one threshold for the four adjustable categories
(HARM_CATEGORY_HARASSMENT, _HATE_SPEECH, _SEXUALLY_EXPLICIT, _DANGEROUS_CONTENT; CIVIC_INTEGRITY
is deprecated): strict = BLOCK_LOW_AND_ABOVE, standard = BLOCK_MEDIUM_AND_ABOVE, relaxed =
BLOCK_ONLY_HIGH. "standard" is sent explicitly rather than left to Google's default, which has
changed between model generations; BLOCK_NONE/OFF are not offered for a public booth. Google's
built-in image filters (IMAGE_SAFETY, PROHIBITED_CONTENT) apply whatever is sent. Sources:
  https://ai.google.dev/api/rest/v1/SafetySetting, https://ai.google.dev/gemini-api/docs/safety-settings
"""

import asyncio
import base64
import binascii
import io
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image

from providers import http
from providers.base import (
    BAD_RESPONSE,
    PROVIDER_5XX,
    PROVIDER_UNCONFIGURED,
    QUOTA,
    SAFETY_BLOCKED,
    ImageInput,
    Operation,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
    checked_result,
)

log = structlog.get_logger(__name__)

# Gemini refuses inline request bodies over 20 MB.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024
PING_SECONDS = 5
SAFETY_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
    }
)
RETRYABLE_REASONS = frozenset({"NO_IMAGE", "IMAGE_OTHER"})
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
_RATIO = re.compile(r"^([1-9]\d{0,5}):([1-9]\d{0,5})$")
MODEL_PATTERN = "^[a-z0-9][a-z0-9.-]{0,99}$"


@dataclass(frozen=True)
class ImageModel:
    label: str
    aspect_ratios: tuple[str, ...]
    image_sizes: tuple[str, ...] = ()


COMMON_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")
IMAGE_MODELS = {
    "gemini-2.5-flash-image": ImageModel("Gemini 2.5 Flash Image", COMMON_RATIOS),
    "gemini-3-pro-image-preview": ImageModel(
        "Gemini 3 Pro Image (preview)", COMMON_RATIOS, IMAGE_SIZES
    ),
    "gemini-3.1-flash-image-preview": ImageModel(
        "Gemini 3.1 Flash Image (preview)", (*COMMON_RATIOS, "4:1", "8:1"), IMAGE_SIZES
    ),
}
UNKNOWN_MODEL = ImageModel("", COMMON_RATIOS)
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
SAFETY_THRESHOLDS = {
    "strict": "BLOCK_LOW_AND_ABOVE",
    "standard": "BLOCK_MEDIUM_AND_ABOVE",
    "relaxed": "BLOCK_ONLY_HIGH",
}


class _Retryable(ProviderError):
    """A failure that often goes away when the same request is sent again."""


class GeminiDriver(ProviderDriver):
    name = "gemini"
    label = "Gemini"
    operations = {
        "image_edit": Operation(
            _("Редактирование по промпту"),
            _("Gemini меняет фото по текстовому описанию; шаблоны — дополнительные образцы."),
        ),
    }
    prompt_setting = "prompt"
    default_concurrency = 10
    # Presentation keys (title, description, default, x-enum-labels, x-pattern-hint) are for
    # the slot page; jsonschema ignores them (CONTRIBUTING.md, "The settings schema").
    settings_schema = {
        "type": "object",
        "properties": {
            "prompt": {
                "type": "string",
                "minLength": 1,
                "maxLength": 8000,
                "title": "Промпт",
                "description": "Что изменить на фото. Фото гостя — изображение 1, шаблоны идут "
                "следом по порядку.",
            },
            "model": {
                "anyOf": [
                    {"enum": list(IMAGE_MODELS)},
                    {"type": "string", "pattern": MODEL_PATTERN},
                ],
                "title": "Модель",
                "description": "Одна из известных моделей или идентификатор более новой; "
                "пусто — модель по умолчанию (GEMINI_MODEL).",
                "x-enum-labels": {name: model.label for name, model in IMAGE_MODELS.items()},
                "x-pattern-hint": "строчные латинские буквы, цифры, точки и дефисы",
            },
            "image_size": {
                "enum": list(IMAGE_SIZES),
                "title": "Разрешение ответа",
                "description": "Передаётся только моделям, которые его поддерживают (Gemini 3).",
                "x-enum-labels": {
                    "1K": "1K (~1024 px)",
                    "2K": "2K (~2048 px)",
                    "4K": "4K (~4096 px)",
                },
            },
            "safety": {
                "enum": list(SAFETY_THRESHOLDS),
                "default": "standard",
                "title": "Фильтр безопасности",
                "x-enum-labels": {
                    "strict": "Строгий (блокировать даже слабые признаки)",
                    "standard": "Стандартный",
                    "relaxed": "Мягкий (блокировать только явное)",
                },
            },
            "max_side": {
                "type": "integer",
                "minimum": 256,
                "maximum": 4096,
                "title": "Длинная сторона фото для Gemini, px",
                "description": "Фото уменьшается до этого размера перед отправкой; пусто — "
                "значение сервера (GEMINI_MAX_SIDE).",
            },
        },
        "required": ["prompt"],
        "additionalProperties": False,
    }

    def input_side(self, slot_settings: Mapping[str, Any]) -> int:
        return slot_settings.get("max_side", settings.GEMINI_MAX_SIDE)

    async def process(self, job: ProviderJob) -> ProviderResult:
        if not job.api_key:
            raise ProviderError(PROVIDER_UNCONFIGURED, "Gemini API key is not set")
        if not job.settings.get("prompt"):
            raise ProviderError(PROVIDER_UNCONFIGURED, "the slot has no Gemini prompt")
        body = await asyncio.to_thread(encode_request, job, max_side=self.input_side(job.settings))
        started = time.monotonic()
        try:
            return await self._generate(job, body)
        except _Retryable as error:
            typical = max(time.monotonic() - started, settings.GEMINI_RETRY_MIN_SECONDS)
            if job.remaining_seconds() < typical:
                raise
            log.info("gemini.retry", job_id=job.job_id, detail=error.detail)
            return await self._generate(job, body)

    async def _generate(self, job: ProviderJob, body: bytes) -> ProviderResult:
        reply = await http.send(
            "POST",
            f"{_model_url(job.settings)}:generateContent",
            content=body,
            headers={"x-goog-api-key": job.api_key, "Content-Type": "application/json"},
            timeouts=http.timeout_within(job.remaining_seconds()),
            max_bytes=MAX_ANSWER_BYTES,
        )
        if reply.status_code != 200:
            raise error_from(reply, model=model_id(job.settings))
        return await asyncio.to_thread(decode_answer, reply.body)

    async def ping(self, *, api_key: str) -> bool:
        if not api_key:
            return False
        try:
            reply = await http.send(
                "GET",
                _model_url({}),
                headers={"x-goog-api-key": api_key},
                timeouts=http.timeout_within(PING_SECONDS),
                max_bytes=1024 * 1024,
            )
        except ProviderError:
            return False
        return reply.status_code == 200


def model_id(slot_settings: dict[str, Any]) -> str:
    return slot_settings.get("model") or settings.GEMINI_MODEL


def _model_url(slot_settings: dict[str, Any]) -> str:
    return f"{settings.GEMINI_BASE_URL}/v1beta/models/{model_id(slot_settings)}"


def image_model(model: str) -> ImageModel:
    """What `model` accepts: its own entry, that of the known id it extends, or the common set."""
    if model in IMAGE_MODELS:
        return IMAGE_MODELS[model]
    for known, capabilities in IMAGE_MODELS.items():
        if model.startswith(known.removesuffix("-preview")):
            return capabilities
    return UNKNOWN_MODEL


def nearest_ratio(wanted: str, supported: tuple[str, ...]) -> str | None:
    """The supported "W:H" closest to `wanted` (compared as log ratios), None if unparsable."""
    match = _RATIO.match(wanted.strip())
    if match is None:
        return None
    target = math.log(int(match.group(1)) / int(match.group(2)))
    return min(supported, key=lambda ratio: abs(math.log(_ratio_value(ratio)) - target))


def _ratio_value(ratio: str) -> float:
    width, height = ratio.split(":")
    return int(width) / int(height)


def generation_config(job: ProviderJob) -> dict[str, Any]:
    """responseModalities, plus the answer's shape where the model can be asked for it."""
    capabilities = image_model(model_id(job.settings))
    image_config = {}
    ratio = nearest_ratio(job.aspect_ratio, capabilities.aspect_ratios)
    if ratio:
        image_config["aspectRatio"] = ratio
    size = job.settings.get("image_size")
    if size in capabilities.image_sizes:
        image_config["imageSize"] = size
    config: dict[str, Any] = {"responseModalities": ["IMAGE"]}
    if image_config:
        config["imageConfig"] = image_config
    return config


def safety_settings(slot_settings: dict[str, Any]) -> list[dict[str, str]]:
    threshold = SAFETY_THRESHOLDS[slot_settings.get("safety") or "standard"]
    return [{"category": category, "threshold": threshold} for category in SAFETY_CATEGORIES]


def encode_request(job: ProviderJob, *, max_side: int) -> bytes:
    """The generateContent body: photo, then templates, then the prompt. CPU-bound."""
    parts: list[dict[str, Any]] = [
        _inline_part(image, max_side) for image in (job.photo, *job.templates)
    ]
    parts.append({"text": job.settings["prompt"]})
    body = json.dumps(
        {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": generation_config(job),
            "safetySettings": safety_settings(job.settings),
        }
    ).encode()
    if len(body) > MAX_REQUEST_BYTES:
        raise ProviderError(
            PROVIDER_UNCONFIGURED,
            "request is over Gemini's 20 MB limit: lower max_side or use fewer templates",
        )
    return body


def _inline_part(image: ImageInput, max_side: int) -> dict[str, Any]:
    data, mime = downscale(image.data, image.mime, max_side, decoded=image.decoded.take())
    return {"inline_data": {"mime_type": mime, "data": base64.b64encode(data).decode("ascii")}}


def downscale(
    data: bytes, mime: str, max_side: int, *, decoded: Image.Image | None = None
) -> tuple[bytes, str]:
    """Fit the image into max_side (JPEG output, PNG when it has transparency). CPU-bound.

    `decoded` is the upload's own reduced-scale decode of `data`, used when it is large enough.
    """
    with Image.open(io.BytesIO(data)) as image:
        if max(image.size) <= max_side:
            return data, mime
        scale = max_side / max(image.size)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        source: Image.Image = image
        if decoded is not None and decoded.width >= target[0] and decoded.height >= target[1]:
            source = decoded
        else:
            # JPEG decodes straight at 1/2, 1/4 or 1/8 size: a fraction of a full decode's cost.
            image.draft("RGB", target)
        transparent = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
        mode = "RGBA" if transparent else "RGB"
        if source.mode != mode:
            source = source.convert(mode)
        small = source.resize(target, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if transparent:
        small.save(out, "PNG", compress_level=1)
        return out.getvalue(), "image/png"
    small.save(out, "JPEG", quality=90)
    return out.getvalue(), "image/jpeg"


def decode_answer(body: bytes) -> ProviderResult:
    """The image in a 200 answer, or the ProviderError its absence means. CPU-bound."""
    try:
        answer = json.loads(body)
        candidates = answer.get("candidates") or []
        if not candidates:
            raise _no_candidates_error(answer)
        data = _first_image_data(candidates)
        if data is None:
            raise _no_image_error(candidates[0])
    except (ValueError, AttributeError, TypeError):
        raise ProviderError(BAD_RESPONSE, "Gemini answer is not the JSON it documents") from None
    try:
        image = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(BAD_RESPONSE, "Gemini image data is not base64") from None
    return checked_result(image)


def _first_image_data(candidates: list[dict[str, Any]]) -> str | None:
    for candidate in candidates:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data") or {}
            mime = inline.get("mimeType") or inline.get("mime_type") or "image/"
            if inline.get("data") and mime.startswith("image/"):
                return inline["data"]
    return None


def _no_candidates_error(answer: dict[str, Any]) -> ProviderError:
    reason = (answer.get("promptFeedback") or {}).get("blockReason")
    if reason:
        return ProviderError(SAFETY_BLOCKED, f"Gemini blocked the prompt ({reason})")
    return ProviderError(BAD_RESPONSE, "Gemini answered without candidates")


def _no_image_error(candidate: dict[str, Any]) -> ProviderError:
    reason = candidate.get("finishReason") or "unset"
    texts = [p.get("text", "") for p in (candidate.get("content") or {}).get("parts") or []]
    said = " ".join(t for t in texts if t)[:200]
    detail = f"Gemini answered without an image (finishReason {reason})" + (
        f": {said}" if said else ""
    )
    log.warning("gemini.no_image", finish_reason=reason)
    if reason in SAFETY_REASONS:
        return ProviderError(SAFETY_BLOCKED, detail)
    if reason in RETRYABLE_REASONS:
        return _Retryable(BAD_RESPONSE, detail)
    return ProviderError(BAD_RESPONSE, detail)


def error_from(reply: http.Reply, *, model: str = "") -> ProviderError:
    """Map a non-200 answer (`{"error": {code, status, message, details}}`, or HTML) to a code.

    A 404 is a model id Google does not serve (retired, mistyped): a configuration mistake that
    asking again cannot fix.
    """
    error = _error_object(reply.body)
    status, message = str(error.get("status", "")), str(error.get("message", ""))[:200]
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    log.warning("gemini.error", http_status=reply.status_code, status=status, message=message)
    detail = f"Gemini HTTP {reply.status_code} {status}: {message}".rstrip(": ")
    code = reply.status_code
    key_invalid = any(d.get("reason") == "API_KEY_INVALID" for d in details)
    if code in (401, 403) or (code == 400 and key_invalid):
        return ProviderError(PROVIDER_UNCONFIGURED, detail)
    if code == 404:
        return ProviderError(
            PROVIDER_UNCONFIGURED, f"model {model or '?'} is not available ({detail})"
        )
    if code == 429:
        return ProviderError(QUOTA, detail, retry_after=_retry_delay(details))
    if code == 503:
        return _Retryable(PROVIDER_5XX, detail)
    if code >= 500:
        return ProviderError(PROVIDER_5XX, detail)
    return ProviderError(BAD_RESPONSE, detail)


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    # The streaming endpoint and some proxies wrap the error in a one-element list.
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_delay(details: list[dict[str, Any]]) -> int | None:
    """Seconds from a google.rpc.RetryInfo detail ("26s", "0.5s"); Gemini sends no Retry-After."""
    for detail in details:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return max(1, math.ceil(float(match.group(1))))
    return None
