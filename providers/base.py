"""The provider seam: what a driver is given, what it returns, and how it fails.

Drivers are pure adapters (bytes in, bytes out): they never touch Django models. Ingest
prepares a ProviderJob, runs `process()` under its own deadline, and validates the bytes
that come back before anything is stored or served.
"""

import io
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from django.utils.functional import Promise
from PIL import Image

# Normalised failure codes a driver may raise (DESIGN.md §3).
PROVIDER_UNCONFIGURED = "provider_unconfigured"
PROVIDER_5XX = "provider_5xx"
QUOTA = "quota"
NETWORK = "network"
SAFETY_BLOCKED = "safety_blocked"
BAD_RESPONSE = "bad_response"
FAILURE_CODES = (PROVIDER_UNCONFIGURED, PROVIDER_5XX, QUOTA, NETWORK, SAFETY_BLOCKED, BAD_RESPONSE)


class ProviderError(Exception):
    def __init__(self, code: str, detail: str = "", *, retry_after: int | None = None):
        if code not in FAILURE_CODES:
            raise ValueError(f"unknown provider failure code {code!r}")
        super().__init__(detail or code)
        self.code = code
        self.detail = detail or code
        self.retry_after = retry_after


T = TypeVar("T")


class Handover(Generic[T]):
    """A value handed over once: whoever takes it becomes its only holder."""

    def __init__(self, value: T | None = None) -> None:
        self._value = value

    def take(self) -> T | None:
        value, self._value = self._value, None
        return value


@dataclass(frozen=True)
class ImageInput:
    data: bytes = field(repr=False)
    mime: str
    # Absolute public link to the same bytes, for providers that fetch images themselves.
    url: str = ""
    # The upload's validation decode of `data` (a reduced-scale decode, at least as large as
    # the slot's drivers' `input_side`), for a driver that sends a smaller copy instead of
    # decoding the photo again. Taken once, so a waiting job does not keep the pixels.
    decoded: Handover[Image.Image] = field(default_factory=Handover, repr=False, compare=False)


@dataclass(frozen=True)
class TemplateImage(ImageInput):
    role: str = "style"


@dataclass(frozen=True)
class ProviderJob:
    job_id: str
    slot_id: str
    operation: str
    settings: dict[str, Any]
    photo: ImageInput
    templates: tuple[TemplateImage, ...] = ()
    api_key: str = field(default="", repr=False)
    # time.monotonic() value after which the answer is no longer wanted.
    deadline: float = float("inf")
    # "W:H" the final print will have ("3:2", or a size such as "6000:4000"); "" when unknown.
    # Drivers that can choose the answer's shape ask for the nearest they support.
    aspect_ratio: str = ""

    def remaining_seconds(self) -> float:
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class ProviderResult:
    data: bytes = field(repr=False)
    mime: str


RESULT_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# A provider "image" smaller than this is a placeholder or an error, never an edited photo.
MIN_RESULT_SIDE = 64


def checked_result(data: bytes) -> ProviderResult:
    """A provider's image bytes with the MIME type they really have, or BAD_RESPONSE.

    Reads the image header only and runs Pillow, so call it through asyncio.to_thread; ingest
    still decodes the whole image before anything is stored or served.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(RESULT_FORMATS)) as image:
            format_, size = image.format, image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ProviderError(
            BAD_RESPONSE, "provider answer is not a JPEG, PNG or WEBP image"
        ) from None
    if min(size) < MIN_RESULT_SIDE:
        raise ProviderError(BAD_RESPONSE, f"provider image is only {size[0]}x{size[1]} pixels")
    return ProviderResult(data=data, mime=RESULT_FORMATS[str(format_)])


@dataclass(frozen=True)
class Operation:
    """What a slot may ask a driver to do, as staff see it."""

    label: str | Promise
    hint: str | Promise = ""
    # Template roles the operation needs (at least one template with one of them); () = none.
    template_roles: tuple[str, ...] = ()
    # The answer is the photo itself: its print is cut from the upload's own decode.
    returns_photo: bool = False


class ProviderDriver(ABC):
    """A provider adapter and, in its class attributes, every fact about the provider.

    Slots, settings, limits, the staff pages and the admin all derive from these: adding a
    provider is its module, one line in `providers.registry`, and its tests.
    """

    name: ClassVar[str]
    label: ClassVar[str | Promise]
    # Operation id (stored in Slot.operation) -> what it is.
    operations: ClassVar[Mapping[str, Operation]]
    # JSON Schema for Slot.settings_json of slots that use this driver.
    settings_schema: ClassVar[dict[str, Any]]
    # The settings key that holds the text prompt, for drivers that take one.
    prompt_setting: ClassVar[str | None] = None
    requires_api_key: ClassVar[bool] = True
    # Concurrent calls per provider across all workers, until staff set another limit.
    default_concurrency: ClassVar[int] = 4
    # True when the provider downloads inputs by URL (ingest then publishes them).
    needs_public_urls: ClassVar[bool] = False
    # True only for in-process drivers whose bytes are built from validated input: ingest then
    # serves them without decoding them again. Remote answers are never trusted.
    trusted_output: ClassVar[bool] = False

    def input_side(self, slot_settings: Mapping[str, Any]) -> int | None:
        """The long side of the copy of the photo this driver sends with these slot settings,
        None when it sends the photo as it is. Ingest's validation decode keeps at least this
        much (ImageInput.decoded), so the driver need not decode the photo again."""
        return None

    @abstractmethod
    async def process(self, job: ProviderJob) -> ProviderResult:
        """Return the edited image or raise ProviderError; may be cancelled at any await."""

    def problems(self, operation: str) -> list[str]:
        """Why `operation` cannot run on this machine now, for staff (Russian); [] when it can.

        For what the driver itself knows, such as a local model file that is missing; keys,
        prompts and templates are checked from the class attributes by slots.readiness.
        """
        return []

    async def ping(self, *, api_key: str) -> bool:
        """A light check that the provider answers and takes the key (for /healthz).

        Never raises; drivers without a remote service are always reachable.
        """
        return True
