"""The admin site's name, and the other apps' admins named in Russian like PhotoChanger's own.

Their texts that have no Russian in the apps come from locale/ru; what the apps write in
English in code (object names, counts of changes, a column named after its method) is
written again here.
"""

from typing import Any

from auditlog.admin import LogEntryAdmin
from auditlog.filters import ResourceTypeFilter
from auditlog.models import LogEntry
from axes.admin import AccessAttemptAdmin
from axes.conf import settings as axes_settings
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, ManyToManyField
from django.forms import Field as FormField
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.admin_names import Noun, RussianNamesAdmin, yes_no
from core.models import RuntimeSetting
from core.views import StaffLoginForm
from ingest.configuration import setting_label

admin.site.site_header = _("PhotoChanger — администрирование")
admin.site.site_title = _("PhotoChanger — администрирование")
admin.site.index_title = _("Управление")
admin.site.login_form = StaffLoginForm

PERMISSION_ACTIONS = {
    "add": _("добавление"),
    "change": _("изменение"),
    "delete": _("удаление"),
    "view": _("просмотр"),
}


def permission_label(permission: Permission) -> str:
    """«Слоты | слоты | изменение» instead of the stored English «Can change slot»."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:
        return permission.name
    action = PERMISSION_ACTIONS.get(permission.codename.split("_", 1)[0], permission.name)
    app = model._meta.app_config.verbose_name
    return f"{capfirst(app)} | {capfirst(model._meta.verbose_name_plural)} | {action}"


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    """Permissions are stored with English names; the forms show them in Russian."""

    def label_from_instance(self, obj: Permission) -> str:
        return permission_label(obj)


class PermissionNames(admin.ModelAdmin):
    """An admin whose choices of permissions show them in Russian."""

    # This hook rather than formfield_for_manytomany, which GroupAdmin and ModelAdmin declare
    # with different signatures.
    def formfield_for_dbfield(
        self, db_field: "Field[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        if isinstance(db_field, ManyToManyField) and db_field.related_model is Permission:
            kwargs["form_class"] = PermissionChoiceField
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class StaffUserAdmin(PermissionNames, UserAdmin, RussianNamesAdmin):
    noun = Noun("пользователя", "пользователя", "пользователей", "выбранных пользователей")
    list_display = ("username", "email", "first_name", "last_name", "staff")

    @admin.display(description=_("статус персонала"), ordering="is_staff")
    def staff(self, user: User) -> str:
        return yes_no(user.is_staff)


class StaffGroupAdmin(PermissionNames, GroupAdmin, RussianNamesAdmin):
    noun = Noun("группу", "группы", "групп")


class ContentTypeFilter(ResourceTypeFilter):
    """The journal's filter by kind of object, named as the admin names them, not «slot»."""

    def lookups(self, request, model_admin):
        return [
            (content_type_id, capfirst(_model_name(content_type_id, model)))
            for content_type_id, model in super().lookups(request, model_admin)
        ]


def _model_name(content_type_id: int, model: str) -> str:
    model_class = ContentType.objects.get_for_id(content_type_id).model_class()
    return str(model_class._meta.verbose_name_plural) if model_class else model


class JournalAdmin(LogEntryAdmin, RussianNamesAdmin):
    noun = Noun("запись в журнале", "записи в журнале", "записей в журнале")
    list_filter = ["action", ContentTypeFilter, *LogEntryAdmin.list_filter[2:]]

    @admin.display(description=_("Что изменено"))
    def msg_short(self, entry: LogEntry) -> str:
        if entry.action in (LogEntry.Action.DELETE, LogEntry.Action.ACCESS):
            return ""
        fields = [_field_label(entry, name) for name in entry.changes_dict]
        return _("полей: %(count)d (%(fields)s)") % {
            "count": len(fields),
            "fields": ", ".join(fields),
        }

    @admin.display(description=_("Изменения"))
    def msg(self, entry: LogEntry) -> str | Promise:
        """Each changed field by the name staff know it by (a setting's, not its key)."""
        rows = [
            (_field_label(entry, name), *_old_and_new(change))
            for name, change in sorted(entry.changes_dict.items())
        ]
        if not rows:
            return _("Поля не менялись")
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th></tr>", _("Поле"), _("Было"), _("Стало")
        )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table>{}{}</table>", header, body)

    @admin.display(description=_("Кто"))
    def user_url(self, entry: LogEntry) -> str | Promise:
        return super().user_url(entry) if entry.actor else _("система")

    @admin.display(description=_("Идентификатор запроса"))
    def cid_url(self, entry: LogEntry) -> str:
        return super().cid_url(entry)


def _old_and_new(change) -> tuple[str, str]:
    if isinstance(change, list | tuple) and len(change) == 2:
        return str(change[0]), str(change[1])
    if isinstance(change, dict):  # a many-to-many change: {"operation", "objects"}
        return str(change.get("operation", "")), ", ".join(map(str, change.get("objects", [])))
    return "", str(change)


def _field_label(entry: LogEntry, name: str) -> str:
    model = entry.content_type.model_class()
    if model is RuntimeSetting:  # a setting's change is journaled under its key
        return setting_label(name)
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return name


class LoginAttemptAdmin(AccessAttemptAdmin, RussianNamesAdmin):
    """Where staff unlock a username or address early: deleting its attempts lifts the lockout."""

    noun = Noun(
        "попытку входа",
        "попытки входа",
        "попыток входа",
        selected="выбранные попытки входа",
        one="попытка входа",
    )

    @admin.display(description=_("состояние"))
    def status(self, attempt: AccessAttempt) -> str | Promise:
        left = axes_settings.AXES_FAILURE_LIMIT - attempt.failures_since_start
        return _("осталось попыток: %d") % left if left > 0 else _("заблокирован")

    @admin.display(description=_("истекает"))
    def expiration(self, attempt: AccessAttempt):
        return super().expiration(attempt)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        attempt = self.get_object(request, object_id) if object_id else None
        if attempt is not None:  # axes names it «Attempted Access: serg»
            subtitle = _("%(user)s с адреса %(ip)s") % {
                "user": attempt.username or "—",
                "ip": attempt.ip_address or "—",
            }
            extra_context = {"subtitle": subtitle, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra_context)


REPLACED = {
    User: StaffUserAdmin,
    Group: StaffGroupAdmin,
    LogEntry: JournalAdmin,
    AccessAttempt: LoginAttemptAdmin,
}
for model, model_admin in REPLACED.items():
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

# Never written here (AXES_DISABLE_ACCESS_LOG, no AXES_ENABLE_ACCESS_FAILURE_LOG): two empty
# lists in the admin would only suggest there is something to find.
for model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
