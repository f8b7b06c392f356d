"""The staff API over slots with their work, and over the processing settings."""

import re

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import journal
from core.api_errors import errors
from core.errors import error_body
from core.journal_api import JournalEntry, JournalQuery, journal_page
from core.models import RuntimeSetting
from core.runtime import HASH_CHECK_MODES, StaleSettings, load_runtime_settings
from ingest import configuration
from ingest.models import JobHistory
from ingest.pages import gallery_url, ingest_url
from ingest.selectors import recent_jobs
from ingest.status import SlotStatus, describe, slot_statuses, status_of
from media.api import CleanupReport
from media.cleanup import cleanup_media
from slots import services
from slots.api import get_slot
from slots.models import Slot, SlotTemplateMedia

# API names of model fields where the brief's payload names them differently.
_API_NAMES = {"settings_json": "settings"}


class _SlotFields(serializers.Serializer):
    id = serializers.CharField()
    display_name = serializers.CharField()
    provider = serializers.CharField()
    operation = serializers.CharField()
    is_active = serializers.BooleanField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class SlotSummary(_SlotFields):
    provider_label = serializers.CharField()
    ingest_url = serializers.URLField()
    last_job_at = serializers.DateTimeField(allow_null=True)
    last_job_status = serializers.CharField(allow_null=True)
    last_error = serializers.CharField(help_text="The latest job's failure, in Russian.")
    last_result_preview_url = serializers.CharField(allow_null=True)
    last_result_at = serializers.DateTimeField(
        allow_null=True, help_text="When the result `last_result_preview_url` shows was made."
    )
    in_flight = serializers.IntegerField()
    wrong_passwords_last_hour = serializers.IntegerField(
        help_text="Uploads to this slot refused for a wrong ingest password in the last hour."
    )
    status = serializers.ChoiceField(["ready", "not_ready", "switched_off", "failing"])
    status_label = serializers.CharField()
    status_reasons = serializers.ListField(child=serializers.CharField())


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
    # A field named like Field.source: SerializerMetaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    failure_reason = serializers.CharField()
    result_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    def get_result_url(self, job: JobHistory) -> str | None:
        return reverse("public-result", args=[job.job_id]) if job.result_is_live() else None

    def get_preview_url(self, job: JobHistory) -> str | None:
        return reverse("public-preview", args=[job.job_id]) if job.result_is_live() else None


class ProviderConfigField(serializers.Serializer):
    """One fallback of the chain; checked against the provider registry with the slot."""

    provider = serializers.CharField(max_length=16)
    operation = serializers.CharField(max_length=64)
    settings = serializers.DictField(default=dict)


class ChainLinkStatus(serializers.Serializer):
    provider = serializers.CharField()
    operation = serializers.CharField()
    ready = serializers.BooleanField()
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="What keeps this link from working, in Russian."
    )


class SlotState(serializers.Serializer):
    """The slot's state as the dashboard shows it, and each link of its chain."""

    status = serializers.ChoiceField(["ready", "not_ready", "switched_off", "failing"])
    status_label = serializers.CharField()
    status_reasons = serializers.ListField(child=serializers.CharField())
    chain_status = ChainLinkStatus(many=True, help_text="The slot's own provider first.")


