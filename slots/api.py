from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.models import JobHistory
from media.cleanup import cleanup_media
from photochanger.api_errors import ApiError, error_body, errors
from photochanger.runtime import load_runtime_settings
from slots import services
from slots.models import Slot, SlotTemplateMedia
from slots.views import ingest_url
from stats.selectors import SlotActivity, recent_jobs, slots_with_activity

# API names of model fields where the brief's payload names them differently.
_API_NAMES = {"settings_json": "settings"}


def get_slot(slot_id: str, slots: QuerySet[Slot] | None = None) -> Slot:
    slot = (slots if slots is not None else Slot.objects).filter(pk=slot_id).first()
    if slot is None:
        raise ApiError(404, "slot_not_found", f"no slot {slot_id!r}")
    return slot


class _SlotFields(serializers.Serializer):
    id = serializers.CharField()
    display_name = serializers.CharField()
    provider = serializers.CharField()
    operation = serializers.CharField()
    is_active = serializers.BooleanField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class SlotSummary(_SlotFields):
    ingest_url = serializers.URLField()
    last_job_at = serializers.DateTimeField(allow_null=True)
    last_job_status = serializers.CharField(allow_null=True)
    in_flight = serializers.IntegerField()


class TemplateMediaOut(serializers.Serializer):
    id = serializers.UUIDField(source="media_id")
    role = serializers.CharField()
    position = serializers.IntegerField()
    mime = serializers.CharField(source="media.mime")
    size_bytes = serializers.IntegerField(source="media.size_bytes")
    url = serializers.SerializerMethodField()

    def get_url(self, link: SlotTemplateMedia) -> str:
        return reverse("api-template-media", args=[link.media_id])


class RecentResult(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.CharField()
    source = serializers.CharField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    failure_reason = serializers.CharField()
    result_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    def get_result_url(self, job: JobHistory) -> str | None:
        return reverse("public-result", args=[job.job_id]) if job.result_is_live() else None

    def get_preview_url(self, job: JobHistory) -> str | None:
        return reverse("public-preview", args=[job.job_id]) if job.result_is_live() else None


class SlotDetail(_SlotFields):
    """Expects the slot's template media prefetched, and `config` (RuntimeSettings) in context."""

    updated_by = serializers.CharField(source="updated_by.username", allow_null=True)
    settings = serializers.JSONField(source="settings_json")
    size_limit_mb = serializers.IntegerField(allow_null=True)
    sync_response_seconds = serializers.IntegerField(allow_null=True)
    effective_size_limit_mb = serializers.SerializerMethodField()
    effective_sync_response_seconds = serializers.SerializerMethodField()
    output_format = serializers.CharField()
    ingest_url = serializers.SerializerMethodField()
    template_media = TemplateMediaOut(many=True, source="template_media.all")
    recent_results = serializers.SerializerMethodField()

    def get_effective_size_limit_mb(self, slot: Slot) -> int:
        return slot.size_limit_mb or self.context["config"].max_upload_mb

    def get_effective_sync_response_seconds(self, slot: Slot) -> int:
        return slot.sync_response_seconds or self.context["config"].sync_response_seconds

    def get_ingest_url(self, slot: Slot) -> str:
        return ingest_url(self.context["request"], slot.pk)

    @extend_schema_field(RecentResult(many=True))
    def get_recent_results(self, slot: Slot) -> list:
        return RecentResult(recent_jobs(slot_id=slot.pk), many=True).data


class TemplateLinkIn(serializers.Serializer):
    media_object_id = serializers.UUIDField()
    media_kind = serializers.ChoiceField(SlotTemplateMedia.Role.choices)


class SlotUpdate(serializers.Serializer):
    """Fields left out keep their value; `version` is the one the change was made to."""

    version = serializers.IntegerField(min_value=1)
    display_name = serializers.CharField(max_length=100, required=False)
    provider = serializers.ChoiceField(Slot.Provider.choices, required=False)
    operation = serializers.CharField(max_length=64, required=False)
    is_active = serializers.BooleanField(required=False)
    size_limit_mb = serializers.IntegerField(allow_null=True, required=False)
    sync_response_seconds = serializers.IntegerField(allow_null=True, required=False)
    output_format = serializers.ChoiceField(Slot.OutputFormat.choices, required=False)
    settings = serializers.DictField(source="settings_json", required=False)
    template_media = TemplateLinkIn(many=True, required=False)


class CleanupReport(serializers.Serializer):
    files = serializers.IntegerField()
    bytes = serializers.IntegerField()
    seconds = serializers.FloatField()


def slot_summary(request: Request, slot: Slot, activity: SlotActivity) -> dict:
    return {
        "id": slot.pk,
        "display_name": slot.display_name,
        "provider": slot.provider,
        "operation": slot.operation,
        "is_active": slot.is_active,
        "version": slot.version,
        "updated_at": slot.updated_at,
        "ingest_url": ingest_url(request, slot.pk),
        "last_job_at": activity.last_job_at,
        "last_job_status": activity.last_status,
        "in_flight": activity.in_flight,
    }


def slot_detail(request: Request, slot_id: str) -> dict:
    slot = get_slot(
        slot_id,
        Slot.objects.select_related("updated_by").prefetch_related(
            Prefetch("template_media", SlotTemplateMedia.objects.select_related("media"))
        ),
    )
    context = {"request": request, "config": load_runtime_settings()}
    return SlotDetail(slot, context=context).data


class SlotListView(APIView):
    @extend_schema(responses=SlotSummary(many=True))
    def get(self, request: Request) -> Response:
        summaries = [slot_summary(request, *row) for row in slots_with_activity()]
        return Response(SlotSummary(summaries, many=True).data)


class SlotDetailView(APIView):
    @extend_schema(responses={200: SlotDetail, **errors(404)})
    def get(self, request: Request, slot_id: str) -> Response:
        return Response(slot_detail(request, slot_id))

    @extend_schema(request=SlotUpdate, responses={200: SlotDetail, **errors(400, 404, 409)})
    def put(self, request: Request, slot_id: str) -> Response:
        slot = get_slot(slot_id)
        update = SlotUpdate(data=request.data)
        update.is_valid(raise_exception=True)
        changes = dict(update.validated_data)
        version = changes.pop("version")
        links = changes.pop("template_media", None)
        if links is not None:
            links = [services.TemplateLink(x["media_object_id"], x["media_kind"]) for x in links]
        try:
            services.update_slot(
                slot=slot,
                expected_version=version,
                changes=changes,
                template_media=links,
                user=request.user,
            )
        except ValidationError as error:
            raise ValidationError(
                {_API_NAMES.get(k, k): v for k, v in error.message_dict.items()}
            ) from error
        except services.StaleSlotVersion as stale:
            body = error_body(
                "version_conflict",
                "the slot was changed by someone else; reload it and apply your change again",
                current_version=stale.current_version,
            )
            return Response(body, status=409)
        return Response(slot_detail(request, slot_id))


class SlotCleanupView(APIView):
    @extend_schema(request=None, responses={200: CleanupReport, **errors(404)})
    def post(self, request: Request, slot_id: str) -> Response:
        report = cleanup_media(slot_id=get_slot(slot_id).pk)
        return Response(CleanupReport(report).data)
