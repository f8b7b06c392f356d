"""Staff API for images staff upload for slots: template images, and temporary test photos.

The views are sync DRF views, so Django runs them in a worker thread: decoding an upload here
never blocks the event loop.
"""

import uuid
from datetime import timedelta

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import journal
from core.api_errors import ApiError, errors
from core.journal_api import JournalEntry, JournalQuery, journal_page
from core.runtime import load_runtime_settings
from media.api import image_errors, valid_upload
from media.models import MediaObject
from media.output import OverlayRejected
from media.services import StorageUnavailable, open_file
from media.uploads import store_image
from slots import services
from slots.models import Slot, SlotTemplateMedia, could_be_slot_id


def get_slot(slot_id: str, slots: QuerySet[Slot] | None = None) -> Slot:
    slots = slots if slots is not None else Slot.objects.all()
    slot = slots.filter(pk=slot_id).first() if could_be_slot_id(slot_id) else None
    if slot is None:
        raise ApiError(404, "slot_not_found", f"no slot {slot_id!r}")
    return slot


class TemplateUpload(serializers.Serializer):
    slot_id = serializers.CharField()
    role = serializers.ChoiceField(SlotTemplateMedia.Role.choices, default="style")
    file = serializers.FileField()


class TemplateRegistered(serializers.Serializer):
    id = serializers.UUIDField()
    slot_id = serializers.CharField()
    role = serializers.CharField()
    position = serializers.IntegerField()
    mime = serializers.CharField()
    size_bytes = serializers.IntegerField()
    url = serializers.CharField()
    slot_version = serializers.IntegerField()


class TemplateRemoved(serializers.Serializer):
    id = serializers.UUIDField()
    slot_version = serializers.IntegerField()


def _template(media_id: str) -> MediaObject:
    try:
        media = MediaObject.objects.live().filter(pk=uuid.UUID(media_id)).first()
    except ValueError:
        media = None
    if media is None or media.kind != MediaObject.Kind.TEMPLATE:
        raise ApiError(404, "media_not_found", "no such template image")
    return media


class TemplateMediaRegisterView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": TemplateUpload},
        responses={201: TemplateRegistered, **errors(400, 404, 413, 415, 503)},
    )
    def post(self, request: Request) -> Response:
        form = valid_upload(TemplateUpload, request)
        slot = get_slot(form["slot_id"])
        with image_errors():
            try:
                link = services.add_template_media(
                    slot=slot, data=form["file"], role=form["role"], user=request.user
                )
            except OverlayRejected as refused:
                raise ApiError(400, "invalid_overlay", refused.message) from refused
        body = {
            "id": link.media.pk,
            "slot_id": slot.pk,
            "role": link.role,
            "position": link.position,
            "mime": link.media.mime,
            "size_bytes": link.media.size_bytes,
            "url": reverse("api-template-media", args=[link.media.pk]),
            "slot_version": slot.version,
        }
        return Response(TemplateRegistered(body).data, status=201)


class TemplateMediaView(APIView):
    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY, **errors(404, 503)})
    def get(self, request: Request, media_id: str) -> FileResponse:
        media = _template(media_id)
        try:
            handle = open_file(media.path)
        except StorageUnavailable as error:
            raise ApiError(503, "storage_unavailable", "media storage unavailable") from error
        response = FileResponse(handle, content_type=media.mime)
        response["Content-Length"] = str(media.size_bytes)  # a bucket's stream has no length
        response["Cache-Control"] = "private, max-age=3600"
        return response

    @extend_schema(responses={200: TemplateRemoved, **errors(404)})
    def delete(self, request: Request, media_id: str) -> Response:
        media = _template(media_id)
        slot = services.remove_template_media(media=media, user=request.user)
        return Response(TemplateRemoved({"id": media.pk, "slot_version": slot.version}).data)


class TemporaryUpload(serializers.Serializer):
    file = serializers.FileField()
    slot_id = serializers.CharField(required=False, default="")


class TemporaryRegistered(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    mime = serializers.CharField()
    size_bytes = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class MediaRegisterView(APIView):
    """A temporary upload (e.g. a test photo kept for a while); deleted by the TTL cleanup."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": TemporaryUpload},
        responses={201: TemporaryRegistered, **errors(400, 404, 413, 415, 503)},
    )
    def post(self, request: Request) -> Response:
        form = valid_upload(TemporaryUpload, request)
        slot_id = get_slot(form["slot_id"]).pk if form["slot_id"] else ""
        ttl = timedelta(hours=load_runtime_settings().result_ttl_hours)
        with image_errors():
            media = store_image(
                data=form["file"],
                folder=f"uploads/{slot_id or 'shared'}",
                kind=MediaObject.Kind.TEST_UPLOAD,
                slot_id=slot_id,
                expires_at=timezone.now() + ttl,
            )
        return Response(TemporaryRegistered(media).data, status=201)


class SlotHistoryView(APIView):
    """The slot's journal of changes: who changed which fields (templates included), when."""

    @extend_schema(
        parameters=[JournalQuery], responses={200: JournalEntry(many=True), **errors(400, 404)}
    )
    def get(self, request: Request, slot_id: str) -> Response:
        return Response(journal_page(request, journal.entries_for(get_slot(slot_id))))
