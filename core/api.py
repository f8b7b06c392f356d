"""The staff login of scripts: credentials in, a JWT pair out; and its refresh."""

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenRefreshView

from core import auth
from core.api_errors import ApiError, errors


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
    def post(self, request: Request) -> Response | HttpResponse:
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


class StaffTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token works only while its user is active staff with the same password.

    Tokens carry a digest of the password hash (simplejwt's CHECK_REVOKE_TOKEN): a password
    change anywhere (admin, create_staff_from_secrets) revokes every token issued before it,
    with no token table to keep or clean. simplejwt's own check covers access tokens only.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        token = self.token_class(attrs["refresh"])
        user_id = token.payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if (
            user is None
            or not auth.is_active_staff(user)
            or token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
        ):
            raise ApiError(401, "token_revoked", "this token was revoked; log in again")
        return super().validate(attrs)


@extend_schema_view(
    post=extend_schema(
        description="A refresh token → a new access token.",
        responses={200: TokenRefreshSerializer, **errors(400, 401)},
        auth=[],
    )
)
class RefreshView(TokenRefreshView):
    """simplejwt's refresh, with its refusals in the contract."""
