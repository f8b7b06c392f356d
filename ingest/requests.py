"""What an upload is checked against: its slot and the runtime settings, read once per request.

The ASGI layer needs both before it reads the body (the slot's upload limit, the ingest
password) and leaves them in the request's scope, so the view does not ask the database again.
"""

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.http import HttpRequest

from core.runtime import RuntimeSettings, load_runtime_settings
from ingest.errors import IngestError
from media.images import MB
from slots.models import Slot, could_be_slot_id

SLOT_SCOPE_KEY = "photochanger.slot"
# Room for the multipart envelope and the booth's text fields around the file.
ENVELOPE_BYTES = 1 * MB


@dataclass(frozen=True)
class UploadContext:
    slot: Slot | None
    config: RuntimeSettings


def load_upload_context(slot_id: str) -> UploadContext:
    slot = Slot.objects.filter(pk=slot_id).first() if could_be_slot_id(slot_id) else None
    return UploadContext(slot, load_runtime_settings())


def body_limit(slot: Slot, config: RuntimeSettings) -> int:
    """The largest body an upload to `slot` may send: its photo limit plus the form around it.

    A photo a little over the limit is read and refused by the pipeline, with a job for the
    record; a body over this is cut off unread.
    """
    return slot.upload_limit_mb(config) * MB + ENVELOPE_BYTES


async def upload_context(request: HttpRequest, slot_id: str) -> tuple[Slot, RuntimeSettings]:
    """The active slot of this upload and the settings it runs with; IngestError (404) else."""
    context = getattr(request, "scope", {}).get(SLOT_SCOPE_KEY)
    if context is None:  # no ASGI layer in front (Django's test client)
        context = await sync_to_async(load_upload_context)(slot_id)
    if context.slot is None:
        raise IngestError("slot_not_found", f"no slot {slot_id!r}")
    if not context.slot.is_active:
        raise IngestError("slot_inactive", f"slot {slot_id} is switched off")
    return context.slot, context.config
