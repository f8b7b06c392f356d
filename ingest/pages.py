"""Staff pages where slots meet their work: the dashboard, a slot's page, the settings page."""

import io

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import journal
from core.auth import staff_page
from core.links import public_url
from core.runtime import BOUNDS, HASH_CHECK_MODES, load_runtime_settings
from ingest.configuration import describe_settings
from ingest.status import LABELS as STATE_LABELS
from ingest.status import SlotStatus, describe, slot_statuses, status_of
from media.output import ASPECTS, MAX_LONG_SIDE, MIN_LONG_SIDE, PRESETS, OutputProfile, PrintPreset
from providers.base import Operation
from providers.registry import DRIVERS, provider_choices
from slots.models import MAX_CHAIN, Slot, SlotTemplateMedia
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


# How often the dashboard asks GET /api/slots while it is on screen.
DASHBOARD_REFRESH_SECONDS = 5


@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = [
        {"slot": slot, "status": status, "ingest_url": ingest_url(request, slot.pk)}
        for slot, status in slot_statuses(load_runtime_settings())
    ]
    states = [(state, _(label)) for state, label in STATE_LABELS.items()]
    script = {"refresh_seconds": DASHBOARD_REFRESH_SECONDS, "slots_url": reverse("api-slots")}
    context = {"cards": cards, "states": states, "dashboard_state": script}
    return render(request, "ingest/dashboard.html", context)


@staff_page
def slot_page(request: HttpRequest, slot_id: str) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("updated_by"), pk=slot_id)
    config = load_runtime_settings()
    sync_seconds = slot.response_window_seconds(config)
    max_upload_mb = slot.upload_limit_mb(config)
    status = status_of(slot, config)
    context = {
        "slot": slot,
        "status": status,
        "journal": _journal(slot),
        "templates": slot.template_media.select_related("media"),
        "roles": SlotTemplateMedia.Role.choices,
        "providers": provider_choices(),
        "operations": _operations(slot),
        "operation_hint": _operation_hint(slot),
        "output_formats": Slot.OutputFormat.choices,
        "last_resorts": Slot.LastResort.choices,
        "qr_corners": Slot.QrCorner.choices,
        "gallery_visibilities": Slot.GalleryVisibility.choices,
        "presets": [(name, preset.label) for name, preset in PRESETS.items()],
        "aspects": [(name, _aspect_label(name, ratio)) for name, ratio in ASPECTS.items()],
        "fits": FIT_LABELS.items(),
        "profile_bounds": (MIN_LONG_SIDE, MAX_LONG_SIDE),
        "ingest_url": ingest_url(request, slot.pk),
        "gallery_url": gallery_url(request, slot),
        "sync_seconds": sync_seconds,
        "booth_timeout": sync_seconds + BOOTH_TIMEOUT_MARGIN_SECONDS,
        "max_upload_mb": max_upload_mb,
        "slot_state": _script_state(slot, status, max_upload_mb),
    }
    return render(request, "ingest/slot_page.html", context)


@staff_page
def gallery_qr(request: HttpRequest, slot_id: str) -> HttpResponse:
    """The slot's gallery link as a QR code (SVG) for staff to show or print; 404 when off."""
    slot = get_object_or_404(Slot, pk=slot_id)
    url = gallery_url(request, slot)
    if url is None:
        raise Http404("the gallery is switched off")
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=4, border=4, xmldecl=False)
    # The link holds the gallery key: no cache may keep it after the key is changed.
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml", headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}
FIT_LABELS = {"crop": _("обрезать по кадру (лицо в центре)"), "pad": _("вписать целиком, с полями")}
JOURNAL_ENTRIES = 10


def _operations(slot: Slot) -> list[tuple[str, Operation]]:
    driver = DRIVERS.get(slot.provider)
    return list(driver.operations.items()) if driver else []


def _operation_hint(slot: Slot) -> str:
    operation = dict(_operations(slot)).get(slot.operation)
    return str(operation.hint) if operation else ""


def _aspect_label(name: str, ratio: tuple[int, int] | None) -> str:
    if ratio is None:
        return str(_("как на снимке"))
    width, height = ratio
    shape = (
        _("альбомная") if width > height else _("портретная") if width < height else _("квадрат")
    )
    return f"{name} ({shape})"


def _journal(slot: Slot) -> list[journal.ReadableEntry]:
    """The slot's latest changes for its page, with the slot form's field names."""
    labels = {field.name: field.verbose_name for field in Slot._meta.fields}
    labels[TEMPLATES] = _("шаблоны")
    return journal.readable(journal.entries_for(slot)[:JOURNAL_ENTRIES], labels)


