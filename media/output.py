"""The print renderer: a provider's answer made into exactly the image the booth prints.

DSLR Remote Pro prints what it is given, and Gemini answers about 1024 px, often square, so the
slot's output profile sets the print's pixel size and aspect. `render_print` runs, in order:
upright RGB in sRGB → size and aspect (a crop centred on the largest face, or letterbox
padding) → a light unsharp mask after an upscale → the branding overlay → the QR code. The
overlay and the QR code come last so they are never cropped, scaled unevenly or sharpened.

Everything here is pure and CPU-bound (Pillow, OpenCV): call it through
`media.images.run_image_work`. Output images carry no metadata at all: no EXIF, no GPS, and no
ICC profile, since they are converted to sRGB, which is what an untagged image means.
"""

import io
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any

import segno
from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont

from media import faces, images

ASPECTS: dict[str, tuple[int, int] | None] = {
    "as_shot": None,
    "2:3": (2, 3),
    "3:2": (3, 2),
    "1:1": (1, 1),
    "4:5": (4, 5),
    "5:4": (5, 4),
    "3:4": (3, 4),
    "4:3": (4, 3),
    # 5×7″ paper; Gemini has no such ratio and is asked for the nearest (3:4 or 4:3).
    "5:7": (5, 7),
    "7:5": (7, 5),
    "16:9": (16, 9),
    "9:16": (9, 16),
}
FITS = ("crop", "pad")
FORMATS = {"same": None, "jpeg": images.JPEG, "png": images.PNG, "webp": images.WEBP}
MIN_LONG_SIDE, MAX_LONG_SIDE = 256, 8000
PRINT_DPI = 300
# An answer enlarged more than this is visibly soft on paper: it is still served, with a warning.
SOFT_UPSCALE = 2.0
# A crop that trims less than this share of the image cannot move a face out: no detection.
CROP_WORTH_A_FACE = 0.02
OVERLAY_MIN_SIDE = 256
# Ratios further apart than this (in log terms, about 2 %) make a stretched overlay visible.
OVERLAY_RATIO_TOLERANCE = 0.02
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
# A QR code at least 2 cm wide on a 4×6″ print at 300 dpi (236 px on its 1800 px long side)
# scans from arm's length; smaller and larger prints scale it with their long side.
QR_MIN_CM = 2.0
QR_REFERENCE_LONG_SIDE = 6 * PRINT_DPI
QR_QUIET_MODULES = 4  # ISO/IEC 18004: the light margin a reader needs around the symbol
QR_CAPTION_MAX = 40
# An unsharp mask with a 3×3 box blur and an amount of 50 %, as one convolution:
# (1 + 0.5) * pixel - 0.5 * mean(3×3). A quarter of the cost of Pillow's Gaussian UnsharpMask,
# and enough to take the softness off a 1.5-2x enlargement without haloes.
LIGHT_UNSHARP_MASK = ImageFilter.Kernel((3, 3), [-1, -1, -1, -1, 26, -1, -1, -1, -1], scale=18)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ProfileError(ValueError):
    """An output profile that cannot be rendered; the message is for staff (Russian)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


class OverlayRejected(ValueError):
    """An uploaded overlay that cannot brand a print; the message is for staff (Russian)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OutputProfile:
    """How a slot's result becomes its print. Stored as JSON through to_dict()/from_dict().

    `aspect` "as_shot" keeps the aspect of the booth's input photo (the caller passes its size
    as `source_size`), never that of the provider's answer, which Gemini makes square at will.
    `long_side` None keeps the rendered image's own long side. `sharpen` applies only when the
    image had to be enlarged. `format` "same" answers in the input's format.
    """

    aspect: str = "as_shot"
    long_side: int | None = None
    fit: str = "crop"
    pad_color: str = "#ffffff"
    sharpen: bool = False
    format: str = "same"
    quality: int = 90

    def __post_init__(self) -> None:
        _check(self.aspect in ASPECTS, "aspect", f"Неизвестное соотношение сторон {self.aspect!r}")
        _check(
            self.long_side is None
            or (_is_int(self.long_side) and MIN_LONG_SIDE <= self.long_side <= MAX_LONG_SIDE),
            "long_side",
            f"Длинная сторона — от {MIN_LONG_SIDE} до {MAX_LONG_SIDE} px или не задана "
            f"(сохранить размер), а не {self.long_side!r}",
        )
        _check(self.fit in FITS, "fit", "Вписывание — «crop» (обрезать) или «pad» (поля)")
        _check(
            isinstance(self.pad_color, str) and bool(_COLOR.match(self.pad_color)),
            "pad_color",
            "Цвет полей задаётся как #rrggbb",
        )
        _check(isinstance(self.sharpen, bool), "sharpen", "Резкость — true или false")
        _check(self.format in FORMATS, "format", f"Неизвестный формат {self.format!r}")
        _check(
            _is_int(self.quality) and 1 <= self.quality <= 100,
            "quality",
            "Качество — целое число от 1 до 100",
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OutputProfile":
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ProfileError(unknown[0], f"Неизвестные поля профиля: {', '.join(unknown)}.")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ProfileError(field_name, message + ".")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def output_mime(profile: OutputProfile, input_mime: str) -> str:
    """The MIME type the print is served as: the profile's format, or the input's for "same"."""
    chosen = FORMATS[profile.format] or input_mime
    return chosen if chosen in images.EXTENSIONS else images.JPEG


@dataclass(frozen=True)
class PrintPreset:
    label: str
    profile: OutputProfile


def _preset(label: str, aspect: str, long_side: int) -> PrintPreset:
    return PrintPreset(label, OutputProfile(aspect=aspect, long_side=long_side, sharpen=True))


# Paper sizes at 300 dpi. Orientation is part of the preset, chosen by staff: it is fixed by the
# booth's print layout, not by each shot, and one slot must always answer one pixel size.
PRESETS: dict[str, PrintPreset] = {
    "4x6-landscape": _preset("Фото 10×15 (4×6″), альбомная", "3:2", 1800),
    "4x6-portrait": _preset("Фото 10×15 (4×6″), портретная", "2:3", 1800),
    "5x7-landscape": _preset("Фото 13×18 (5×7″), альбомная", "7:5", 2100),
    "5x7-portrait": _preset("Фото 13×18 (5×7″), портретная", "5:7", 2100),
    "6x8-landscape": _preset("Фото 15×20 (6×8″), альбомная", "4:3", 2400),
    "6x8-portrait": _preset("Фото 15×20 (6×8″), портретная", "3:4", 2400),
    "square-6x6": _preset("Квадрат 15×15 (6×6″)", "1:1", 1800),
}


def target_size(
    profile: OutputProfile,
    source_size: tuple[int, int],
    *,
    image_size: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The print's pixel size: the same for every job of a slot with a fixed aspect and long side.

    `source_size` is the booth's input photo (upright); "as_shot" takes its aspect.
    `image_size` is the image being rendered, whose long side is kept when the profile sets
    none (it defaults to `source_size`).
    """
    ratio_wh = ASPECTS[profile.aspect] or source_size
    ratio = ratio_wh[0] / ratio_wh[1]
    long_side = profile.long_side or max(image_size or source_size)
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


@dataclass(frozen=True)
class Rendered:
    image: Image.Image = field(repr=False)
    # Operator-facing notes about the print (logs, job metadata), e.g. a soft upscale.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class QrSpec:
    url: str
    corner: str = "bottom-right"
    caption: str | None = None

    def __post_init__(self) -> None:
        if not self.url or len(self.url) > 1000:
            raise ValueError("QR code needs a URL of at most 1000 characters")
        if self.corner not in CORNERS:
            raise ValueError(f"QR corner must be one of {', '.join(CORNERS)}")
        if self.caption is not None and len(self.caption) > QR_CAPTION_MAX:
            raise ValueError(f"QR caption is limited to {QR_CAPTION_MAX} characters")


def render_print(
    image: Image.Image,
    *,
    profile: OutputProfile,
    source_size: tuple[int, int],
    overlay: Image.Image | None = None,
    qr: QrSpec | None = None,
) -> Rendered:
    """The print: `image` (upright, any mode) sized by `profile`, then overlay, then QR code.

    `source_size` is the booth's input photo size (see target_size). `overlay` is an RGBA image
    from check_overlay(). The input image is never modified.
    """
    notes: list[str] = []
    rgb = _srgb_rgb(image, notes)
    size = target_size(profile, source_size, image_size=rgb.size)
    canvas, scale = _fit(rgb, size, profile)
    if canvas is image:
        canvas = canvas.copy()
    canvas.info = {}
    if scale > SOFT_UPSCALE:
        notes.append(
            f"answer of {rgb.width}x{rgb.height} px enlarged {scale:.1f}x to "
            f"{size[0]}x{size[1]}: the print will look soft"
        )
    if profile.sharpen and scale > 1.05:
        canvas = canvas.filter(LIGHT_UNSHARP_MASK)
    if overlay is not None:
        notes.extend(_overlay_notes(overlay.size, size))
        _paste_overlay(canvas, overlay)
    if qr is not None:
        _draw_qr(canvas, qr)
    return Rendered(canvas, tuple(notes))


def encode_print(rendered: Rendered, mime: str, quality: int | None = None) -> images.EncodedImage:
    """The print's bytes, without metadata; `quality` for JPEG/WEBP (see images.encode)."""
    return images.encode(rendered.image, mime, quality=quality)


# --- colour ------------------------------------------------------------------------------------


def _srgb_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """RGB pixels in sRGB: another ICC profile converted, transparency flattened onto white."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        # A grey or palette image's profile changes little: its pixels are taken as sRGB.
        return _flat_rgb(image)
    source = image if image.mode == "CMYK" else _flat_rgb(image)
    converted = _to_srgb(source, icc)
    if converted is None:
        notes.append("the ICC profile could not be applied: colours taken as sRGB")
        converted = source
    return converted if converted.mode == "RGB" else converted.convert("RGB")


def _flat_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """`image` converted from its profile to sRGB; itself when already sRGB; None if unreadable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (OSError, ValueError, ImageCms.PyCMSError):
        return None


# --- geometry ----------------------------------------------------------------------------------


def _fit(image: Image.Image, size: tuple[int, int], profile: OutputProfile):
    """The image at `size` and the scale it was enlarged (>1) or reduced (<1) by."""
    if profile.fit == "pad":
        return _padded(image, size, profile.pad_color)
    box = _crop_box(image, size[0] / size[1])
    return _resized(image, size, box), size[0] / (box[2] - box[0])


def _crop_box(image: Image.Image, ratio: float) -> tuple[int, int, int, int]:
    """The largest box of `ratio` inside the image, centred on the largest face if any."""
    width, height = image.size
    if width / height > ratio:
        crop_w, crop_h = min(width, max(1, round(height * ratio))), height
    else:
        crop_w, crop_h = width, min(height, max(1, round(width / ratio)))
    focus_x, focus_y = width / 2, height / 2
    if 1 - (crop_w * crop_h) / (width * height) >= CROP_WORTH_A_FACE:
        face = faces.largest_face(image)
        if face is not None:
            focus_x, focus_y = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    left = min(max(0, round(focus_x - crop_w / 2)), width - crop_w)
    top = min(max(0, round(focus_y - crop_h / 2)), height - crop_h)
    return left, top, left + crop_w, top + crop_h


def _resized(image: Image.Image, size: tuple[int, int], box: tuple[int, int, int, int]):
    if (box[2] - box[0], box[3] - box[1]) == size:
        return image if box == (0, 0, *image.size) else image.crop(box)
    # reducing_gap: a big reduction (24 MP to a print) first shrinks by an integer factor, then
    # resamples; about twice as fast as plain Lanczos, hardly distinguishable (thumbnail()'s
    # default gap).
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)


def _padded(image: Image.Image, size: tuple[int, int], color: str):
    scale = min(size[0] / image.width, size[1] / image.height)
    inner = (
        min(size[0], max(1, round(image.width * scale))),
        min(size[1], max(1, round(image.height * scale))),
    )
    canvas = Image.new("RGB", size, color)
    position = ((size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2)
    canvas.paste(_resized(image, inner, (0, 0, *image.size)), position)
    return canvas, scale


# --- overlay -----------------------------------------------------------------------------------


def check_overlay(data: bytes) -> Image.Image:
    """An uploaded overlay as RGBA, or OverlayRejected with a message for staff.

    An overlay is a PNG with transparency (an event frame, a logo) at least OVERLAY_MIN_SIDE px
    on its short side, ideally at the print's pixel size.
    """
    if images.sniff_mime(data) != images.PNG:
        raise OverlayRejected(
            "overlay_not_png", "Рамка должна быть PNG-файлом с прозрачностью (альфа-каналом)."
        )
    try:
        image, _ = images.decode(data)
    except (images.UnsupportedImage, images.InvalidImage):
        raise OverlayRejected(
            "overlay_invalid", "Файл рамки повреждён или слишком велик: сохраните PNG заново."
        ) from None
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        raise OverlayRejected(
            "overlay_no_alpha",
            "В PNG нет прозрачности: сохраните рамку с альфа-каналом, "
            "чтобы фото было видно сквозь неё.",
        )
    if min(image.size) < OVERLAY_MIN_SIDE:
        raise OverlayRejected(
            "overlay_too_small",
            f"Рамка слишком мала: {image.width}×{image.height} px. Нужно не меньше "
            f"{OVERLAY_MIN_SIDE} px по короткой стороне, лучше — размер отпечатка "
            "(например, 1800×1200 для 10×15).",
        )
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:
        raise OverlayRejected(
            "overlay_opaque",
            "Рамка полностью непрозрачна и закрыла бы всё фото: оставьте прозрачную область.",
        )
    return rgba


def composite_overlay(image: Image.Image, overlay_rgba: Image.Image) -> Image.Image:
    """`image` (RGB) with the overlay alpha-composited over it, as a new RGB image.

    The overlay is scaled to the image's exact size, stretched if its aspect differs: staff
    upload it at the print's aspect (ideally its pixel size), so frames and logos keep their
    shape relative to the print.
    """
    result = image.convert("RGB") if image.mode != "RGB" else image.copy()
    _paste_overlay(result, overlay_rgba)
    return result


def _paste_overlay(canvas: Image.Image, overlay: Image.Image) -> None:
    overlay = overlay if overlay.mode == "RGBA" else overlay.convert("RGBA")
    if overlay.size != canvas.size:
        # Premultiplied while resampling, so transparent pixels' colours do not fringe edges.
        # Bicubic: a frame enlarged to a 24 MP print costs a fifth less than with Lanczos.
        overlay = (
            overlay.convert("RGBa")
            .resize(canvas.size, Image.Resampling.BICUBIC, reducing_gap=2.0)
            .convert("RGBA")
        )
    canvas.paste(overlay.convert("RGB"), mask=overlay.getchannel("A"))


def _overlay_notes(overlay_size: tuple[int, int], size: tuple[int, int]) -> list[str]:
    drift = abs(math.log((overlay_size[0] / overlay_size[1]) / (size[0] / size[1])))
    if drift <= OVERLAY_RATIO_TOLERANCE:
        return []
    return [
        f"overlay of {overlay_size[0]}x{overlay_size[1]} px stretched to the "
        f"{size[0]}x{size[1]} print: upload it at the print's aspect"
    ]


# --- QR code -----------------------------------------------------------------------------------


def qr_module_px(modules: int, long_side: int) -> int:
    """Pixels per module so the symbol is at least QR_MIN_CM wide on a print of `long_side`."""
    min_side = QR_MIN_CM / 2.54 * PRINT_DPI * long_side / QR_REFERENCE_LONG_SIDE
    return max(1, math.ceil(min_side / modules))


def add_qr(image: Image.Image, spec: QrSpec) -> Image.Image:
    """A copy of `image` (RGB) with the QR code on its white plate in `spec.corner`."""
    result = image.convert("RGB") if image.mode != "RGB" else image.copy()
    _draw_qr(result, spec)
    return result


def _draw_qr(canvas: Image.Image, spec: QrSpec) -> None:
    code = segno.make(spec.url, error="m", micro=False)
    modules = len(code.matrix)
    module = qr_module_px(modules, max(canvas.size))
    symbol = _qr_symbol(code.matrix, module)
    quiet = QR_QUIET_MODULES * module
    caption = _Caption(spec.caption, symbol.width, canvas.width) if spec.caption else None
    plate_w = max(symbol.width + 2 * quiet, caption.width + 2 * quiet if caption else 0)
    plate_h = symbol.height + 2 * quiet + (caption.height + 2 * module if caption else 0)
    left, top = _corner_position(canvas.size, (plate_w, plate_h), spec.corner)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(
        (left, top, left + plate_w - 1, top + plate_h - 1), radius=2 * module, fill="white"
    )
    canvas.paste(symbol, (left + (plate_w - symbol.width) // 2, top + quiet))
    if caption:
        caption.draw(draw, (left + plate_w // 2, top + quiet + symbol.height + quiet))


def _qr_symbol(matrix: tuple[bytearray, ...], module: int) -> Image.Image:
    """The symbol without its quiet zone, `module` px per module, black on white."""
    size = len(matrix)
    light = bytes(0 if dark else 255 for row in matrix for dark in row)
    small = Image.frombytes("L", (size, size), light)
    return small.resize((size * module, size * module), Image.Resampling.NEAREST).convert("RGB")


def _corner_position(canvas: tuple[int, int], plate: tuple[int, int], corner: str):
    margin = round(min(canvas) * 0.025)
    vertical, horizontal = corner.split("-")
    left = margin if horizontal == "left" else canvas[0] - plate[0] - margin
    top = margin if vertical == "top" else canvas[1] - plate[1] - margin
    return max(0, left), max(0, top)


class _Caption:
    """A short line of text under the code, sized to the code, shrunk to fit the print."""

    def __init__(self, text: str, symbol_width: int, canvas_width: int):
        self.text = text
        size = max(10, round(symbol_width * 0.11))
        self.font = _font(size)
        width = self.font.getlength(text)
        if width > canvas_width * 0.5:
            self.font = _font(max(8, int(size * canvas_width * 0.5 / width)))
        left, _, right, bottom = self.font.getbbox(text, anchor="mt")
        self.width, self.height = math.ceil(right - left), math.ceil(bottom)

    def draw(self, draw: ImageDraw.ImageDraw, middle_top: tuple[int, int]) -> None:
        draw.text(middle_top, self.text, font=self.font, fill=(17, 17, 17), anchor="mt")


@cache
def _font_bytes() -> bytes:
    import fontpkg_noto_sans

    return (fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf").read_bytes()


# FreeType faces are not safe to share between threads: each image worker keeps its own fonts.
_fonts = threading.local()


def _font(size: int) -> ImageFont.FreeTypeFont:
    cached = _fonts.__dict__.setdefault("by_size", {})
    if size not in cached:
        if len(cached) >= 8:  # each holds its own copy of the 2 MB font file
            cached.clear()
        font = ImageFont.truetype(io.BytesIO(_font_bytes()), size)
        font.set_variation_by_name("SemiBold")
        cached[size] = font
    return cached[size]


# --- the booth's answer ------------------------------------------------------------------------


def render_delivery(
    answer: bytes,
    *,
    profile: OutputProfile,
    source_size: tuple[int, int],
    input_mime: str,
    overlay: bytes | None = None,
    qr: QrSpec | None = None,
    trusted: bool = False,
    draft: Image.Image | None = None,
    decoded: Image.Image | None = None,
) -> tuple[images.RenderedResult, tuple[str, ...]]:
    """The payload the booth receives (and its preview's source), with the print's warnings.

    A slot that asks for nothing (as shot, own size, no overlay, no QR code) gets the answer
    as `images.render_result` makes it, byte for byte (`draft`, a reduced decode of a trusted
    answer, is its preview's source); otherwise the answer becomes the print, cut from
    `decoded` (a reduced-scale decode of an upright answer) when that covers the print's size
    at its own long side. Raises images.UnsupportedImage / InvalidImage for an answer that is
    not a sane image, and OverlayRejected for an overlay that cannot brand a print.
    """
    mime = output_mime(profile, input_mime)
    if _asks_nothing(profile) and overlay is None and qr is None:
        return images.render_result(answer, mime, trusted=trusted, draft=draft), ()
    if decoded is not None and _covers(decoded, profile, source_size):
        image = decoded
    else:
        image, _ = images.decode(answer)
    frame = check_overlay(overlay) if overlay is not None else None
    rendered = render_print(image, profile=profile, source_size=source_size, overlay=frame, qr=qr)
    payload = encode_print(rendered, mime, profile.quality)
    return images.RenderedResult(payload, rendered.image), rendered.warnings


def _covers(image: Image.Image, profile: OutputProfile, source_size: tuple[int, int]) -> bool:
    """Whether the print of a profile with its own long side can be cut from `image` without
    enlarging it (a print that keeps the answer's size needs the whole answer)."""
    if profile.long_side is None:
        return False
    width, height = target_size(profile, source_size)
    return min(image.width, image.height * width / height) >= width


def _asks_nothing(profile: OutputProfile) -> bool:
    return profile.aspect == "as_shot" and profile.long_side is None
