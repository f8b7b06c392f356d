from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.models import RuntimeSetting
from core.runtime import INGEST_PASSWORD_KEY, provider_of_api_key, spec_for
from ingest import configuration
from ingest.models import JobHistory, WrongPasswordCount
from ingest.passwords import validate_ingest_password


@admin.register(JobHistory)
class JobHistoryAdmin(admin.ModelAdmin):
    """History is written by the pipeline only: staff read it here, never edit it."""

    list_display = (
        "job_id",
        "slot",
        "source",
        "status",
        "provider",
        "started_at",
        "duration",
        "failure_reason",
    )
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

    @admin.display(description=_("длительность"), ordering="duration_ms")
    def duration(self, job: JobHistory) -> str:
        if job.duration_ms is None:
            return "—"
        return _("%(seconds).1f с") % {"seconds": job.duration_ms / 1000}


@admin.register(WrongPasswordCount)
class WrongPasswordCountAdmin(admin.ModelAdmin):
    """Wrong ingest passwords per slot and minute, counted by the ingest endpoint: read only."""

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
            spec_for(self.instance.key).default() if stored is None else stored
        )

    def clean_value(self):
        key, value = self.instance.key, self.cleaned_data["value"]
        try:
            value = spec_for(key).validate(value)
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
class RuntimeSettingAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    # A link per setting to its entries in the journal of changes (secrets: only set/changed).
    show_auditlog_history_link = True
    list_display = ("key", "shown_value", "version", "updated_at", "updated_by")
    readonly_fields = ("key", "version", "updated_at", "updated_by")

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

    @admin.display(description=_("значение"))
    def shown_value(self, setting: RuntimeSetting) -> str:
        if _is_secret(setting.key):
            return _("задано") if setting.value else _("не задано")
        return _("по умолчанию") if setting.value is None else str(setting.value)


def _is_secret(key: str) -> bool:
    spec = spec_for(key)
    return spec is None or spec.secret
