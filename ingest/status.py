"""A slot's state as staff see it, decided once here for every page and API.

`ready`, `not_ready` (its own provider's configuration cannot work: no key, no prompt, a missing
template — even when a fallback stands in, since guests then get what staff did not choose),
`switched_off`, or `failing` (its latest booth shot in the last half hour failed for a reason
that is the provider's or ours, not the guest's; or every provider of its chain is cooling down).
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from core.runtime import RuntimeSettings
from ingest.errors import failure_text
from ingest.models import ProviderState
from ingest.selectors import SlotActivity, slots_with_activity, wrong_password_counts
from providers.registry import DRIVERS
from slots.models import Slot
from slots.readiness import Readiness, slot_readiness, template_roles

READY, NOT_READY, SWITCHED_OFF, FAILING = "ready", "not_ready", "switched_off", "failing"
LABELS = {READY: "Готов", NOT_READY: "Не готов", SWITCHED_OFF: "Отключён", FAILING: "Ошибки"}
# Wrong ingest passwords are counted over this long: «Неверный пароль: 12 за час».
WRONG_PASSWORD_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SlotStatus:
    state: str
    reasons: tuple[str, ...]
    readiness: Readiness
    activity: SlotActivity
    cooling: tuple[str, ...] = ()
    # Wrong ingest passwords sent to the slot within WRONG_PASSWORD_WINDOW.
    wrong_passwords: int = 0

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
    wrong = wrong_password_counts(now - WRONG_PASSWORD_WINDOW)
    rows = []
    for slot, activity in slots_with_activity(now=now):
        status = slot_status(slot, activity, config, cooling, now)
        rows.append((slot, replace(status, wrong_passwords=wrong.get(slot.pk, 0))))
    return rows


def describe(status: SlotStatus) -> dict:
    """The state as the API and the slot page's script carry it, each chain link's included."""
    links = [
        {
            "provider": link.provider,
            "operation": link.operation,
            "ready": link.ready,
            "problems": list(link.problems),
        }
        for link in status.readiness.links
    ]
    return {
        "status": status.state,
        "status_label": status.label,
        "status_reasons": list(status.reasons),
        "chain_status": links,
    }


def status_of(slot: Slot, config: RuntimeSettings, *, now: datetime | None = None) -> SlotStatus:
    """`slot`'s status as it stands in memory, an edit not saved yet included."""
    now = now or timezone.now()
    cooling = set(ProviderState.objects.cooling_down(now).values_list("provider", flat=True))
    ((_saved, activity),) = slots_with_activity(now=now, slot_id=slot.pk)
    return slot_status(slot, activity, config, cooling, now)


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
    if not readiness.own_ready:
        return NOT_READY, (*readiness.problems, *_stand_in(readiness))
    if activity.failing(now):
        last = failure_text(activity.last_booth_reason)
        return FAILING, (_("Последний снимок не обработан: %s") % last,)
    if cooled and set(cooled) == chain:
        return FAILING, (_("Все провайдеры слота временно пропускаются после ошибок"),)
    return READY, readiness.problems


def _stand_in(readiness: Readiness) -> tuple[str, ...]:
    ready = [link for link in readiness.links if link.ready]
    if not ready:
        return ()
    driver = DRIVERS.get(ready[0].provider)
    label = str(driver.label) if driver else ready[0].provider
    return (_("Пока снимки обрабатывает запасной провайдер: %s") % label,)
