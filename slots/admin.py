from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_names import Noun, RussianNamesAdmin, yes_no
from media.models import MediaObject
from providers.registry import DRIVERS, provider_choices
from slots import services
from slots.models import Slot, SlotTemplateMedia


class SlotTemplateMediaInline(admin.TabularInline):
    model = SlotTemplateMedia
    fields = ("thumbnail", "media", "role", "position")
    readonly_fields = ("thumbnail",)
    extra = 0

    @admin.display(description=_("изображение"))
    def thumbnail(self, link: SlotTemplateMedia) -> str:
        if not link.media_id:
            return "—"
        url = reverse("admin:media_mediaobject_file", args=[link.media_id])
        alt = _("Шаблон: %s") % link.get_role_display()
        return format_html('<img class="admin-thumb" src="{}" alt="{}" loading="lazy">', url, alt)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "media":
            kwargs["queryset"] = MediaObject.objects.live().filter(kind=MediaObject.Kind.TEMPLATE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SlotAdminForm(forms.ModelForm):
    # The version the page was loaded at: saving over a newer one would undo someone's change.
    expected_version = forms.IntegerField(
        label=_("версия, с которой начата правка"), widget=forms.HiddenInput
    )
    provider = forms.ChoiceField(label=_("провайдер"), choices=provider_choices)

    class Meta:
        model = Slot
        fields = services.EDITABLE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def clean_expected_version(self) -> int:
        version = self.cleaned_data["expected_version"]
        if not Slot.objects.filter(pk=self.instance.pk, version=version).exists():
            raise forms.ValidationError(
                _("Слот уже изменил кто-то другой. Обновите страницу и внесите правку заново.")
            )
        return version


class ProviderFilter(admin.SimpleListFilter):
    title = _("провайдер")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return provider_choices()

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


@admin.register(Slot)
class SlotAdmin(AuditlogHistoryAdminMixin, RussianNamesAdmin):
    noun = Noun("слот", "слота", "слотов")
    form = SlotAdminForm
    # A link per slot to its entries in the journal of changes.
    show_auditlog_history_link = True
    list_display = ("id", "display_name", "provider_name", "operation_name", "active", "version")
    list_filter = (ProviderFilter, "is_active")
    search_fields = ("id", "display_name")
    readonly_fields = ("id", "version", "updated_at", "updated_by")
    inlines = [SlotTemplateMediaInline]
    actions = ["activate", "deactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the 15 slots come from a migration and are only re-configured

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_formset(self, request, form, formset, change: bool) -> None:
        """Template changes go through the slot service: a new version, journaled; removed
        images' files are deleted."""
        links = formset.save(commit=False)
        for link in formset.deleted_objects:
            services.remove_template_media(media=link.media, user=request.user)
        if links:
            services.save_template_links(slot=form.instance, links=links, user=request.user)

    def save_model(self, request, obj: Slot, form: SlotAdminForm, change: bool) -> None:
        # Saved through the service so the version moves on even when only templates change.
        # Templates are saved after the slot here (inlines): whether the chain has the ones it
        # needs shows as the slot's readiness instead of refusing the save.
        services.update_slot(
            slot=obj,
            expected_version=form.cleaned_data["expected_version"],
            changes={},
            user=request.user,
            check_templates=False,
        )

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description=_("активен"), ordering="is_active")
    def active(self, slot: Slot) -> str:
        return yes_no(slot.is_active)

    @admin.display(description=_("провайдер"), ordering="provider")
    def provider_name(self, slot: Slot) -> str:
        return slot.provider_label

    @admin.display(description=_("операция"), ordering="operation")
    def operation_name(self, slot: Slot) -> str:
        driver = DRIVERS.get(slot.provider)
        operation = driver.operations.get(slot.operation) if driver else None
        return str(operation.label) if operation else slot.operation

    @admin.action(description=_("Включить выбранные слоты"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Slot]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description=_("Отключить выбранные слоты"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Slot]) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Slot], *, active: bool) -> None:
        count = services.set_slots_active(
            slot_ids=list(queryset.values_list("pk", flat=True)), active=active, user=request.user
        )
        self.message_user(
            request, _("Изменено слотов: %(count)d") % {"count": count}, messages.SUCCESS
        )
