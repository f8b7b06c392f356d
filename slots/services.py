"""Staff changes to slots and their template images.

Every change bumps `Slot.version` and records who made it: ingest keys its de-duplication on
the version (a changed slot must not serve a result made with its old settings), and an edit
based on a version someone else has moved past is refused instead of silently undoing theirs.
"""

import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import journal
from media.images import normalise_upload
from media.models import MediaObject
from media.output import check_overlay
from media.services import delete_media
from media.uploads import store_clean_image
from providers.registry import DRIVERS
from slots.models import Slot, SlotTemplateMedia, new_gallery_token, slot_ids

# The journal's name for the slot's list of template images.
TEMPLATES = "template_media"

EDITABLE_FIELDS = (
    "display_name",
    "provider",
    "operation",
    "settings_json",
    "is_active",
    "size_limit_mb",
    "sync_response_seconds",
    "output_format",
    "output_profile",
    "qr_corner",
    "qr_caption",
    "fallbacks",
    "last_resort",
    "gallery_visibility",
)


class StaleSlotVersion(Exception):
    def __init__(self, current_version: int):
        super().__init__(f"the slot is at version {current_version} now")
        self.current_version = current_version


@dataclass(frozen=True)
class TemplateLink:
    media_id: uuid.UUID
    role: str


def update_slot(
    *,
    slot: Slot,
    expected_version: int | None,
    changes: dict[str, Any],
    template_media: list[TemplateLink] | None = None,
    user,
    check_templates: bool = True,
) -> Slot:
    """Validate and store `changes` (field → value) made to `expected_version` of `slot`.

    With `expected_version` None the write is unconditional (it still bumps the version).

    Raises ValidationError (field → messages; settings against the driver's JSON Schema; an
    operation whose template role is missing among the slot's templates, unless
    `check_templates` is off) or StaleSlotVersion. `template_media`, when given, becomes the
    slot's whole template list.
    """
    _apply(slot, changes)
    with transaction.atomic():
        templates = template_list(slot)
        diff = _record_change(
            slot, user=user, expected_version=expected_version, fields=EDITABLE_FIELDS
        )
        if template_media is not None:
            _relink_templates(slot, template_media)
        if check_templates:
            _check_templates(slot)
        _journal(slot, user, {**diff, TEMPLATES: (templates, template_list(slot))})
    return slot


def check_slot(*, slot: Slot, changes: dict[str, Any]) -> None:
    """`changes` applied to `slot` in memory and checked as update_slot would, saving nothing.

    For a page that asks before it saves (a slot about to be not ready). Raises ValidationError
    like update_slot (template images as the slot has them now).
    """
    _apply(slot, changes)
    _check_templates(slot)


