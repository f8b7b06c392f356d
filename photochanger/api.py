from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from photochanger import auth, services
from photochanger.api_errors import ApiError, errors
from photochanger.runtime import HASH_CHECK_MODES


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenPair(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginView(APIView):
    """Staff credentials → a JWT pair. Throttled by django-axes like every other login."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=Credentials, responses={200: TokenPair, **errors(400, 401, 429)}, auth=[]
    )
    def post(self, request: Request) -> Response:
        credentials = Credentials(data=request.data)
        credentials.is_valid(raise_exception=True)
        # The plain HttpRequest, not DRF's wrapper: axes marks the lockout on it, and the
        # sync authenticate() is the path that honours that lockout.
        http_request = request._request
        user = authenticate(http_request, **credentials.validated_data)
        if getattr(http_request, "axes_locked_out", False):
            return auth.lockout_response(http_request)
        if user is None or not user.is_staff:
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        user_logged_in.send(sender=type(user), request=http_request, user=user)
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class ProviderKeyState(serializers.Serializer):
    configured = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ProviderLimits(serializers.Serializer):
    gemini = serializers.IntegerField(required=False)
    turbotext = serializers.IntegerField(required=False)
    local = serializers.IntegerField(required=False)


class SettingsOut(serializers.Serializer):
    sync_response_seconds = serializers.IntegerField()
    result_ttl_hours = serializers.IntegerField()
    max_upload_mb = serializers.IntegerField()
    per_slot_concurrency = serializers.IntegerField()
    per_provider_concurrency = ProviderLimits()
    hash_check = serializers.CharField()
    ingest_password_configured = serializers.BooleanField()
    ingest_password_rotated_at = serializers.DateTimeField(allow_null=True)
    ingest_password_rotated_by = serializers.CharField(allow_null=True)
    provider_keys = serializers.DictField(child=ProviderKeyState())


class ProviderKeysIn(serializers.Serializer):
    """A new key per provider; an empty string removes the stored one."""

    gemini = serializers.CharField(required=False, allow_blank=True, max_length=512)
    turbotext = serializers.CharField(required=False, allow_blank=True, max_length=512)


class SettingsIn(serializers.Serializer):
    """Fields left out keep their value. Bounds are checked by photochanger.runtime."""

    sync_response_seconds = serializers.IntegerField(required=False)
    result_ttl_hours = serializers.IntegerField(required=False)
    max_upload_mb = serializers.IntegerField(required=False)
    per_slot_concurrency = serializers.IntegerField(required=False)
    per_provider_concurrency = ProviderLimits(required=False)
    hash_check = serializers.ChoiceField(HASH_CHECK_MODES, required=False)
    ingest_password = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, max_length=128
    )
    provider_keys = ProviderKeysIn(required=False, write_only=True)


class SettingsView(APIView):
    @extend_schema(responses=SettingsOut)
    def get(self, request: Request) -> Response:
        return Response(SettingsOut(services.describe_settings()).data)

    @extend_schema(request=SettingsIn, responses={200: SettingsOut, **errors(400)})
    def put(self, request: Request) -> Response:
        form = SettingsIn(data=request.data)
        form.is_valid(raise_exception=True)
        values = dict(form.validated_data)
        services.update_settings(
            ingest_password=values.pop("ingest_password", None),
            provider_keys=values.pop("provider_keys", None),
            values=values,
            user=request.user,
        )
        return Response(SettingsOut(services.describe_settings()).data)
