"""Image sniffing, safe decoding and re-encoding.

Nothing a client or a provider sent is stored or served as is: bytes are sniffed by content,
fully decoded under a pixel cap (Pillow's verify() lets truncated files and polyglots through),
and re-encoded without metadata. All functions here are CPU-bound: call them through
`core.cpu.run_cpu` so the event loop never runs them.
"""

import bisect
import io
import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image, ImageFile, ImageOps

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
MB = 1024 * 1024
MAX_PIXELS = 50_000_000
PREVIEW_SIDE = 512  # a preview's long side at most
# A reduced decode at least this long on its long side is a preview as it is: a 4000×3000
# photo's 1/8 scale (500×375) is kept, where 1/4 (1000×750) would cost a Lanczos
# reduction to 512 px as well (10 ms on a 2-core server, as much as the WEBP encode).
PREVIEW_MIN_SIDE = 448
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
    # A reduced decode of `data` made while validating it (JpegCheck), at least PREVIEW_MIN_SIDE (or
    # a provider's input side, see draft_size) on its long side where the photo is: a preview of
    # these bytes, and a provider's smaller copy, are cut from it, not decoded again.
    draft: Image.Image | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RenderedResult:
    """The payload the booth receives, and the picture its preview is cut from (the image the
    payload was encoded from; None: decode the payload, at reduced scale, when it is needed)."""

    payload: EncodedImage
    preview_source: Image.Image | None = field(default=None, repr=False, compare=False)


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


def _open(data: bytes, mime: str | None) -> ImageFile.ImageFile:
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


def encode(image: Image.Image, mime: str, *, quality: int | None = None) -> EncodedImage:
    """Encode without EXIF, GPS or text metadata (the ICC colour profile is kept).

    `quality` applies to JPEG and WEBP (default 90 and 85); PNG is lossless.
    """
    if mime == JPEG and image.mode != "RGB":
        image = _flatten(image)
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    out = io.BytesIO()
    options = {"icc_profile": image.info.get("icc_profile")}
    if mime == JPEG:
        options.update(quality=quality or 90)
    elif mime == PNG:
        options.update(compress_level=3)
    else:
        # method 1 encodes about twice as fast as 3 for a few per cent more bytes.
        options.update(quality=quality or 85, method=1)
    image.save(out, _PIL_FORMATS[mime], **options)
    return EncodedImage(out.getvalue(), mime, image.width, image.height)


def normalise_upload(data: bytes, *, decode_side: int = PREVIEW_MIN_SIDE) -> EncodedImage:
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
            header.draft("RGB", draft_size(width, height, decode_side))
            _load(header)
            stripped = strip_jpeg_metadata([data])
            if stripped is not None:
                return EncodedImage(stripped, JPEG, width, height, draft=header)
    image, mime = decode(data)
    try:
        return encode(ImageOps.exif_transpose(image), mime)
    except _DECODE_ERRORS as error:  # malformed EXIF, or a pixel layout that cannot be re-encoded
        raise InvalidImage(f"image cannot be made safe: {error}") from error