class SlotDetail(_SlotFields):
    """A slot's configuration, its state as the dashboard shows it, and its recent results."""

    # Expects the slot's template media prefetched, and in context `request`, `config`
    # (RuntimeSettings) and `state` (ingest.status.describe of the slot's status).

    updated_by = serializers.CharField(source="updated_by.username", allow_null=True)
    settings = serializers.JSONField(source="settings_json")
    size_limit_mb = serializers.IntegerField(allow_null=True)
    sync_response_seconds = serializers.IntegerField(allow_null=True)
    effective_size_limit_mb = serializers.SerializerMethodField()
    effective_sync_response_seconds = serializers.SerializerMethodField()
    output_format = serializers.CharField()
    output_profile = serializers.JSONField()
    qr_corner = serializers.CharField()
    qr_caption = serializers.BooleanField()
    fallbacks = ProviderConfigField(many=True)
    last_resort = serializers.CharField()
    gallery_visibility = serializers.CharField()
    gallery_url = serializers.SerializerMethodField()
    ingest_url = serializers.SerializerMethodField()
    template_media = TemplateMediaOut(many=True, source="template_media.all")
    recent_results = serializers.SerializerMethodField()

    def get_effective_size_limit_mb(self, slot: Slot) -> int:
        return slot.upload_limit_mb(self.context["config"])

    def get_effective_sync_response_seconds(self, slot: Slot) -> int:
        return slot.response_window_seconds(self.context["config"])

    def get_ingest_url(self, slot: Slot) -> str:
        return ingest_url(self.context["request"], slot.pk)

    def get_gallery_url(self, slot: Slot) -> str | None:
        return gallery_url(self.context["request"], slot)

    @extend_schema_field(RecentResult(many=True))
    def get_recent_results(self, slot: Slot) -> list:
        return list(RecentResult(recent_jobs(slot_id=slot.pk), many=True).data)

    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    status_reasons = serializers.SerializerMethodField()
    chain_status = serializers.SerializerMethodField()

    @extend_schema_field(SlotState().fields["status"])
    def get_status(self, slot: Slot) -> str:
        return self.context["state"]["status"]

    def get_status_label(self, slot: Slot) -> str:
        return self.context["state"]["status_label"]

    @extend_schema_field(SlotState().fields["status_reasons"])
    def get_status_reasons(self, slot: Slot) -> list:
        return self.context["state"]["status_reasons"]

    @extend_schema_field(ChainLinkStatus(many=True))
    def get_chain_status(self, slot: Slot) -> list:
        return self.context["state"]["chain_status"]


class TemplateLinkIn(serializers.Serializer):
    media_object_id = serializers.UUIDField()
    media_kind = serializers.ChoiceField(SlotTemplateMedia.Role.choices)


class SlotUpdate(serializers.Serializer):
    """Fields left out keep their value.

    `version` (or an `If-Match` header) is the version the change was made to: a stale one is
    refused with 409. Without either the write is unconditional, as in the brief's example.
    """

    version = serializers.IntegerField(min_value=1, required=False)
    display_name = serializers.CharField(max_length=100, required=False)
    # Checked against the provider registry with the rest of the slot (Slot.clean).
    provider = serializers.CharField(max_length=16, required=False)
    operation = serializers.CharField(max_length=64, required=False)
    is_active = serializers.BooleanField(required=False)
    size_limit_mb = serializers.IntegerField(allow_null=True, required=False)
    sync_response_seconds = serializers.IntegerField(allow_null=True, required=False)
    output_format = serializers.ChoiceField(Slot.OutputFormat.choices, required=False)
    settings = serializers.DictField(source="settings_json", required=False)
    output_profile = serializers.DictField(required=False)
    qr_corner = serializers.ChoiceField(Slot.QrCorner.choices, required=False)
    qr_caption = serializers.BooleanField(required=False)
    fallbacks = ProviderConfigField(many=True, required=False)
    last_resort = serializers.ChoiceField(Slot.LastResort.choices, required=False)
    gallery_visibility = serializers.ChoiceField(Slot.GalleryVisibility.choices, required=False)
    template_media = TemplateLinkIn(many=True, required=False)


def slot_summary(request: Request, slot: Slot, status: SlotStatus) -> dict:
    activity = status.activity
    preview = activity.last_result_job_id
    return {
        "id": slot.pk,
        "display_name": slot.display_name,
        "provider": slot.provider,
        "provider_label": slot.provider_label,
        "operation": slot.operation,
        "is_active": slot.is_active,
        "version": slot.version,
        "updated_at": slot.updated_at,
        "ingest_url": ingest_url(request, slot.pk),
        "last_job_at": activity.last_job_at,
        "last_job_status": activity.last_status,
        "last_error": status.last_error,
        "last_result_preview_url": reverse("public-preview", args=[preview]) if preview else None,
        "last_result_at": activity.last_result_at if preview else None,
        "in_flight": activity.in_flight,
        "wrong_passwords_last_hour": status.wrong_passwords,
        "status": status.state,
        "status_label": status.label,
        "status_reasons": list(status.reasons),
    }


