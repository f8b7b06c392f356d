from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ingest.passwords import set_ingest_password
from photochanger.models import RuntimeSetting
from photochanger.runtime import SPECS, set_runtime_setting
from photochanger.services import validate_ingest_password

INGEST_PASSWORD_KEY = "ingest_password_hash"  # noqa: S105 (a setting name, not a secret)


class SettingForm(forms.ModelForm):
    value = forms.JSONField(label=_("значение"))

    class Meta:
        model = RuntimeSetting
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.value
        self.fields["value"].initial = (
            SPECS[self.instance.key].default() if stored is None else stored
        )

    def clean_value(self):
        try:
            return SPECS[self.instance.key].validate(self.cleaned_data["value"])
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error


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
class RuntimeSettingAdmin(admin.ModelAdmin):
    list_display = ("key", "shown_value", "version", "updated_at", "updated_by")
    readonly_fields = ("key", "version", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the keys are fixed by photochanger.runtime.SPECS

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SecretSettingForm if obj and SPECS[obj.key].secret else SettingForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj: RuntimeSetting, form, change: bool) -> None:
        value = form.cleaned_data["value"]
        if SPECS[obj.key].secret and not value:
            return
        if obj.key == INGEST_PASSWORD_KEY:
            set_ingest_password(raw=value, user=request.user)
        else:
            set_runtime_setting(key=obj.key, value=value, user=request.user)

    @admin.display(description=_("значение"))
    def shown_value(self, setting: RuntimeSetting) -> str:
        if SPECS[setting.key].secret:
            return _("задано") if setting.value else _("не задано")
        return _("по умолчанию") if setting.value is None else str(setting.value)
