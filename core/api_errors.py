"""The staff API (DRF) answers its errors in the shape of `core.errors`.

Validation errors add `errors`, field name → messages, so a form can show them next to fields.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import error_body

# DRF's own codes, renamed where the house vocabulary has a word for them.
_REASONS = {
    "invalid": "validation_error",
    "parse_error": "bad_request",
    "authentication_failed": "invalid_token",
    "permission_denied": "forbidden",
}


class ErrorBody(serializers.Serializer):
    """The error shape, for the OpenAPI schema."""

    status = serializers.CharField(default="error")
    failure_reason = serializers.CharField()
    detail = serializers.CharField()
    # A field named like Serializer.errors: this serializer only describes the schema.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


def errors(*statuses: int) -> dict[int, type[ErrorBody]]:
    """`responses` entries for extend_schema: these statuses answer with ErrorBody."""
    return dict.fromkeys(statuses, ErrorBody)


class ApiError(exceptions.APIException):
    """An expected refusal with its own status and failure_reason (e.g. 409 version_conflict)."""

    def __init__(self, status_code: int, failure_reason: str, detail: str):
        super().__init__(detail=detail, code=failure_reason)
        self.status_code = status_code


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_messages(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        reason = str(exc.get_codes())
    elif isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF"):
        # DRF's session check says so only in its message; a page then knows to reload.
        reason = "csrf_failed"
    else:
        code = getattr(exc, "default_code", "error")
        reason = _REASONS.get(code, code)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(reason, _first_message(fields), errors=fields)
    else:
        response.data = error_body(reason, _first_message(response.data))
    return response


def _django_messages(error: DjangoValidationError) -> dict | list:
    return error.message_dict if hasattr(error, "error_dict") else error.messages


def _first_message(data: Any) -> str:
    """A one-line `detail` for humans; the structured errors stay beside it."""
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        field, messages = next(iter(data.items()), ("", ""))
        return f"{field}: {_first_message(messages)}" if field else ""
    if isinstance(data, list):
        return _first_message(data[0]) if data else ""
    return str(data)
