"""The booth's answer: the provider's image made into the slot's print.

Size and aspect from the slot's output profile, then the branding overlay (never sent to the
AI, so logos are never redrawn), then the QR code linking to the guest page of this result.
"""

from functools import partial

import structlog
from django.urls import reverse
from PIL import Image

from core.cpu import run_cpu
from ingest.errors import IngestError
from ingest.models import JobHistory
from media import images, output
from providers.base import BAD_RESPONSE, ProviderResult
from providers.registry import get_driver
from slots.models import ProviderConfig, Slot

log = structlog.get_logger(__name__)


async def deliver(
    slot: Slot,
    job: JobHistory,
    photo: images.EncodedImage,
    answer: ProviderResult,
    link: ProviderConfig | None,
    *,
    decoded: Image.Image | None,
    overlay: bytes | None,
    site_url: str,
) -> tuple[images.RenderedResult, list[str]]:
    """The answer made into the slot's print (size, branding `overlay`, QR code), off the loop.

    `link` is the chain link that answered, None for the original photo (the last resort);
    `decoded` the upload's validation decode of the photo, when no driver took it.
    """
    itself = answer.data is photo.data  # the photo came back (pass-through, last resort)
    guest_url = site_url + reverse("guest-page", args=[job.public_code])
    render = partial(
        output.render_delivery,
        answer.data,
        profile=slot.print_profile(),
        source_size=(photo.width, photo.height),
        input_mime=photo.mime,
        qr=slot.qr_spec(guest_url),
        trusted=link is None or get_driver(link.provider).trusted_output,
        # The photo's validation decode is then its preview's source, and its print's when it
        # is large enough: the photo is not decoded again.
        draft=photo.draft if itself else None,
        decoded=decoded if itself else None,
    )
    try:
        rendered, warnings = await run_cpu(render, overlay=overlay)
    except (images.UnsupportedImage, images.InvalidImage) as error:
        raise IngestError(BAD_RESPONSE, f"provider answer is not a usable image: {error}") from None
    except output.OverlayRejected as refused:  # stored before the check existed: print without it
        rendered, warnings = await run_cpu(render, overlay=None)
        warnings = (*warnings, f"overlay left out: {refused.message}")
    if warnings:
        log.warning("ingest.print_warnings", job_id=str(job.job_id), warnings=warnings)
    return rendered, list(warnings)


def print_aspect_ratio(slot: Slot, photo: images.EncodedImage) -> str:
    """The print's W:H, which providers that can are asked to answer in."""
    aspect = slot.print_profile().aspect
    return f"{photo.width}:{photo.height}" if aspect == "as_shot" else aspect
