"""Why an upload was refused or failed: the `failure_reason` codes and their statuses (§3)."""

import uuid

from django.http import JsonResponse

from core.errors import error_response

STATUS_FOR_REASON = {
    "slot_not_found": 404,
    "slot_inactive": 404,
    "payload_too_large": 413,
    "request_timeout": 408,
    "missing_field": 400,
    "bad_request": 400,
    "invalid_password": 401,
    "throttled": 429,
    "password_check_busy": 503,
    "unsupported_media_type": 415,
    "invalid_image": 400,
    "hash_mismatch": 400,
    "idempotency_key_reused": 422,
    "slot_busy": 429,
    "provider_busy": 429,
    "provider_unconfigured": 503,
    "provider_5xx": 503,
    "quota": 503,
    "network": 503,
    "safety_blocked": 502,
    "bad_response": 502,
    "timeout": 504,
    "internal_error": 500,
}


class IngestError(Exception):
    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        job_id: uuid.UUID | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason
        self.job_id = job_id
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return STATUS_FOR_REASON[self.reason]

    def response(self) -> JsonResponse:
        """The JSON answer: with the job's id once a job exists, Retry-After when it helps."""
        headers, extra = {}, {}
        if self.job_id:
            headers["X-Job-Id"] = extra["job_id"] = str(self.job_id)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return error_response(self.status, self.reason, self.detail, headers=headers, **extra)
