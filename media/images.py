"""Image sniffing, safe decoding and re-encoding.

Nothing a client or a provider sent is stored or served as is: bytes are sniffed by content,
fully decoded under a pixel cap (Pillow's verify() lets truncated files and polyglots through),
and re-encoded without metadata. All functions here are CPU-bound: call them through
`core.cpu.run_cpu` so the event loop never runs them.
"""

import io
import re
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
MB = 1024 * 1024
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
    image = _open(data, mime)
    _load(image)
    return image, mime


def _open(data: bytes, mime: str | None) -> Image.Image:
    """Read the header only, refusing more than MAX_PIXELS before any pixel is decoded."""
    if mime is None:
        raise UnsupportedImage("only JPEG, PNG and WEBP images are accepted")
    try:
        image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[mime]])
    except _DECODE_ERRORS as error:
        raise InvalidImage(f"image does not decode: {error}") from error
    if image.width < 1 or image.height < 1:
        raise InvalidImage("image is empty")
    if image.width * image.height > MAX_PIXELS:
        raise InvalidImage(f"image has more than {MAX_PIXELS} pixels")
    return image


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except _DECODE_ERRORS as error:
        raise InvalidImage(f"image does not decode: {error}") from error


_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


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
        # method 1 encodes about twice as fast as 3 for a few per cent more bytes.
        options.update(quality=85, method=1)
    image.save(out, _PIL_FORMATS[mime], **options)
    return EncodedImage(out.getvalue(), mime, image.width, image.height)


def normalise_upload(data: bytes) -> EncodedImage:
    """Validate an upload and make it safe to hand on: upright, without EXIF/GPS metadata.

    An upright JPEG (the usual booth shot) is checked by a DCT-scaled decode, which still reads
    every entropy-coded block (so truncation is caught) at a fraction of the cost, and then
    loses its metadata segments and any trailing bytes losslessly. Anything else is fully
    decoded, turned upright and re-encoded.
    """
    mime = sniff_mime(data)
    if mime == JPEG:
        header = _open(data, mime)
        if _orientation(header) == 1:
            width, height = header.size
            # At least 1 px: Pillow divides by the requested size (a 7 px side would ask for 0).
            header.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            _load(header)
            stripped = strip_jpeg_metadata(data)
            if stripped is not None:
                return EncodedImage(stripped, JPEG, width, height)
    image, mime = decode(data)
    try:
        return encode(ImageOps.exif_transpose(image), mime)
    except _DECODE_ERRORS as error:  # malformed EXIF, or a pixel layout that cannot be re-encoded
        raise InvalidImage(f"image cannot be made safe: {error}") from error


def _orientation(image: Image.Image) -> int:
    try:
        return image.getexif().get(_ORIENTATION, 1)
    except _DECODE_ERRORS as error:
        raise InvalidImage(f"image metadata does not parse: {error}") from error


def render_result(data: bytes, output_mime: str, *, trusted: bool = False) -> RenderedResult:
    """Produce the served payload and its WEBP preview from a provider's answer.

    A remote provider's bytes are fully decoded and re-encoded. `trusted` bytes come from an
    in-process driver that built them from validated input: they are served as they are when
    already in the output format.
    """
    if trusted and sniff_mime(data) == output_mime:
        image = _open(data, output_mime)
        payload = EncodedImage(data, output_mime, image.width, image.height)
        image.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))
        _load(image)
    else:
        image, _ = decode(data)
        payload = encode(image, output_mime)
    preview_image = image.copy()
    preview_image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return RenderedResult(payload=payload, preview=encode(preview_image, WEBP))


# Segments that describe pixels are kept (JFIF, ICC profile, Adobe colour transform); EXIF,
# XMP, IPTC, comments and other application data are dropped.
_KEPT_APP_MARKERS = {0xE0, 0xE2, 0xEE}
_MARKER_AFTER_SCAN = re.compile(rb"\xff([\x01-\xcf\xd8-\xfe])")
_ORIENTATION = 0x0112


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """Copy a (validated) JPEG without metadata segments and without bytes after its end.

    Returns None for a layout it does not follow (stray bytes between segments, which libjpeg
    tolerates): the caller then re-encodes instead.
    """
    out, pos = [data[:2]], 2
    while pos + 1 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image: whatever follows (a polyglot's payload) is dropped
            out.append(data[pos : pos + 2])
            break
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            found = _MARKER_AFTER_SCAN.search(data, end)
            end = found.start() if found else len(data)
        if not (0xE0 <= marker <= 0xEF and marker not in _KEPT_APP_MARKERS) and marker != 0xFE:
            out.append(data[pos:end])
        pos = end
    else:
        return None  # no end-of-image marker
    return b"".join(out)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        background.info = image.info
        return background
    return image.convert("RGB")
