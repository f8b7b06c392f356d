from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import dateformat
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from core.admin_names import Noun, RussianNamesAdmin
from core.models import RuntimeSetting
from core.runtime import INGEST_PASSWORD_KEY, Spec, provider_of_api_key, spec_for
from core.timezones import TIME_FORMAT
from ingest import configuration
from ingest.errors import failure_text
from ingest.models import JobHistory, WrongPasswordCount
from ingest.passwords import validate_ingest_password
from providers.registry import DRIVERS


@admin.register(JobHistory)
class JobHistoryAdmin(RussianNamesAdmin):
    """History is written by the pipeline only: staff read it here, never edit it."""

    noun = Noun("задачу", "задачи", "задач")
    list_display = (
        "job_id",
        "thumbnail",
        "slot",
        "source",
        "status",
        "provider_name",
        "started_at",
        "duration",
        "failure",
    )
    # Codes are shown as staff read them: the failure in Russian, the provider by its label.
    fields = (
        "job_id",
        "result",
        "slot",
        "slot_version",
        "source",
        "status",
        "failure",
        "provider_name",
        "fallback",
        "started_at",
        "deadline_at",
        "finished_at",
        "duration",
        "result_expires_at",
        "public_code",
        "hash_check",
        "input_sha256",
        "idempotency_key",
        "attempts",
        "warnings",
        "metadata",
        "result_path",
        "result_mime",
    )
    readonly_fields = ("result", "failure", "provider_name", "duration")
    list_filter = ("status", "source", "slot", "started_at")
    list_select_related = ("slot",)
    search_fields = ("=job_id",)
    search_help_text = _("Полный идентификатор задачи (UUID).")
    date_hierarchy = "started_at"
    show_full_result_count = False  # an exact count of a long history is a slow full scan

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description=_("длительность"), ordering="duration_ms")
    def duration(self, job: JobHistory) -> str:
        if job.duration_ms is None:
            return "—"
        return _("%(seconds).1f с") % {"seconds": job.duration_ms / 1000}

    @admin.display(description=_("причина ошибки"), ordering="failure_reason")
    def failure(self, job: JobHistory) -> str:
        return failure_text(job.failure_reason) if job.failure_reason else "—"

    @admin.display(description=_("провайдер"), ordering="provider")
    def provider_name(self, job: JobHistory) -> str:
        driver = DRIVERS.get(job.provider)
        return str(driver.label) if driver else job.provider or "—"

    @admin.display(description=_("превью"))
    def thumbnail(self, job: JobHistory) -> str:
        return self._picture(job, "admin-thumb") if job.result_is_live() else "—"

    @admin.display(description=_("результат"))
    def result(self, job: JobHistory) -> str | Promise:
        if not job.result_is_live():
            return _("нет: задача без результата или срок хранения истёк")
        link = reverse("public-result", args=[job.job_id])
        picture = self._picture(job, "admin-preview")
        return format_html('{}<a href="{}">{}</a>', picture, link, _("Скачать файл"))

    def _picture(self, job: JobHistory, css_class: str) -> str:
        url = reverse("public-preview", args=[job.job_id])
        alt = _("Результат задачи от %s") % dateformat.format(
            localtime(job.started_at), TIME_FORMAT
        )
        return format_html('<img class="{}" src="{}" alt="{}" loading="lazy">', css_class, url, alt)


@admin.register(WrongPasswordCount)
class WrongPasswordCountAdmin(RussianNamesAdmin):
    """Wrong ingest passwords per slot and minute, counted by the ingest endpoint: read only."""

    noun = Noun(
        "счётчик неверных паролей", "счётчика неверных паролей", "счётчиков неверных паролей"
    )
    list_display = ("minute", "slot", "count")
    list_filter = ("slot", "minute")
    date_hierarchy = "minute"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SettingForm(forms.ModelForm):
    value = forms.JSONField(label=_("значение"))

    class Meta:
        model = RuntimeSetting
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.value
        self.fields["value"].initial = (
            _edited_spec(self.instance.key).default() if stored is None else stored
        )

    def clean_value(self):
        key, value = self.instance.key, self.cleaned_data["value"]
        try:
            value = _edited_spec(key).validate(value)
            if key == "per_provider_concurrency":
                value = configuration.checked_limits(value)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return value


class SecretSettingForm(forms.ModelForm):
    """Secrets are write-only: the stored value is never put back into the page."""

    value = forms.CharField(
        label=_("новое значение"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Сохранённое значение не показывается. Пустое поле ничего не меняет."),
    )

    class Meta:
        model = RuntimeSetting
        fields = ()

    def clean_value(self) -> str:
        value = self.cleaned_data["value"]
        if value and self.instance.key == INGEST_PASSWORD_KEY:
            validate_ingest_password(value)
        return value


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(AuditlogHistoryAdminMixin, RussianNamesAdmin):
    noun = Noun("параметр", "параметра", "параметров")
    # A link per setting to its entries in the journal of changes (secrets: only set/changed).
    show_auditlog_history_link = True
    list_display = ("name", "key", "shown_value", "version", "updated_at", "updated_by")
    list_display_links = ("name", "key")
    readonly_fields = ("name", "key", "version", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the keys are fixed by core.runtime

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SecretSettingForm if obj and _is_secret(obj.key) else SettingForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj: RuntimeSetting, form, change: bool) -> None:
        key, value = obj.key, form.cleaned_data["value"]
        if _is_secret(key) and not value:
            return
        provider = provider_of_api_key(key)
        configuration.update_settings(
            values={} if _is_secret(key) else {key: value},
            ingest_password=value if key == INGEST_PASSWORD_KEY else None,
            provider_keys={provider: value} if provider else None,
            user=request.user,
        )

    @admin.display(description=_("параметр"), ordering="key")
    def name(self, setting: RuntimeSetting) -> str:
        return configuration.setting_label(setting.key)

    @admin.display(description=_("значение"))
    def shown_value(self, setting: RuntimeSetting) -> str | Promise:
        if _is_secret(setting.key):
            return _("задано") if setting.value else _("не задано")
        return _("по умолчанию") if setting.value is None else str(setting.value)


def _edited_spec(key: str) -> Spec:
    """The spec of a setting SettingForm edits: a key without one gets the secret form."""
    spec = spec_for(key)
    if spec is None:
        raise LookupError(f"no spec for the setting {key!r}")
    return spec


def _is_secret(key: str) -> bool:
    spec = spec_for(key)
    return spec is None or spec.secret
