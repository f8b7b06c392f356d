"""A throw-away provider: the one module a new provider needs (see CONTRIBUTING.md).

It mirrors the photo left to right and needs an API key, so a test can show that slots,
settings, limits, the staff pages and ingest all pick it up from its class alone.
"""

import asyncio
import io

from PIL import Image, ImageOps

from providers.base import (
    PROVIDER_UNCONFIGURED,
    Operation,
    ProviderDriver,
    ProviderError,
    ProviderJob,
    ProviderResult,
)


class MirrorDriver(ProviderDriver):
    name = "mirror"
    label = "Зеркало"
    operations = {"flip": Operation("Отразить", "Зеркалит фото слева направо.")}
    settings_schema = {
        "type": "object",
        "properties": {"quality": {"type": "integer", "minimum": 50, "maximum": 95}},
        "additionalProperties": False,
    }
    default_concurrency = 3

    async def process(self, job: ProviderJob) -> ProviderResult:
        if not job.api_key:
            raise ProviderError(PROVIDER_UNCONFIGURED, "mirror API key is not set")
        data = await asyncio.to_thread(_flip, job.photo.data, job.settings.get("quality", 90))
        return ProviderResult(data, "image/jpeg")


def _flip(data: bytes, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as photo:
        flipped = ImageOps.mirror(photo.convert("RGB"))
    out = io.BytesIO()
    flipped.save(out, "JPEG", quality=quality)
    return out.getvalue()