def slot_detail(request: Request, slot_id: str) -> dict:
    slot = get_slot(
        slot_id,
        Slot.objects.select_related("updated_by").prefetch_related(
            Prefetch("template_media", SlotTemplateMedia.objects.select_related("media"))
        ),
    )
    config = load_runtime_settings()
    state = describe(status_of(slot, config))
    context = {"request": request, "config": config, "state": state}
    return SlotDetail(slot, context=context).data


class SlotListView(APIView):
    @extend_schema(responses=SlotSummary(many=True))
    def get(self, request: Request) -> Response:
        rows = slot_statuses(load_runtime_settings())
        summaries = [slot_summary(request, *row) for row in rows]
        return Response(SlotSummary(summaries, many=True).data)


_ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description="The slot's version, quoted: send it back as `If-Match`.",
)
_IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The version the change was made to (as the ETag gives it, quoted or not); "
    "an alternative to the body's `version`. A stale one is refused with 409.",
)
_SETTINGS_ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description="The settings' `version`, quoted: send it back as `If-Match`.",
)
_VERSION_IN_HEADER = re.compile(r'^(?:W/)?"?(?P<version>[1-9][0-9]{0,9})"?$')


def expected_version(request: Request, body_version: int | None) -> int | None:
    """The version a PUT was made to, from `If-Match` or the body; None for an unconditional one."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return body_version
    match = _VERSION_IN_HEADER.match(header)
    if match is None:
        raise ValidationError({"If-Match": 'must be a version the ETag gave, e.g. "3"'})
    version = int(match["version"])
    if body_version is not None and body_version != version:
        raise ValidationError({"version": "differs from the If-Match header"})
    return version


def _with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response


class SlotDetailView(APIView):
    @extend_schema(parameters=[_ETAG], responses={200: SlotDetail, **errors(404)})
    def get(self, request: Request, slot_id: str) -> Response:
        detail = slot_detail(request, slot_id)
        return _with_etag(Response(detail), detail["version"])

    @extend_schema(
        request=SlotUpdate,
        parameters=[_IF_MATCH, _ETAG],
        responses={200: SlotDetail, **errors(400, 404, 409)},
    )
    def put(self, request: Request, slot_id: str) -> Response:
        slot = get_slot(slot_id)
        update = SlotUpdate(data=request.data)
        update.is_valid(raise_exception=True)
        changes = dict(update.validated_data)
        version = expected_version(request, changes.pop("version", None))
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
            raise _api_names(error) from error
        except services.StaleSlotVersion as stale:
            body = error_body(
                "version_conflict",
                "the slot was changed by someone else; reload it and apply your change again",
                current_version=stale.current_version,
            )
            return Response(body, status=409)
        detail = slot_detail(request, slot_id)
        return _with_etag(Response(detail), detail["version"])


class SlotValidateView(APIView):
    """What the slot's state would be with this change, saving nothing: a page asks before it
    saves a live slot that would not be ready. Refuses what PUT refuses, with the same errors."""

    @extend_schema(request=SlotUpdate, responses={200: SlotState, **errors(400, 404)})
    def post(self, request: Request, slot_id: str) -> Response:
        slot = get_slot(slot_id)
        update = SlotUpdate(data=request.data)
        update.is_valid(raise_exception=True)
        changes = dict(update.validated_data)
        changes.pop("version", None)
        changes.pop("template_media", None)
        try:
            services.check_slot(slot=slot, changes=changes)
        except ValidationError as error:
            raise _api_names(error) from error
        status = status_of(slot, load_runtime_settings())
        return Response(SlotState(describe(status)).data)


def _api_names(error: ValidationError) -> ValidationError:
    return ValidationError({_API_NAMES.get(k, k): v for k, v in error.message_dict.items()})


class SlotCleanupView(APIView):
    @extend_schema(request=None, responses={200: CleanupReport, **errors(404)})
    def post(self, request: Request, slot_id: str) -> Response:
        report = cleanup_media(slot_id=get_slot(slot_id).pk)
        return Response(CleanupReport(report).data)


class GalleryLink(serializers.Serializer):
    gallery_url = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()


class GalleryTokenView(APIView):
    """A new gallery key for the slot: links with the old key stop working."""

    @extend_schema(request=None, responses={200: GalleryLink, **errors(404)})
    def post(self, request: Request, slot_id: str) -> Response:
        slot = services.rotate_gallery_token(slot=get_slot(slot_id), user=request.user)
        body = {"gallery_url": gallery_url(request, slot), "version": slot.version}
        return Response(GalleryLink(body).data)


class ProviderKeyState(serializers.Serializer):
    configured = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True)


class SettingsOut(serializers.Serializer):
    version = serializers.IntegerField(
        help_text="Grows with every change to any setting; send it back (or `If-Match`) with a "
        "PUT to have a save made to older settings refused with 409."
    )
    sync_response_seconds = serializers.IntegerField()
    result_ttl_hours = serializers.IntegerField()
    max_upload_mb = serializers.IntegerField()
    per_slot_concurrency = serializers.IntegerField()
    per_provider_concurrency = serializers.DictField(child=serializers.IntegerField())
    hash_check = serializers.CharField()
    gallery_size = serializers.IntegerField()
    ingest_password_configured = serializers.BooleanField()
    ingest_password_rotated_at = serializers.DateTimeField(allow_null=True)
    ingest_password_rotated_by = serializers.CharField(allow_null=True)
    provider_keys = serializers.DictField(child=ProviderKeyState())


class SettingsIn(serializers.Serializer):
    """Fields left out keep their value. Provider names and bounds are checked on save.

    `version` (or an `If-Match` header) is the settings' version the change was made to: when
    anyone changed a setting since, the save is refused with 409 `version_conflict`. Without
    either the write is unconditional.
    """

    version = serializers.IntegerField(min_value=0, required=False)
    sync_response_seconds = serializers.IntegerField(required=False)
    result_ttl_hours = serializers.IntegerField(required=False)
    max_upload_mb = serializers.IntegerField(required=False)
    per_slot_concurrency = serializers.IntegerField(required=False)
    per_provider_concurrency = serializers.DictField(
        child=serializers.IntegerField(), required=False
    )
    hash_check = serializers.ChoiceField(HASH_CHECK_MODES, required=False)
    gallery_size = serializers.IntegerField(required=False)
    ingest_password = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, max_length=128
    )
    # A new key per provider; an empty string removes the stored one.
    provider_keys = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=512),
        required=False,
        write_only=True,
    )


def _current_settings() -> Response:
    current = SettingsOut(configuration.describe_settings()).data
    return _with_etag(Response(current), current["version"])


class SettingsView(APIView):
    @extend_schema(parameters=[_SETTINGS_ETAG], responses=SettingsOut)
    def get(self, request: Request) -> Response:
        return _current_settings()

    @extend_schema(
        request=SettingsIn,
        parameters=[_IF_MATCH, _SETTINGS_ETAG],
        responses={200: SettingsOut, **errors(400, 409)},
    )
    def put(self, request: Request) -> Response:
        form = SettingsIn(data=request.data)
        form.is_valid(raise_exception=True)
        values = dict(form.validated_data)
        try:
            configuration.update_settings(
                expected_version=expected_version(request, values.pop("version", None)),
                ingest_password=values.pop("ingest_password", None),
                provider_keys=values.pop("provider_keys", None),
                values=values,
                user=request.user,
            )
        except StaleSettings as stale:
            body = error_body(
                "version_conflict",
                "the settings were changed by someone else; reload them and apply your change "
                "again",
                current_version=stale.current_version,
            )
            return Response(body, status=409)
        return _current_settings()


class SettingsHistoryView(APIView):
    """The journal of the runtime settings, ingest password and provider keys included
    (those only as set, changed or removed)."""

    @extend_schema(
        parameters=[JournalQuery], responses={200: JournalEntry(many=True), **errors(400)}
    )
    def get(self, request: Request) -> Response:
        return Response(journal_page(request, journal.entries_for_model(RuntimeSetting)))