def _apply(slot: Slot, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(slot, name, value)
    slot.full_clean(exclude=["version", "updated_by"])


def rotate_gallery_token(*, slot: Slot, user) -> Slot:
    """A new gallery key: links handed out with the old one stop opening the gallery."""
    slot.gallery_token = new_gallery_token()
    with transaction.atomic():
        _record_change(slot, user=user, fields=("gallery_token",))
        # The key opens the gallery: the journal says it changed, never what it is.
        _journal(slot, user, {"gallery_token": journal.secret_change(True, True)})
    return slot


def missing_templates(slot: Slot) -> dict[str, list[str]]:
    """Template roles the slot's chain needs but lacks: field (operation, fallbacks) → messages."""
    present = set(slot.template_media.values_list("role", flat=True))
    labels = dict(SlotTemplateMedia.Role.choices)
    problems: dict[str, list[str]] = {}
    for index, link in enumerate(slot.chain()):
        driver = DRIVERS.get(link.provider)
        operation = driver.operations.get(link.operation) if driver else None
        roles = operation.template_roles if operation else ()
        if operation and roles and not present & set(roles):
            wanted = " / ".join(str(labels.get(role, role)) for role in roles)
            field = "operation" if index == 0 else "fallbacks"
            message = _("Для операции «%(op)s» нужен шаблон с ролью «%(role)s».") % {
                "op": operation.label,
                "role": wanted,
            }
            problems.setdefault(field, []).append(str(message))
    return problems


def _check_templates(slot: Slot) -> None:
    problems = missing_templates(slot)
    if problems:
        raise ValidationError(problems)


def set_slots_active(*, slot_ids: list[str], active: bool, user) -> int:
    with transaction.atomic():
        before = list(Slot.objects.select_for_update().filter(pk__in=slot_ids))
        count = Slot.objects.filter(pk__in=slot_ids).update(
            is_active=active, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
        )
        for slot in before:
            slot.version += 1
            _journal(slot, user, {"is_active": (slot.is_active, active)})
    return count


def add_template_media(*, slot: Slot, data: bytes, role: str, user) -> SlotTemplateMedia:
    """Store an uploaded template image and attach it to `slot` (a new slot version).

    Raises media.images.UnsupportedImage / InvalidImage for anything but a sane JPEG/PNG/WEBP,
    and media.output.OverlayRejected for an overlay that cannot brand a print.
    """
    # Decoded before the transaction: a write transaction holds SQLite's lock for its duration.
    if role == SlotTemplateMedia.Role.OVERLAY:
        check_overlay(data)
    image = normalise_upload(data)
    with transaction.atomic():
        media = store_clean_image(
            image=image,
            folder=f"templates/{slot.pk}",
            kind=MediaObject.Kind.TEMPLATE,
            slot_id=slot.pk,
            expires_at=None,
        )
        templates = template_list(slot)
        last = slot.template_media.aggregate(last=Max("position"))["last"]
        link = SlotTemplateMedia.objects.create(
            slot=slot, media=media, role=role, position=0 if last is None else last + 1
        )
        _record_change(slot, user=user)
        _journal(slot, user, {TEMPLATES: (templates, template_list(slot))})
    return link


def save_template_links(*, slot: Slot, links: list[SlotTemplateMedia], user) -> None:
    """Template links added or edited in the admin, saved as one new slot version."""
    with transaction.atomic():
        templates = template_list(slot)
        for link in links:
            link.save()
        _record_change(slot, user=user)
        _journal(slot, user, {TEMPLATES: (templates, template_list(slot))})


def remove_template_media(*, media: MediaObject, user) -> Slot:
    """Detach a template image from its slot (a new slot version) and delete its file."""
    with transaction.atomic():
        slot = Slot.objects.get(pk=media.slot_id)
        templates = template_list(slot)
        SlotTemplateMedia.objects.filter(media=media).delete()
        _record_change(slot, user=user)
        _journal(slot, user, {TEMPLATES: (templates, template_list(slot))})
        transaction.on_commit(partial(delete_media, [media]))
    return slot


def _record_change(
    slot: Slot, *, user, expected_version: int | None = None, fields: tuple[str, ...] = ()
) -> dict[str, tuple[Any, Any]]:
    """Write `fields` with the next version, in one conditional UPDATE (optimistic locking).

    Returns what the write changed (field → (old, new)) for the journal. Call it inside a
    transaction: the row is locked from the read of the old values to the write.
    """
    old = Slot.objects.select_for_update().filter(pk=slot.pk).values(*fields).first() or {}
    rows = Slot.objects.filter(pk=slot.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    new = {name: getattr(slot, name) for name in fields}
    updated = rows.update(
        **new, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    if not updated:
        raise StaleSlotVersion(Slot.objects.values_list("version", flat=True).get(pk=slot.pk))
    slot.refresh_from_db(fields=["version", "updated_by", "updated_at"])
    return {name: (old.get(name), value) for name, value in new.items()}


def template_list(slot: Slot) -> list[dict[str, str]]:
    """The slot's template images in order, as the journal records them."""
    links = slot.template_media.order_by("position", "id").values_list("role", "media_id")
    return [{"role": role, "media_id": str(media_id)} for role, media_id in links]


def _journal(slot: Slot, user, changes: dict[str, tuple[Any, Any]]) -> None:
    journal.record_change(slot, user=user, changes=changes, version=slot.version)


def _relink_templates(slot: Slot, links: list[TemplateLink]) -> None:
    wanted = [link.media_id for link in links]
    if len(set(wanted)) != len(wanted):
        raise ValidationError({"template_media": ["each image may appear once"]})
    owned = set(
        MediaObject.objects.live()
        .filter(pk__in=wanted, kind=MediaObject.Kind.TEMPLATE, slot_id=slot.pk)
        .values_list("pk", flat=True)
    )
    unknown = [str(media_id) for media_id in wanted if media_id not in owned]
    if unknown:
        raise ValidationError({"template_media": [f"not a template of this slot: {unknown}"]})
    dropped = list(
        MediaObject.objects.filter(
            pk__in=slot.template_media.exclude(media_id__in=wanted).values("media_id")
        )
    )
    slot.template_media.all().delete()
    SlotTemplateMedia.objects.bulk_create(
        SlotTemplateMedia(slot=slot, media_id=link.media_id, role=link.role, position=position)
        for position, link in enumerate(links)
    )
    if dropped:
        transaction.on_commit(partial(delete_media, dropped))


def offer_first_slot(*, provider: str, operation: str, background: bytes) -> Slot | None:
    """First run: slot-001, untouched since it was created, gets `background` and `operation`.

    So a fresh install does the product's real job at once (a person on a studio backdrop).
    A slot staff have changed, or one with templates, is left alone: safe on every start.
    """
    slot = Slot.objects.filter(pk=slot_ids()[0], version=1).first()
    if slot is None or slot.template_media.exists():
        return None
    add_template_media(
        slot=slot, data=background, role=SlotTemplateMedia.Role.BACKGROUND, user=None
    )
    changes = {"provider": provider, "operation": operation, "settings_json": {}}
    return update_slot(slot=slot, expected_version=None, changes=changes, user=None)
