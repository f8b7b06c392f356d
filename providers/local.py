"""The offline provider: background replacement (portrait matting), Pillow filters and frame
compositing; no key and no network.

It lets a fresh install process photos end to end and gives demos and tests a real provider.
"""

import asyncio
import io
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageColor, ImageDraw, ImageEnhance, ImageOps

from core.cpu import run_cpu
from providers import matting
from providers.base import (
    BAD_RESPONSE,
    PROVIDER_UNCONFIGURED,
    Operation,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
)

FILTERS = ("sepia", "mono", "warm", "cool", "vivid")
BACKGROUND_ROLE = "background"
# The studio backdrop a fresh install offers as a slot's background template.
DEFAULT_BACKDROP = Path(__file__).resolve().parent / "assets" / "studio-backdrop.jpg"


class LocalDriver(ProviderDriver):
    name = "local"
    label = _("Локальный (офлайн)")
    operations = {
        "replace_background": Operation(
            _("Замена фона"),
            _("Человек остаётся, фон меняется на шаблон с ролью «фон». Без сети и ключа."),
            template_roles=(BACKGROUND_ROLE,),
        ),
        "filter": Operation(_("Цветовой фильтр"), _("Сепия, ч/б, тёплый, холодный, яркий.")),
        # Event frames and logos are the print's overlay (the slot's output), for every provider.
        "frame": Operation(_("Кант"), _("Рисует цветной кант по краю фото.")),
        "passthrough": Operation(
            _("Без изменений"), _("Возвращает фото как есть."), returns_photo=True
        ),
    }
    requires_api_key = False
    default_concurrency = 4
    trusted_output = True
    # Presentation keys (title, description, default, x-enum-labels, x-operations, x-step) are
    # for the slot page; jsonschema ignores them (CONTRIBUTING.md, "The settings schema").
    settings_schema = {
        "type": "object",
        "properties": {
            "filter": {
                "enum": list(FILTERS),
                "default": "sepia",
                "title": "Фильтр",
                "x-enum-labels": {
                    "sepia": "Сепия",
                    "mono": "Чёрно-белый",
                    "warm": "Тёплый",
                    "cool": "Холодный",
                    "vivid": "Яркий",
                },
                "x-operations": ["filter"],
            },
            "intensity": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 1,
                "title": "Сила фильтра",
                "description": "0 — исходное фото, 1 — фильтр в полную силу.",
                "x-step": 0.05,
                "x-operations": ["filter"],
            },
            "border_color": {
                "type": "string",
                "pattern": "^#[0-9a-fA-F]{6}$",
                "default": "#0f866c",
                "title": "Цвет канта",
                "description": "Цветной кант по краю фото.",
                "x-operations": ["frame"],
            },
            "border_percent": {
                "type": "number",
                "minimum": 0,
                "maximum": 25,
                "default": 4,
                "title": "Ширина канта, %",
                "description": "Доля короткой стороны фото.",
                "x-step": 1,
                "x-operations": ["frame"],
            },
            "harmonise": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": matting.DEFAULT_HARMONISE,
                "title": "Подгонка цвета к фону",
                "description": "0 — цвета человека как на снимке, 1 — в тон нового фона.",
                "x-step": 0.05,
                "x-operations": ["replace_background"],
            },
            # Seconds to wait before answering: simulates a slow provider in demos.
            "delay_seconds": {
                "type": "number",
                "minimum": 0,
                "maximum": 120,
                "default": 0,
                "title": "Задержка ответа, с",
                "description": "Для демонстраций и проверки таймаутов: ответ приходит позже.",
            },
        },
        "additionalProperties": False,
    }

    async def process(self, job: ProviderJob) -> ProviderResult:
        delay = job.settings.get("delay_seconds", 0)
        if delay:
            await asyncio.sleep(delay)
        if job.operation == "passthrough":
            return ProviderResult(data=job.photo.data, mime=job.photo.mime)
        data = await run_cpu(_render, job)
        return ProviderResult(data=data, mime=_output_mime(job))

    async def ping(self, *, api_key: str) -> bool:
        ok, _ = await asyncio.to_thread(matting.matting_model_status)
        return ok

    def problems(self, operation: str) -> list[str]:
        if operation != "replace_background":
            return []
        ok, detail = matting.matting_model_status()
        return [] if ok else [str(_("модель замены фона недоступна: %s") % detail)]


def _output_mime(job: ProviderJob) -> str:
    return "image/png" if job.photo.mime == "image/png" else "image/jpeg"


def _render(job: ProviderJob) -> bytes:
    operation = _OPERATIONS.get(job.operation)
    if operation is None:
        raise ProviderError(BAD_RESPONSE, f"local provider has no operation {job.operation!r}")
    edited = operation(_decode(job.photo.data), job)
    out = io.BytesIO()
    if _output_mime(job) == "image/png":
        edited.save(out, "PNG", compress_level=1)
    else:
        edited.save(out, "JPEG", quality=92)
    return out.getvalue()


def _decode(data: bytes, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
    with Image.open(io.BytesIO(data)) as source:
        if draft_size is not None:
            # A JPEG is decoded at the smallest 1/2, 1/4 or 1/8 scale still covering draft_size.
            source.draft("RGB", draft_size)
        source.load()
        # convert() copies even an RGB image: 96 MB and ~80 ms for a 24 MP photo.
        return source if source.mode == "RGB" else source.convert("RGB")


def _filter(photo: Image.Image, job: ProviderJob) -> Image.Image:
    edited = apply_filter(photo, job.settings.get("filter", "sepia"))
    return Image.blend(photo, edited, float(job.settings.get("intensity", 1)))


def _replace_background(photo: Image.Image, job: ProviderJob) -> Image.Image:
    template = next((t for t in job.templates if t.role == BACKGROUND_ROLE), None)
    if template is None:
        raise ProviderError(
            PROVIDER_UNCONFIGURED, "replace_background needs a background template on the slot"
        )
    background = _decode(template.data, draft_size=photo.size)
    harmonise = float(job.settings.get("harmonise", matting.DEFAULT_HARMONISE))
    return matting.replace_background(photo, background, harmonise=harmonise)


def apply_filter(photo: Image.Image, name: str) -> Image.Image:
    if name == "mono":
        return ImageOps.grayscale(photo).convert("RGB")
    if name == "sepia":
        return ImageOps.colorize(ImageOps.grayscale(photo), "#2e1f0f", "#fff3da", mid="#a8825a")
    if name == "vivid":
        return ImageEnhance.Contrast(ImageEnhance.Color(photo).enhance(1.6)).enhance(1.15)
    r, g, b = photo.split()
    warm = name == "warm"
    r = r.point(lambda v: min(255, int(v * (1.12 if warm else 0.9))))
    b = b.point(lambda v: min(255, int(v * (0.88 if warm else 1.12))))
    return Image.merge("RGB", (r, g, b))


def _frame(photo: Image.Image, job: ProviderJob) -> Image.Image:
    return _draw_border(photo, job.settings)


def _draw_border(photo: Image.Image, settings: dict[str, Any]) -> Image.Image:
    width = max(1, int(min(photo.size) * settings.get("border_percent", 4) / 100))
    color = ImageColor.getrgb(settings.get("border_color", "#0f866c"))
    framed = photo.copy()
    ImageDraw.Draw(framed).rectangle(
        [(0, 0), (photo.width - 1, photo.height - 1)], outline=color, width=width
    )
    return framed


_OPERATIONS = {
    "replace_background": _replace_background,
    "filter": _filter,
    "frame": _frame,
}
