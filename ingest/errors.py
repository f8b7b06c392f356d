"""Why an upload was refused or failed: the `failure_reason` codes and their statuses (§3)."""

import uuid

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

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
    "database_unavailable": 503,
    # The media storage (disk or bucket) could not write or read the job's files.
    "storage_unavailable": 503,
    "internal_error": 500,
}


# One text per failure_reason, for staff: the pages, their toasts and the statistics.
FAILURE_TEXTS = {
    "slot_not_found": _("Такого слота нет"),
    "slot_inactive": _("Слот отключён"),
    "payload_too_large": _("Файл больше допустимого размера"),
    "missing_field": _("В запросе нет нужного поля (пароль, hash или файл)"),
    "bad_request": _("Запрос не в формате multipart/form-data"),
    "invalid_password": _("Неверный пароль ingest"),
    "throttled": _("Слишком много неверных паролей — подождите"),
    "unsupported_media_type": _("Файл не JPEG, PNG или WEBP"),
    "invalid_image": _("Файл повреждён или слишком большой по пикселям"),
    "hash_mismatch": _("Поле hash не совпадает с файлом"),
    "idempotency_key_reused": _("Ключ идемпотентности уже использован с другим фото"),
    "slot_busy": _("Слот занят: достигнут лимит одновременных задач"),
    "provider_busy": _("Провайдер занят: достигнут лимит одновременных задач"),
    "provider_unconfigured": _("Провайдер не настроен (ключ, модель, промпт или шаблон)"),
    "provider_5xx": _("Провайдер временно недоступен"),
    "quota": _("Исчерпана квота провайдера"),
    "network": _("Нет связи с провайдером"),
    "safety_blocked": _("Провайдер отказался обрабатывать фото (фильтр безопасности)"),
    "bad_response": _("Провайдер вернул ответ без изображения"),
    "timeout": _("Нет ответа за отведённое время"),
    "storage_unavailable": _("Хранилище файлов недоступно"),
    "database_unavailable": _("База данных недоступна"),
    "internal_error": _("Внутренняя ошибка сервера"),
}


def failure_text(reason: str) -> str:
    return str(FAILURE_TEXTS.get(reason, reason))


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
