"""The journal of configuration changes as the staff API gives it (core.journal)."""

from auditlog.models import LogEntry
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

MAX_ENTRIES = 500


class JournalQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_ENTRIES, default=50)


@extend_schema_field(
    {
        "type": "object",
        "description": "Field → [old, new]. Secrets read only (not set), (set), (changed) "
        "or (removed), never their value.",
        "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2, "items": {}},
    }
)
class ChangesField(serializers.JSONField):
    pass


class JournalEntry(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField(source="timestamp")
    actor = serializers.CharField(source="actor.get_username", allow_null=True, default=None)
    object = serializers.CharField(source="object_pk")
    version = serializers.SerializerMethodField()
    changes = ChangesField()

    def get_version(self, entry: LogEntry) -> int | None:
        return (entry.additional_data or {}).get("version")


def journal_page(request: Request, entries: QuerySet[LogEntry]) -> list:
    """The newest entries first, as many as `?limit=` asks (50 by default)."""
    query = JournalQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    newest = entries.order_by("-timestamp", "-id")[: query.validated_data["limit"]]
    return list(JournalEntry(newest, many=True).data)
