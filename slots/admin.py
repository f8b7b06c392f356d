from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from media.models import MediaObject
from providers.registry import provider_choices
from slots import services
from slots.models import Slot, SlotTemplateMedia


class SlotTemplateMediaInline(admin.TabularInline):
    model = SlotTemplateMedia
    fields = ("media", "role", "position")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "media":
            kwargs["queryset"] = MediaObject.objects.live().filter(kind=MediaObject.Kind.TEMPLATE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SlotAdminForm(forms.ModelForm):
    # The version the page was loaded at: saving over a newer one would undo someone's change.
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
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


@admin.register(Slot)
class SlotAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    form = SlotAdminForm
    # A link per slot to its entries in the journal of changes.
    show_auditlog_history_link = True
    list_display = ("id", "display_name", "provider", "operation", "is_active", "version")
    list_filter = ("provider", "is_active")
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
