"""Turbotext photo methods: a queued job, polled inside the same coroutine until it is done.

API (turbotext.ru/photo_ai/docs): `POST {TURBOTEXT_BASE_URL}/api_ai/{method}`, form-urlencoded,
`Authorization: Bearer KEY`. `do=create_queue` with the method's fields answers
`{"success":true,"queueid":N}`; `do=get_result&queueid=N` answers `{"action":"reconnect"}`
while pending (sometimes with `"success":false`), then the finished job with the result's link
in `uploaded_image` or `data.image[]` (possibly relative to the API host). Failures come as
HTTP 200 `{"success":false,"error":...}`. Turbotext downloads our inputs itself from the
public links ingest publishes (`needs_public_urls`).
"""

import asyncio
import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import structlog
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from providers import http
from providers.base import (
    BAD_RESPONSE,
    PROVIDER_5XX,
    PROVIDER_UNCONFIGURED,
    QUOTA,
    SAFETY_BLOCKED,
    Operation,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
    TemplateImage,
    checked_result,
)

log = structlog.get_logger(__name__)

MAX_ANSWER_BYTES = 1024 * 1024
MAX_RESULT_BYTES = 50 * 1024 * 1024
PING_SECONDS = 5
# The brief's operation ids and the Turbotext method behind each.
METHODS = {
    "style_transfer": "mix_images",
    "image_edit": "generate_image2image",
    "identity_transfer": "deepfake_photo",
}
# Slot settings each method sends, besides the image links.
METHOD_FIELDS = {
    # Style transfer: the photo (url_image_target) restyled after a template (url).
    "mix_images": ("content",),
    # Prompt-driven image-to-image: replaces objects or the background of the photo (url).
    "generate_image2image": (
        "content",
        "strength",
        "seed",
        "scale",
        "negative_prompt",
        "original_language",
    ),
    # Face swap: the guest's face (url_image_target) put into the template scene (url).
    "deepfake_photo": ("face_restore",),
}


def _used_by(setting: str) -> list[str]:
    """The operations whose Turbotext method sends `setting` (the slot page shows it for those)."""
    return [op for op, method in METHODS.items() if setting in METHOD_FIELDS[method]]


class TurbotextDriver(ProviderDriver):
    name = "turbotext"
    label = "Turbotext"
    operations = {
        "style_transfer": Operation(
            _("Перенос стиля (микс фото)"),
            _("Фото гостя в стиле шаблона с ролью «стиль»."),
            template_roles=("style",),
        ),
        "image_edit": Operation(
            _("Замена объекта или фона"),
            _("Меняет фон или предметы на фото по текстовому описанию."),
        ),
        "identity_transfer": Operation(
            _("Замена лица"),
            _("Лицо гостя переносится в сцену-шаблон с ролью «референс»."),
            template_roles=("reference",),
        ),
    }
    prompt_setting = "content"
    default_concurrency = 5
    needs_public_urls = True
    # Presentation keys (title, description, x-operations, x-step, x-pattern-hint) are for the
    # slot page; jsonschema ignores them (CONTRIBUTING.md, "The settings schema").
    settings_schema = {
        "type": "object",
        "properties": {
            "content": {
                "type": "string",
                "maxLength": 2000,
                "title": "Промпт",
                "description": "Обязателен для замены объекта или фона; для переноса стиля — "
                "по желанию.",
                "x-operations": _used_by("content"),
            },
            "strength": {
                "type": "integer",
                "minimum": 0,
                "maximum": 80,
                "title": "Сила изменения",
                "description": "Чем больше, тем дальше результат от исходного фото.",
                "x-step": 1,
                "x-operations": _used_by("strength"),
            },
            "seed": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10**10,
                "title": "Зерно (seed)",
                "description": "Одно и то же зерно даёт повторяемый результат; пусто — случайное.",
                "x-operations": _used_by("seed"),
            },
            "scale": {
                "type": "number",
                "minimum": 0.1,
                "maximum": 20,
                "title": "Следование промпту",
                "description": "Насколько строго картинка следует описанию.",
                "x-operations": _used_by("scale"),
            },
            "negative_prompt": {
                "type": "string",
                "maxLength": 1000,
                "title": "Чего не должно быть",
                "description": "Что исключить из результата, например «очки, шляпа».",
                "x-operations": _used_by("negative_prompt"),
            },
            "original_language": {
                "type": "string",
                "pattern": "^[a-z]{2}$",
                "title": "Язык промпта",
                "description": "Двухбуквенный код, например ru или en.",
                "x-pattern-hint": "две строчные латинские буквы, например ru",
                "x-operations": _used_by("original_language"),
            },
            "face_restore": {
                "type": "boolean",
                "title": "Восстановить лицо",
                "description": "Дорисовывает черты лица после замены.",
                "x-operations": _used_by("face_restore"),
            },
        },
        "additionalProperties": False,
    }

    async def process(self, job: ProviderJob) -> ProviderResult:
        if not job.api_key:
            raise ProviderError(PROVIDER_UNCONFIGURED, "Turbotext API key is not set")
        queued = await _call(job, {"do": "create_queue", **create_form(job)})
        queue_id = queued.get("queueid") if queued.get("success") is True else None
        if not isinstance(queue_id, int | str) or not str(queue_id).strip():
            raise _refusal(queued, "create_queue")
        result_url = await _wait_for_result(job, str(queue_id))
        return await _download(job, result_url)

    async def ping(self, *, api_key: str) -> bool:
        # Turbotext has no free call that checks a key, so this only proves the host answers.
        if not api_key:
            return False
        try:
            reply = await http.send(
                "GET",
                f"{settings.TURBOTEXT_BASE_URL}/",
                timeouts=http.timeout_within(PING_SECONDS),
                max_bytes=MAX_ANSWER_BYTES,
            )
        except ProviderError:
            return False
        return reply.status_code < 500


