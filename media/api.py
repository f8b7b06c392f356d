"""Staff API for stored media as a whole, and the upload helpers other apps' APIs share."""

from collections.abc import Iterator
from contextlib import contextmanager

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError
from core.runtime import load_runtime_settings
from media import images
from media.cleanup import cleanup_media
from media.services import StorageUnavailable
from media.uploads import UploadTooLarge, check_upload_size


class CleanupReport(serializers.Serializer):
    files = serializers.IntegerField()
    bytes = serializers.IntegerField()
    seconds = serializers.FloatField()


def valid_upload(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The parsed form, with its file read once it is known to be within the upload limit."""
    form = serializer_class(data=request.data)
    form.is_valid(raise_exception=True)
    upload = form.validated_data["file"]
    try:
        check_upload_size(size_bytes=upload.size, limit_mb=load_runtime_settings().max_upload_mb)
    except UploadTooLarge as error:
        raise ApiError(413, "payload_too_large", str(error)) from error
    return {**form.validated_data, "file": upload.read()}


@contextmanager
def image_errors() -> Iterator[None]:
    """Refuse bad images as ingest does: 415 for other formats, 400 for broken ones; 503 when
    the image cannot be stored now."""
    try:
        yield
    except images.UnsupportedImage as error:
        raise ApiError(415, "unsupported_media_type", str(error)) from error
    except images.InvalidImage as error:
        raise ApiError(400, "invalid_image", str(error)) from error
    except StorageUnavailable as error:
        raise ApiError(503, "storage_unavailable", "the media storage is unavailable") from error


class MediaCleanupView(APIView):
    """The settings page's «Очистить мультимедиа кеш»: expired files of every slot."""

    @extend_schema(request=None, responses=CleanupReport)
    def post(self, request: Request) -> Response:
        return Response(CleanupReport(cleanup_media()).data)