def _script_state(slot: Slot, status: SlotStatus, max_upload_mb: int) -> dict:
    """What the slot page's script needs: the slot as saved, the drivers, presets, addresses."""
    saved = {
        "id": slot.pk,
        "version": slot.version,
        "is_active": slot.is_active,
        "provider": slot.provider,
        "operation": slot.operation,
        "settings": slot.settings_json,
        "fallbacks": slot.fallbacks,
        "output_profile": slot.output_profile,
        "gallery_visibility": slot.gallery_visibility,
        **describe(status),
    }
    return {
        "saved": saved,
        "max_upload_mb": max_upload_mb,
        "max_fallbacks": MAX_CHAIN - 1,
        "drivers": _drivers(),
        "presets": {name: _preset(preset) for name, preset in PRESETS.items()},
        "aspects": ASPECTS,
        "profile_defaults": _profile_fields(OutputProfile()),
        "urls": _urls(slot),
        # Times the script writes are shown in the zone the server's own pages use.
        "time_zone": timezone.get_current_timezone_name(),
    }


def _drivers() -> dict:
    roles = dict(SlotTemplateMedia.Role.choices)
    return {
        name: {
            "label": str(driver.label),
            "operations": {
                op: {
                    "label": str(operation.label),
                    "hint": str(operation.hint),
                    "roles": [str(roles.get(role, role)) for role in operation.template_roles],
                }
                for op, operation in driver.operations.items()
            },
            "prompt_key": driver.prompt_setting,
            "schema": driver.settings_schema,
        }
        for name, driver in DRIVERS.items()
    }


def _preset(preset: PrintPreset) -> dict:
    return {"label": preset.label, **_profile_fields(preset.profile)}


def _profile_fields(profile: OutputProfile) -> dict:
    """A profile as a slot stores it: its format is the slot's own output_format field."""
    fields = profile.to_dict()
    fields.pop("format")
    return fields


def _urls(slot: Slot) -> dict:
    return {
        "slot": reverse("api-slot", args=[slot.pk]),
        "validate": reverse("api-slot-validate", args=[slot.pk]),
        "cleanup": reverse("api-slot-cleanup", args=[slot.pk]),
        "test_run": reverse("slot-test-run", args=[slot.pk]),
        "gallery_token": reverse("api-slot-gallery-token", args=[slot.pk]),
        "gallery_qr": reverse("slot-gallery-qr", args=[slot.pk]),
        "register_template": reverse("api-template-media-register"),
        # The job's status, with the print's warnings: the script puts the job's id for JOB_ID.
        "job": reverse("job-status", args=["JOB_ID"]),
    }


# The settings page's whole-number fields, by section: name and label (bounds from BOUNDS).
NUMBER_FIELDS = {
    "storage": (
        ("result_ttl_hours", _("Срок хранения результатов, ч")),
        ("max_upload_mb", _("Лимит файла, МБ")),
        ("gallery_size", _("Результатов в публичной галерее")),
    ),
    "concurrency": (("per_slot_concurrency", _("Одновременно на слот")),),
}


@staff_page
def settings_page(request: HttpRequest) -> HttpResponse:
    current = describe_settings()
    labels = dict(provider_choices())
    context = {
        "current": current,
        "bounds": BOUNDS,
        "number_fields": {
            section: [
                {"name": name, "label": label, "bounds": BOUNDS[name], "value": current[name]}
                for name, label in fields
            ]
            for section, fields in NUMBER_FIELDS.items()
        },
        "hash_modes": list(HASH_CHECK_LABELS.items()),
        "provider_limits": [
            {"name": name, "label": labels[name], "limit": limit}
            for name, limit in current["per_provider_concurrency"].items()
        ],
        "provider_keys": [
            {"name": name, "label": labels[name], **state}
            for name, state in current["provider_keys"].items()
        ],
        "booth_timeout": current["sync_response_seconds"] + BOOTH_TIMEOUT_MARGIN_SECONDS,
        # What settings.js needs: the version the page was drawn at and the server's own bounds.
        "settings_state": {
            "version": current["version"],
            "bounds": BOUNDS,
            "booth_timeout_margin": BOOTH_TIMEOUT_MARGIN_SECONDS,
            "providers": labels,
        },
    }
    return render(request, "ingest/settings.html", context)
