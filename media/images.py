"""Image sniffing, safe decoding and re-encoding.

Nothing a client or a provider sent is stored or served as is: bytes are sniffed by content,
fully decoded under a pixel cap (Pillow's verify() lets truncated files and polyglots through),
and re-encoded without metadata. All functions here are CPU-bound: call them through
`run_image_work` so the event loop never runs them.
"""

import asyncio
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from PIL import Image, ImageOps

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
MAX_PIXELS = 50_000_000
PREVIEW_SIDE = 512
# Pillow only warns between MAX_IMAGE_PIXELS and twice that: make the warning an error.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


class UnsupportedImage(Exception):
    """The bytes are not JPEG, PNG or WEBP."""


class InvalidImage(Exception):
    """The bytes claim a supported format but do not decode to a sane image."""


@dataclass(frozen=True)
class EncodedImage:
    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class RenderedResult:
    payload: EncodedImage
    preview: EncodedImage


def sniff_mime(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def decode(data: bytes) -> tuple[Image.Image, str]:
    """Fully decode `data`; raises UnsupportedImage or InvalidImage."""
    mime = sniff_mime(data)
    if mime is None:
        raise UnsupportedImage("only JPEG, PNG and WEBP images are accepted")
    try:
        image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[mime]])
        if image.width * image.height > MAX_PIXELS:
            raise InvalidImage(f"image has more than {MAX_PIXELS} pixels")
        image.load()
    except InvalidImage:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise InvalidImage(f"image does not decode: {error}") from error
    if image.width < 1 or image.height < 1:
        raise InvalidImage("image is empty")
    return image, mime


def encode(image: Image.Image, mime: str) -> EncodedImage:
    """Encode without EXIF, GPS or text metadata (the ICC colour profile is kept)."""
    if mime == JPEG and image.mode != "RGB":
        image = _flatten(image)
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    out = io.BytesIO()
    options = {"icc_profile": image.info.get("icc_profile")}
    if mime == JPEG:
        options.update(quality=90)
    elif mime == PNG:
        options.update(compress_level=3)
    else:
        options.update(quality=88, method=3)
    image.save(out, _PIL_FORMATS[mime], **options)
    return EncodedImage(out.getvalue(), mime, image.width, image.height)


def normalise_upload(data: bytes) -> EncodedImage:
    """Decode an upload, turn it upright by its EXIF orientation, re-encode it clean."""
    image, mime = decode(data)
    return encode(ImageOps.exif_transpose(image), mime)


def render_result(data: bytes, output_mime: str) -> RenderedResult:
    """Validate a provider's answer and produce the served payload and its WEBP preview."""
    image, _ = decode(data)
    payload = encode(image, output_mime)
    preview_image = image.copy()
    preview_image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return RenderedResult(payload=payload, preview=encode(preview_image, WEBP))


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        background.info = image.info
        return background
    return image.convert("RGB")


_executor: ThreadPoolExecutor | None = None


async def run_image_work(function, *args):
    """Run CPU-bound image work on a small dedicated pool.

    The pool is as wide as IMAGE_WORKERS, so at most that many images are decoded at once:
    that bounds both CPU contention and the memory spent on pixels under load.
    """
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.IMAGE_WORKERS, thread_name_prefix="images")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, partial(function, *args))
