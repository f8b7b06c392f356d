"""The journal of configuration changes (brief §14): who changed what and when, as a field diff.

Entries are django-auditlog `LogEntry` rows, so the admin lists and filters them as it is, but
they are written here, by the services that make the changes, instead of by auditlog's save()
signals: slot writes are conditional `QuerySet.update()` calls (optimistic locking) that no
signal sees, and a secret's value must never reach the journal. Secrets are recorded only as
set, changed or removed.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.db.models import Model, QuerySet
from django.utils.functional import Promise

NOT_SET, SET, CHANGED, REMOVED = "(not set)", "(set)", "(changed)", "(removed)"


def record_change(
    instance: Model,
    *,
    user,
    changes: Mapping[str, tuple[Any, Any]],
    version: int | None = None,
) -> LogEntry | None:
    """Journal `changes` (field → (old, new)) made to `instance` by `user`; unchanged ones drop.

    Values must be JSON: they are stored as they are, for the API to give back.
    """
    diff = {name: [old, new] for name, (old, new) in changes.items() if old != new}
    if not diff:
        return None
    return LogEntry.objects.log_create(
        instance,
        action=LogEntry.Action.UPDATE,
        changes=diff,
        actor=user if getattr(user, "is_authenticated", False) else None,
        additional_data={"version": version} if version is not None else None,
    )


def secret_change(old: Any, new: Any) -> tuple[str, str]:
    """What the journal says of a secret: whether it was set before and what became of it."""
    if not new:
        return (SET if old else NOT_SET), (REMOVED if old else NOT_SET)
    return (SET, CHANGED) if old else (NOT_SET, SET)


def entries_for(instance: Model) -> QuerySet[LogEntry]:
    return LogEntry.objects.get_for_object(instance).select_related("actor")


def entries_for_model(model: type[Model]) -> QuerySet[LogEntry]:
    return LogEntry.objects.get_for_model(model).select_related("actor")


@dataclass(frozen=True)
class ReadableEntry:
    at: datetime
    actor: str | None
    version: int | None
    # (label, old, new) as short texts.
    changes: list[tuple[str, str, str]]


def readable(
    entries: Iterable[LogEntry], labels: Mapping[str, str | Promise]
) -> list[ReadableEntry]:
    """Entries as a page shows them: field labels, values as short texts."""
    return [
        ReadableEntry(
            at=entry.timestamp,
            actor=entry.actor.get_username() if entry.actor else None,
            version=(entry.additional_data or {}).get("version"),
            changes=[
                (str(labels.get(name, name)), _text(old), _text(new))
                for name, (old, new) in (entry.changes or {}).items()
            ],
        )
        for entry in entries
    ]


def _text(value: Any, limit: int = 80) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        # Template lists: role and the start of each image id.
        value = ", ".join(f"{item.get('role')} {str(item.get('media_id'))[:8]}" for item in value)
    elif not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return value if len(value) <= limit else value[: limit - 1] + "…"
