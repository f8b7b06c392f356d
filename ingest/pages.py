"""Staff pages where slots meet their work: the dashboard, a slot's page, the settings page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core import journal
from core.auth import staff_page
from core.links import public_url
from core.runtime import (
    GALLERY_SIZE_BOUNDS,
    HASH_CHECK_MODES,
    SYNC_RESPONSE_BOUNDS,
    load_runtime_settings,
)
from ingest.configuration import describe_settings
from ingest.status import slot_statuses
from providers.registry import DRIVERS, provider_choices
from slots.models import Slot, SlotTemplateMedia
from slots.services import TEMPLATES

# How much longer than the sync window DSLR Remote Pro should wait before it gives up:
# the window is PhotoChanger's own deadline; the margin covers upload and response transfer.
BOOTH_TIMEOUT_MARGIN_SECONDS = 15

HASH_CHECK_LABELS = dict(
    zip(
        HASH_CHECK_MODES,
        [_("сверять и предупреждать"), _("отклонять несовпадение (400)"), _("не проверять")],
        strict=True,
    )
)


def ingest_url(request: HttpRequest, slot_id: str) -> str:
    return public_url(request, reverse("ingest", args=[slot_id]))


def gallery_url(request: HttpRequest, slot: Slot) -> str | None:
    """The public gallery's link to hand out: with the slot's key unless it is open or off."""
    if slot.gallery_visibility == Slot.GalleryVisibility.OFF:
        return None
    url = public_url(request, reverse("gallery", args=[slot.pk]))
    if slot.gallery_visibility == Slot.GalleryVisibility.TOKEN:
        url += f"?k={slot.gallery_token}"
    return url


@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = [
        {"slot": slot, "status": status, "ingest_url": ingest_url(request, slot.pk)}
        for slot, status in slot_statuses(load_runtime_settings())
    ]
    return render(request, "ingest/dashboard.html", {"cards": cards})


@staff_page
def slot_page(request: HttpRequest, slot_id: str) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("updated_by"), pk=slot_id)
    config = load_runtime_settings()
    sync_seconds = slot.response_window_seconds(config)
    max_upload_mb = slot.upload_limit_mb(config)
    context = {
        "slot": slot,
        "journal": _journal(slot),
        "templates": slot.template_media.select_related("media"),
        "roles": SlotTemplateMedia.Role.choices,
        "providers": provider_choices(),
        "output_formats": Slot.OutputFormat.choices,
        "ingest_url": ingest_url(request, slot.pk),
        "sync_seconds": sync_seconds,
        "booth_timeout": sync_seconds + BOOTH_TIMEOUT_MARGIN_SECONDS,
        "max_upload_mb": max_upload_mb,
        "slot_state": _script_state(slot, max_upload_mb),
    }
    return render(request, "ingest/slot_page.html", context)


JOURNAL_ENTRIES = 10


def _journal(slot: Slot) -> list[journal.ReadableEntry]:
    """The slot's latest changes for its page, with the slot form's field names."""
    labels = {field.name: field.verbose_name for field in Slot._meta.fields}
    labels[TEMPLATES] = _("шаблоны")
    return journal.readable(journal.entries_for(slot)[:JOURNAL_ENTRIES], labels)


def _script_state(slot: Slot, max_upload_mb: int) -> dict:
    """What the slot page's script needs: editable state, driver schemas, API addresses."""
    drivers = {
        name: {
            "label": str(driver.label),
            "operations": {op: str(operation.label) for op, operation in driver.operations.items()},
            "prompt_key": driver.prompt_setting,
            "schema": driver.settings_schema,
        }
        for name, driver in DRIVERS.items()
    }
    urls = {
        "slot": reverse("api-slot", args=[slot.pk]),
        "cleanup": reverse("api-slot-cleanup", args=[slot.pk]),
        "test_run": reverse("slot-test-run", args=[slot.pk]),
        "register_template": reverse("api-template-media-register"),
    }
    state = {"id": slot.pk, "version": slot.version, "settings": slot.settings_json}
    return {**state, "max_upload_mb": max_upload_mb, "drivers": drivers, "urls": urls}


@staff_page
def settings_page(request: HttpRequest) -> HttpResponse:
    context = {
        "current": describe_settings(),
        "sync_bounds": SYNC_RESPONSE_BOUNDS,
        "gallery_bounds": GALLERY_SIZE_BOUNDS,
        "hash_modes": list(HASH_CHECK_LABELS.items()),
        "providers": dict(provider_choices()),
    }
    return render(request, "ingest/settings.html", context)
