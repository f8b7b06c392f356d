"""Whether a slot's configuration can work, and if not, why, in words staff act on.

Readiness is about configuration only: a key, a prompt, the templates an operation needs, a
public address for providers that download their inputs. Whether a ready slot is failing at
the moment is a question about its jobs, answered above this app (`ingest.status`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from core.runtime import RuntimeSettings
from providers.registry import DRIVERS, get_driver
from slots.models import ProviderConfig, Slot, SlotTemplateMedia


@dataclass(frozen=True)
class LinkReadiness:
    provider: str
    operation: str
    problems: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Readiness:
    links: tuple[LinkReadiness, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        """A slot works when at least one link of its chain can work."""
        return any(link.ready for link in self.links)

    @property
    def own_ready(self) -> bool:
        """Whether the slot's own provider (the chain's first link) can work."""
        return bool(self.links) and self.links[0].ready

    @property
    def problems(self) -> tuple[str, ...]:
        """What keeps the chain's links from working, the slot's own provider first."""
        return tuple(problem for link in self.links for problem in link.problems)


def slot_readiness(slot: Slot, config: RuntimeSettings, roles: Iterable[str]) -> Readiness:
    """Readiness of `slot` whose templates have `roles` (prefetch them for many slots)."""
    present = set(roles)
    return Readiness(tuple(_link(link, config, present) for link in slot.chain()))


def template_roles(slot: Slot) -> set[str]:
    return {link.role for link in slot.template_media.all()}


def _link(link: ProviderConfig, config: RuntimeSettings, present: set[str]) -> LinkReadiness:
    driver = DRIVERS.get(link.provider)
    if driver is None:
        return LinkReadiness(link.provider, link.operation, (_("провайдер не подключён"),))
    label = str(driver.label)
    problems = []
    if driver.requires_api_key and not config.api_key(link.provider):
        problems.append(_("%s: не задан API-ключ") % label)
    prompt = driver.prompt_setting
    required = driver.settings_schema.get("required", ())
    if prompt and prompt in required and not link.settings.get(prompt):
        problems.append(_("%s: нет промпта") % label)
    operation = driver.operations.get(link.operation)
    if operation is None:
        problems.append(_("%(provider)s: нет операции «%(op)s»") % _names(label, link.operation))
    elif operation.template_roles and not present & set(operation.template_roles):
        problems.append(_missing_template(label, operation.template_roles))
    problems += [
        f"{label}: {problem}" for problem in get_driver(link.provider).problems(link.operation)
    ]
    if driver.needs_public_urls and not settings.PUBLIC_MEDIA_BASE_URL:
        problems.append(_("%s: не задан публичный адрес сервера (PUBLIC_BASE_URL)") % label)
    return LinkReadiness(link.provider, link.operation, tuple(problems))


def _missing_template(label: str, roles: tuple[str, ...]) -> str:
    names = dict(SlotTemplateMedia.Role.choices)
    wanted = " / ".join(str(names.get(role, role)) for role in roles)
    return _("%(provider)s: нет шаблона с ролью «%(role)s»") % {"provider": label, "role": wanted}


def _names(provider: str, operation: str) -> dict[str, str]:
    return {"provider": provider, "op": operation}
