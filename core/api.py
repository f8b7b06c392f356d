"""The staff login of scripts: credentials in, a JWT pair out; and its refresh."""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
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


@extend_schema_view(
    post=extend_schema(
        description="A refresh token → a new access token.",
        responses={200: TokenRefreshSerializer, **errors(400, 401)},
        auth=[],
    )
)
class RefreshView(TokenRefreshView):
    """simplejwt's refresh, with its refusals in the contract."""
