"""The offline provider: Pillow filters and frame compositing, no key and no network.

It lets a fresh install process photos end to end and gives demos and tests a real provider.
"""

import asyncio
import io
from typing import Any

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageColor, ImageDraw, ImageEnhance, ImageOps

from providers.base import (
    BAD_RESPONSE,
    Operation,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
)

FILTERS = ("sepia", "mono", "warm", "cool", "vivid")
FRAME_ROLES = ("overlay", "frame")


class LocalDriver(ProviderDriver):
    name = "local"
    label = _("Локальный (офлайн)")
    operations = {
        "filter": Operation(_("Цветовой фильтр"), _("Сепия, ч/б, тёплый, холодный, яркий.")),
        "frame": Operation(
            _("Рамка"), _("Накладывает шаблон-рамку (роль «наложение») или рисует кант.")
        ),
        "passthrough": Operation(_("Без изменений"), _("Возвращает фото как есть.")),
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
                "description": "Кант рисуется, когда у слота нет шаблона с ролью «наложение».",
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
        data = await asyncio.to_thread(_render, job)
        return ProviderResult(data=data, mime=_output_mime(job))


def _output_mime(job: ProviderJob) -> str:
    return "image/png" if job.photo.mime == "image/png" else "image/jpeg"


def _render(job: ProviderJob) -> bytes:
    with Image.open(io.BytesIO(job.photo.data)) as source:
        photo = source.convert("RGB")
    if job.operation == "filter":
        edited = apply_filter(photo, job.settings.get("filter", "sepia"))
        edited = Image.blend(photo, edited, float(job.settings.get("intensity", 1)))
    elif job.operation == "frame":
        edited = _frame(photo, job)
    else:
        raise ProviderError(BAD_RESPONSE, f"local provider has no operation {job.operation!r}")
    out = io.BytesIO()
    if _output_mime(job) == "image/png":
        edited.save(out, "PNG", compress_level=1)
    else:
        edited.save(out, "JPEG", quality=92)
    return out.getvalue()


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
    template = next((t for t in job.templates if t.role in FRAME_ROLES), None)
    if template is not None:
        with Image.open(io.BytesIO(template.data)) as source:
            overlay = source.convert("RGBA").resize(photo.size, Image.Resampling.LANCZOS)
        framed = photo.convert("RGBA")
        framed.alpha_composite(overlay)
        return framed.convert("RGB")
    return _draw_border(photo, job.settings)


def _draw_border(photo: Image.Image, settings: dict[str, Any]) -> Image.Image:
    width = max(1, int(min(photo.size) * settings.get("border_percent", 4) / 100))
    color = ImageColor.getrgb(settings.get("border_color", "#0f866c"))
    framed = photo.copy()
    ImageDraw.Draw(framed).rectangle(
        [(0, 0), (photo.width - 1, photo.height - 1)], outline=color, width=width
    )
    return framed