def create_form(job: ProviderJob) -> dict[str, str]:
    """The create_queue fields for the slot's method; PROVIDER_UNCONFIGURED when any is missing."""
    method = _method(job)
    if not job.photo.url:
        raise ProviderError(
            PROVIDER_UNCONFIGURED, "photo has no public link: set PUBLIC_MEDIA_BASE_URL"
        )
    form = {
        name: _form_value(job.settings[name])
        for name in METHOD_FIELDS[method]
        if name in job.settings
    }
    if method == "generate_image2image":
        if not job.settings.get("content"):
            raise ProviderError(PROVIDER_UNCONFIGURED, "image_edit needs a prompt")
        return {**form, "url": job.photo.url}
    template = _template(job)
    if method == "mix_images":
        return {**form, "url_image_target": job.photo.url, "url": template.url}
    return {**form, "url": template.url, "url_image_target": job.photo.url}


def _method(job: ProviderJob) -> str:
    if job.operation not in METHODS:
        raise ProviderError(PROVIDER_UNCONFIGURED, f"Turbotext has no operation {job.operation!r}")
    return METHODS[job.operation]


def _form_value(value: Any) -> str:
    # Turbotext documents booleans as the words True/False.
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _template(job: ProviderJob) -> TemplateImage:
    roles = TurbotextDriver.operations[job.operation].template_roles
    template = next((t for t in job.templates if t.url and t.role in roles), None)
    if template is None:
        wanted = " or ".join(roles)
        raise ProviderError(PROVIDER_UNCONFIGURED, f"{job.operation} needs a {wanted} template")
    return template


async def _call(job: ProviderJob, form: dict[str, str]) -> dict[str, Any]:
    reply = await http.send(
        "POST",
        f"{settings.TURBOTEXT_BASE_URL}/api_ai/{_method(job)}",
        data=form,
        headers={"Authorization": f"Bearer {job.api_key}"},
        timeouts=http.timeout_within(job.remaining_seconds()),
        max_bytes=MAX_ANSWER_BYTES,
    )
    if reply.status_code != 200:
        raise _http_error(reply, form["do"])
    try:
        answer = json.loads(reply.body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ProviderError(BAD_RESPONSE, f"Turbotext {form['do']} answer is not a JSON object")
    return answer


async def _wait_for_result(job: ProviderJob, queue_id: str) -> str:
    while True:
        answer = await _call(job, {"do": "get_result", "queueid": queue_id})
        # A pending answer may also carry "success": false, so `action` decides first.
        if answer.get("action") != "reconnect":
            return _result_url(answer)
        await asyncio.sleep(settings.TURBOTEXT_POLL_SECONDS)


def _result_url(answer: dict[str, Any]) -> str:
    if answer.get("success") is not True:
        raise _refusal(answer, "get_result")
    data = answer.get("data")
    if not isinstance(data, dict):
        data = {}
    if data.get("forbidden_content") is True:
        raise ProviderError(SAFETY_BLOCKED, "Turbotext refused the content")
    images = data.get("image") if isinstance(data.get("image"), list) else []
    link = answer.get("uploaded_image") or (images[0] if images else None)
    if not isinstance(link, str) or not link.strip():
        raise ProviderError(BAD_RESPONSE, "Turbotext finished without a result link")
    url = urljoin(f"{settings.TURBOTEXT_BASE_URL}/", link.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        raise ProviderError(BAD_RESPONSE, "Turbotext result link is not http(s)")
    return url


async def _download(job: ProviderJob, url: str) -> ProviderResult:
    # Only from Turbotext's own host or PROVIDER_RESULT_HOSTS: the link comes from an answer.
    reply = await http.fetch_link(
        url,
        trusted_origin=settings.TURBOTEXT_BASE_URL,
        public_hosts=settings.PROVIDER_RESULT_HOSTS,
        timeouts=http.timeout_within(job.remaining_seconds()),
        max_bytes=MAX_RESULT_BYTES,
    )
    if reply.status_code != 200:
        log.warning("turbotext.download_failed", job_id=job.job_id, http_status=reply.status_code)
        code = PROVIDER_5XX if reply.status_code >= 500 else BAD_RESPONSE
        raise ProviderError(code, f"Turbotext result download failed: HTTP {reply.status_code}")
    return await asyncio.to_thread(checked_result, reply.body)


def _http_error(reply: http.Reply, step: str) -> ProviderError:
    log.warning("turbotext.error", step=step, http_status=reply.status_code)
    detail = f"Turbotext {step}: HTTP {reply.status_code}"
    if reply.status_code in (401, 403):
        return ProviderError(PROVIDER_UNCONFIGURED, detail)
    if reply.status_code == 429:
        retry_after = reply.headers.get("Retry-After", "")
        return ProviderError(
            QUOTA, detail, retry_after=int(retry_after) if retry_after.isdigit() else None
        )
    if reply.status_code >= 500:
        return ProviderError(PROVIDER_5XX, detail)
    return ProviderError(BAD_RESPONSE, detail)


def _refusal(answer: dict[str, Any], step: str) -> ProviderError:
    error = str(answer.get("error") or "no error text")[:200]
    log.warning("turbotext.refused", step=step, error=error)
    return ProviderError(BAD_RESPONSE, f"Turbotext {step} failed: {error}")