def draft_size(width: int, height: int, side: int = PREVIEW_MIN_SIDE) -> tuple[int, int]:
    """The size to ask `Image.draft` for: the smallest DCT scale (down to 1/8) that leaves the
    long side at least `side`, so the validation decode is also the source of the preview
    (PREVIEW_MIN_SIDE) and of a provider's smaller copy of the photo (its input side). A photo
    no larger than that copy is sent as it is: then only the preview's side is kept.

    At least 1 px a side: Pillow divides by the requested size.
    """
    if max(width, height) <= side:
        side = PREVIEW_MIN_SIDE
    scale = 8
    while scale > 1 and max(width, height) // scale < side:
        scale //= 2
    return max(1, width // scale), max(1, height // scale)


def _orientation(image: Image.Image) -> int:
    try:
        return image.getexif().get(_ORIENTATION, 1)
    except _DECODE_ERRORS as error:
        raise InvalidImage(f"image metadata does not parse: {error}") from error


def normalise_checked_jpeg(pieces: Sequence[bytes], check: "JpegCheck") -> EncodedImage | None:
    """`normalise_upload`'s answer for a JPEG that `check` already decoded as it arrived (in
    these `pieces`), without decoding it again; None when the check could not vouch for it
    (then use normalise_upload)."""
    if check.size is None:
        return None
    stripped = strip_jpeg_metadata(pieces, markers=check.markers)
    if stripped is None:
        return None
    width, height = check.size
    return EncodedImage(stripped, JPEG, width, height, draft=check.draft)


class JpegCheck:
    """The validation decode of an upright JPEG (as in normalise_upload: every entropy-coded
    block, at a reduced scale), done on the bytes as they arrive instead of after the last one.
    The decoded picture is kept (`draft`): the preview is cut from it.

    Feed it the file's chunks in order, off the event loop. It never raises: anything it cannot
    vouch for (not a JPEG, rotated, corrupt, cut short) leaves `size` None, and the upload then
    goes through normalise_upload, which finds the fault and names it.

    It also notes where markers may start (`markers`), so that stripping the photo's metadata
    after its last byte need not search the whole scan for its end again.
    """

    # The header is parsed again each time its bytes double, up to the most it may take.
    _FIRST_TRY = 8 * 1024
    _MAX_HEADER = 1024 * 1024

    def __init__(self, decode_side: int = PREVIEW_MIN_SIDE) -> None:
        self._decode_side = decode_side
        self._header = b""
        self._next_try = self._FIRST_TRY
        # Pillow's incremental decoder and the picture it fills: its internal API (the public
        # one decodes whole files only), hence untyped.
        self._decoder: Any = None
        self._image: Any = None
        self._full_size = (0, 0)
        self._pending = b""
        self._given_up = False
        self.size: tuple[int, int] | None = None
        self.draft: Image.Image | None = None
        self.markers: list[int] = []
        self._fed = 0
        self._ends_in_ff = False

    def feed(self, data: bytes) -> None:
        if self._given_up or not data:
            return
        self._note_markers(data)
        if self.size is not None:
            return
        try:
            if self._decoder is None:
                data = self._start(data)
            if self._decoder is not None and data:
                self._decode(data)
        except Exception:  # whatever it is, normalise_upload will find it and name it
            self._give_up()

    def _note_markers(self, data: bytes) -> None:
        """Note the offset of each marker candidate of strip_jpeg_metadata's search."""
        if self._ends_in_ff and _is_marker_code(data[0]):
            self.markers.append(self._fed - 1)
        self.markers.extend(self._fed + m.start() for m in _MARKER_AFTER_SCAN.finditer(data))
        self._ends_in_ff = data[-1] == 0xFF
        self._fed += len(data)

    def _start(self, data: bytes) -> bytes:
        """Collect the header; once it parses, set up the decoder. Returns the scan data."""
        self._header += data
        if not self._header.startswith(b"\xff\xd8\xff") or len(self._header) > self._MAX_HEADER:
            self._give_up()
            return b""
        if len(self._header) < self._next_try:
            return b""
        self._next_try = 2 * len(self._header)
        try:
            image = _open(self._header, JPEG)
        except InvalidImage:
            return b""  # not all of the header yet
        if image.getexif().get(_ORIENTATION, 1) != 1:
            self._give_up()  # a rotated photo is decoded in full and re-encoded anyway
            return b""
        width, height = image.size
        image.draft("RGB", draft_size(width, height, self._decode_side))
        image.load_prepare()
        [(codec, extents, offset, args)] = image.tile
        image.tile = []
        self._decoder = Image._getdecoder(image.mode, codec, args, image.decoderconfig)
        self._decoder.setimage(image.im, extents)
        self._image, self._full_size = image, (width, height)
        scan, self._header = self._header[offset:], b""
        return scan

    def _decode(self, data: bytes) -> None:
        buffer = self._pending + data if self._pending else data
        consumed, error = self._decoder.decode(buffer)
        if consumed < 0:  # the decoder reached the end of the image, or failed
            if error < 0:
                self._give_up()
            else:
                self.size, self.draft = self._full_size, self._image
                self._release()
            return
        self._pending = buffer[consumed:]

    def _give_up(self) -> None:
        self._given_up = True
        self._release()

    def _release(self) -> None:
        self._decoder, self._image, self._header, self._pending = None, None, b"", b""


def render_result(
    data: bytes, output_mime: str, *, trusted: bool = False, draft: Image.Image | None = None
) -> RenderedResult:
    """Produce the served payload from a provider's answer; its preview is made later.

    A remote provider's bytes are fully decoded and re-encoded. `trusted` bytes come from an
    in-process driver that built them from validated input: they are served as they are when
    already in the output format, and `draft` (a reduced decode of those bytes) is kept for
    the preview.
    """
    if trusted and sniff_mime(data) == output_mime:
        header = _open(data, output_mime)
        return RenderedResult(EncodedImage(data, output_mime, header.width, header.height), draft)
    image, _ = decode(data)
    return RenderedResult(encode(image, output_mime), image)


def make_preview(rendered: RenderedResult) -> EncodedImage:
    """The WEBP preview (at most PREVIEW_SIDE a side) of a rendered result."""
    image = rendered.preview_source
    if image is None:
        image = _open(rendered.payload.data, rendered.payload.mime)
        image.draft("RGB", draft_size(*image.size))  # JPEG: a DCT-scaled decode
        _load(image)
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    else:
        image = _preview_sized(image)
    return encode(image, WEBP)


def _preview_sized(image: Image.Image) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return copy


def keep_for_preview(photo: EncodedImage) -> EncodedImage:
    """`photo` with only as much of its validation decode as its preview needs.

    A decode kept larger for a provider's copy of the photo (ImageInput.decoded) is handed to
    the provider; the job does not hold it as well while it waits. One made for the preview
    alone is under twice its side (a DCT step smaller would have been under it): kept as it is.
    """
    if photo.draft is None or max(photo.draft.size) < 2 * PREVIEW_SIDE:
        return photo
    return replace(photo, draft=_preview_sized(photo.draft))


def preview_of(data: bytes, mime: str) -> EncodedImage:
    """The preview of a stored result, for one whose preview went missing."""
    return make_preview(RenderedResult(EncodedImage(data, mime, 0, 0)))


# Segments that describe pixels are kept (JFIF, ICC profile, Adobe colour transform); EXIF,
# XMP, IPTC, comments and other application data are dropped.
_KEPT_APP_MARKERS = {0xE0, 0xE2, 0xEE}
_MARKER_AFTER_SCAN = re.compile(rb"\xff([\x01-\xcf\xd8-\xfe])")
_ORIENTATION = 0x0112


def _is_marker_code(byte: int) -> bool:
    """Whether `byte` after 0xFF makes a marker (_MARKER_AFTER_SCAN's second byte)."""
    return 0x01 <= byte <= 0xCF or 0xD8 <= byte <= 0xFE


def strip_jpeg_metadata(
    pieces: Sequence[bytes], *, markers: Sequence[int] | None = None
) -> bytes | None:
    """Copy a (validated) JPEG, given as consecutive pieces (an upload's chunks, or one piece),
    without metadata segments and without bytes after its end, in one copy of the kept bytes.

    `markers`, when given, are the offsets of every _MARKER_AFTER_SCAN match in the file in
    order (JpegCheck notes them as the bytes arrive): the end of each scan is looked up there
    instead of searched for. Returns None for a layout it does not follow (stray bytes between
    segments, which libjpeg tolerates): the caller then re-encodes instead.
    """
    data = _Pieces(pieces)
    out, pos = data.span(0, 2), 2
    while pos + 1 < data.size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image: whatever follows (a polyglot's payload) is dropped
            out += data.span(pos, pos + 2)
            break
        if pos + 3 >= data.size:
            return None  # cut short inside a segment's length
        end = pos + 2 + (data[pos + 2] << 8 | data[pos + 3])
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            end = data.next_marker(end, markers)
        if not (0xE0 <= marker <= 0xEF and marker not in _KEPT_APP_MARKERS) and marker != 0xFE:
            out += data.span(pos, end)
        pos = end
    else:
        return None  # no end-of-image marker
    return b"".join(out)


class _Pieces:
    """Consecutive pieces of one file, read where they are instead of joined first."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._pieces = [memoryview(piece) for piece in pieces if piece]
        self._starts = list(itertools.accumulate(map(len, self._pieces), initial=0))
        self.size = self._starts[-1]

    def __getitem__(self, at: int) -> int:
        index = bisect.bisect_right(self._starts, at) - 1
        return self._pieces[index][at - self._starts[index]]

    def span(self, start: int, end: int) -> list[memoryview]:
        """Views of the bytes from `start` to `end` (at most the file's end), piece by piece."""
        views, index = [], bisect.bisect_right(self._starts, start) - 1
        end = min(end, self.size)
        while start < end:
            piece_start, piece = self._starts[index], self._pieces[index]
            stop = min(end, piece_start + len(piece))
            views.append(piece[start - piece_start : stop - piece_start])
            start, index = stop, index + 1
        return views

    def next_marker(self, start: int, markers: Sequence[int] | None) -> int:
        """Where the first _MARKER_AFTER_SCAN match at or after `start` is; the end if none."""
        if markers is None:
            rest = self.span(start, self.size)
            found = _MARKER_AFTER_SCAN.search(rest[0] if len(rest) == 1 else b"".join(rest))
            return start + found.start() if found else self.size
        index = bisect.bisect_left(markers, start)
        return markers[index] if index < len(markers) else self.size


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        background.info = image.info
        return background
    return image.convert("RGB")
