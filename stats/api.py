from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import errors
from ingest.models import JobHistory
from ingest.status import LABELS as STATES
from slots.models import Slot
from stats.selectors import MAX_WINDOW_MINUTES, SOURCES, overview_with_slot_states


class OverviewQuery(serializers.Serializer):
    window_minutes = serializers.IntegerField(min_value=1, max_value=MAX_WINDOW_MINUTES, default=60)
    slot_id = serializers.CharField(required=False)
    # A field named like Field.source: SerializerMetaclass takes declared fields off the class.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        SOURCES,
        default=JobHistory.Source.INGEST,
        help_text="Booth uploads (`ingest`, the default), staff test runs (`ui_test`), or `all`.",
    )

    def validate_slot_id(self, value: str) -> str:
        if not Slot.objects.filter(pk=value).exists():
            raise serializers.ValidationError("unknown slot")
        return value


class _WindowCounters(serializers.Serializer):
    jobs_last_window = serializers.IntegerField()
    timeouts_last_window = serializers.IntegerField()
    provider_errors_last_window = serializers.IntegerField()
    failures_last_window = serializers.IntegerField()
    error_share_last_window = serializers.FloatField(
        allow_null=True,
        help_text="(failures + timeouts) / jobs in the window, 0–1; null without jobs.",
    )


class SystemCounters(_WindowCounters):
    jobs_total = serializers.IntegerField()
    hash_mismatches_last_window = serializers.IntegerField()
    wrong_passwords_last_window = serializers.IntegerField(
        help_text="Uploads refused for a wrong ingest password in the window (the slots shown)."
    )
    in_flight = serializers.IntegerField()
    storage_usage_mb = serializers.FloatField()


class SlotCounters(_WindowCounters):
    slot_id = serializers.CharField()
    display_name = serializers.CharField()
    is_active = serializers.BooleanField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error_reason = serializers.CharField(allow_null=True)
    last_error_text = serializers.CharField(
        allow_null=True, help_text="`last_error_reason` in Russian, as staff read it."
    )
    status = serializers.ChoiceField(
        list(STATES),
        help_text="The slot's state now, as the dashboard and GET /api/slots show it.",
    )
    status_label = serializers.CharField()
    wrong_passwords_last_window = serializers.IntegerField()


class TimelineBucket(serializers.Serializer):
    start = serializers.DateTimeField()
    jobs = serializers.IntegerField()
    timeouts = serializers.IntegerField()
    # A field named like Serializer.errors: SerializerMetaclass takes declared fields off the class.
    errors = serializers.IntegerField()  # type: ignore[assignment]


class LatestResult(serializers.Serializer):
    job_id = serializers.UUIDField()
    slot_id = serializers.CharField()
    # A field named like Field.source: SerializerMetaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    finished_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    result_expires_at = serializers.DateTimeField()
    result_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    def get_result_url(self, job: dict) -> str:
        return reverse("public-result", args=[job["job_id"]])

    def get_preview_url(self, job: dict) -> str:
        return reverse("public-preview", args=[job["job_id"]])


class Overview(serializers.Serializer):
    window_minutes = serializers.IntegerField()
    # A field named like Field.source: SerializerMetaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    system = SystemCounters()
    slots = SlotCounters(many=True)
    latest_results = LatestResult(many=True)
    timeline = TimelineBucket(many=True)


class StatsOverviewView(APIView):
    @extend_schema(parameters=[OverviewQuery], responses={200: Overview, **errors(400)})
    def get(self, request: Request) -> Response:
        query = OverviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(Overview(overview_with_slot_states(**query.validated_data)).data)
