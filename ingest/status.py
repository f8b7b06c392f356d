"""A slot's state as staff see it, decided once here for every page and API.

`ready`, `not_ready` (its configuration cannot work: no key, no prompt, a missing template),
`switched_off`, or `failing` (its latest booth shot in the last half hour failed for a reason
that is the provider's or ours, not the guest's; or every provider of its chain is cooling down).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from core.runtime import RuntimeSettings
from ingest.errors import failure_text
from ingest.models import ProviderState
from ingest.selectors import SlotActivity, slots_with_activity
from slots.models import Slot
from slots.readiness import Readiness, slot_readiness, template_roles

READY, NOT_READY, SWITCHED_OFF, FAILING = "ready", "not_ready", "switched_off", "failing"
LABELS = {READY: "Готов", NOT_READY: "Не готов", SWITCHED_OFF: "Отключён", FAILING: "Ошибки"}


@dataclass(frozen=True)
class SlotStatus:
    state: str
    reasons: tuple[str, ...]
    readiness: Readiness
    activity: SlotActivity
    cooling: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return _(LABELS[self.state])

    @property
    def last_error(self) -> str:
        reason = self.activity.last_failure_reason
        return failure_text(reason) if reason else ""


def slot_statuses(
    config: RuntimeSettings, *, now: datetime | None = None
) -> list[tuple[Slot, SlotStatus]]:
    """Every slot with its status: a fixed number of queries whatever the traffic."""
    now = now or timezone.now()
    cooling = set(ProviderState.objects.cooling_down(now).values_list("provider", flat=True))
    return [
        (slot, slot_status(slot, activity, config, cooling, now))
        for slot, activity in slots_with_activity(now=now)
    ]


def slot_status(
    slot: Slot,
    activity: SlotActivity,
    config: RuntimeSettings,
    cooling: set[str],
    now: datetime,
) -> SlotStatus:
    readiness = slot_readiness(slot, config, template_roles(slot))
    chain = {link.provider for link in slot.chain()}
    cooled = tuple(sorted(chain & cooling))
    state, reasons = _state(slot, readiness, activity, cooled, chain, now)
    return SlotStatus(state, reasons, readiness, activity, cooled)


def _state(slot, readiness, activity, cooled, chain, now) -> tuple[str, tuple[str, ...]]:
    if not slot.is_active:
        return SWITCHED_OFF, ()
    if not readiness.ready:
        return NOT_READY, readiness.problems
    if activity.failing(now):
        last = failure_text(activity.last_booth_reason)
        return FAILING, (_("Последний снимок не обработан: %s") % last,)
    if cooled and set(cooled) == chain:
        return FAILING, (_("Все провайдеры слота временно пропускаются после ошибок"),)
    return READY, readiness.problems
