import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_names import Noun, RussianNamesAdmin
from media.models import MediaObject, MediaQuerySet
from media.services import delete_media


def thumbnail_of(media_id: uuid.UUID) -> MediaObject | None:
    """The stored image to show for a media row: a result's preview (a result can be 24 MP), else
    the image itself; None once the file is gone or when it is not an image."""
    media = MediaObject.objects.live().filter(pk=media_id, mime__startswith="image/").first()
    if media is None or media.kind != MediaObject.Kind.RESULT:
        return media
    previews = MediaObject.objects.live().filter(job_id=media.job_id, kind=MediaObject.Kind.PREVIEW)
    return previews.order_by("-created_at").first() or media


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
class MediaObjectAdmin(RussianNamesAdmin):
    noun = Noun("медиафайл", "медиафайла", "медиафайлов")
    list_display = (
        "thumbnail",
        "path",
        "kind",
        "slot_id",
        "size",
        "created_at",
        "expires_at",
        "cleaned_at",
    )
    list_display_links = ("path",)
    list_filter = ("kind", ExpiredFilter)
    search_fields = ("=id", "=job_id", "path")
    actions = ["delete_files_now"]

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_urls(self):
        file_view = self.admin_site.admin_view(self.file_view)
        urls = [path("<uuid:media_id>/file/", file_view, name="media_mediaobject_file")]
        return urls + super().get_urls()

    def file_view(self, request: HttpRequest, media_id: uuid.UUID) -> FileResponse:
        """The picture of a stored image for the admin's thumbnails (a result's own preview)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        media = thumbnail_of(media_id)
        if media is None:
            raise Http404
        response = FileResponse(default_storage.open(media.path, "rb"), content_type=media.mime)
        response["Cache-Control"] = "private, max-age=3600"
        return response

    @admin.display(description=_("превью"))
    def thumbnail(self, media: MediaObject) -> str:
        if media.cleaned_at or not media.mime.startswith("image/"):
            return "—"
        url = reverse("admin:media_mediaobject_file", args=[media.pk])
        alt = _("%(kind)s, слот %(slot)s") % {
            "kind": media.get_kind_display(),
            "slot": media.slot_id,
        }
        return format_html('<img class="admin-thumb" src="{}" alt="{}" loading="lazy">', url, alt)

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
    def delete_files_now(self, request: HttpRequest, queryset: MediaQuerySet) -> None:
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
