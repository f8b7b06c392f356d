from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from media.models import MediaObject
from media.services import delete_media


class ExpiredFilter(admin.SimpleListFilter):
    title = _("срок хранения")
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("истёк, файл ещё есть")),
            ("no", _("действует")),
            ("cleaned", _("файл удалён")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.expired(now)
        if self.value() == "no":
            return queryset.live().exclude(expires_at__lte=now)
        if self.value() == "cleaned":
            return queryset.filter(cleaned_at__isnull=False)
        return queryset


@admin.register(MediaObject)
class MediaObjectAdmin(admin.ModelAdmin):
    list_display = ("path", "kind", "slot_id", "size", "created_at", "expires_at", "cleaned_at")
    list_filter = ("kind", ExpiredFilter)
    search_fields = ("=id", "=job_id", "path")
    actions = ["delete_files_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # rows stay as the record of what was stored; the action deletes files

    @admin.display(description=_("размер"), ordering="size_bytes")
    def size(self, media: MediaObject) -> str:
        return filesizeformat(media.size_bytes)

    @admin.action(description=_("Удалить файлы сейчас"))
    def delete_files_now(self, request: HttpRequest, queryset: QuerySet[MediaObject]) -> None:
        # Templates belong to their slot: they are removed there, which also moves its version.
        live = list(queryset.live().exclude(kind=MediaObject.Kind.TEMPLATE))
        delete_media(live)
        message = _("Удалено файлов: %(files)d, освобождено %(size)s") % {
            "files": len(live),
            "size": filesizeformat(sum(media.size_bytes for media in live)),
        }
        self.message_user(request, message, messages.SUCCESS)
        if queryset.live().filter(kind=MediaObject.Kind.TEMPLATE).exists():
            self.message_user(
                request,
                _("Шаблоны удаляются на странице слота (раздел «Слоты»)."),
                messages.WARNING,
            )
