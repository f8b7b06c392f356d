from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from photochanger.auth import staff_page
from photochanger.runtime import load_runtime_settings
from providers.registry import DRIVERS
from slots.models import Slot, SlotTemplateMedia
from stats.selectors import gallery_jobs, slots_with_activity

# How much longer than the sync window DSLR Remote Pro should wait before it gives up:
# the window is PhotoChanger's own deadline; the margin covers upload and response transfer.
BOOTH_TIMEOUT_MARGIN_SECONDS = 15


def ingest_url(request: HttpRequest, slot_id: str) -> str:
    path = reverse("ingest", args=[slot_id])
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path)


def prompt_key(provider: str) -> str | None:
    """The settings key a provider reads its text prompt from, if it takes one."""
    driver = DRIVERS.get(provider)
    properties = driver.settings_schema.get("properties", {}) if driver else {}
    return next((key for key in ("prompt", "content") if key in properties), None)


@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = [
        {"slot": slot, "activity": activity, "ingest_url": ingest_url(request, slot.pk)}
        for slot, activity in slots_with_activity()
    ]
    return render(request, "slots/dashboard.html", {"cards": cards})


@staff_page
def slot_page(request: HttpRequest, slot_id: str) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("updated_by"), pk=slot_id)
    config = load_runtime_settings()
    sync_seconds = slot.sync_response_seconds or config.sync_response_seconds
    max_upload_mb = slot.size_limit_mb or config.max_upload_mb
    context = {
        "slot": slot,
        "templates": slot.template_media.select_related("media"),
        "roles": SlotTemplateMedia.Role.choices,
        "providers": [(value, label) for value, label in Slot.Provider.choices if value in DRIVERS],
        "output_formats": Slot.OutputFormat.choices,
        "ingest_url": ingest_url(request, slot.pk),
        "sync_seconds": sync_seconds,
        "booth_timeout": sync_seconds + BOOTH_TIMEOUT_MARGIN_SECONDS,
        "max_upload_mb": max_upload_mb,
        "slot_state": _script_state(slot, max_upload_mb),
    }
    return render(request, "slots/slot_page.html", context)


def _script_state(slot: Slot, max_upload_mb: int) -> dict:
    """What the slot page's script needs: editable state, driver schemas, API addresses."""
    drivers = {
        name: {
            "label": Slot.Provider(name).label,
            "operations": driver.operations,
            "prompt_key": prompt_key(name),
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


def gallery(request: HttpRequest, slot_id: str) -> HttpResponse:
    """Public: the slot's latest results still within their TTL (ids are unguessable)."""
    slot = Slot.objects.filter(pk=slot_id).first()
    if slot is None:
        raise Http404("no such slot")
    return render(
        request, "slots/gallery.html", {"slot": slot, "jobs": gallery_jobs(slot_id=slot.pk)}
    )
