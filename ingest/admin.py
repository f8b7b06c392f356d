from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ingest.models import JobHistory


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
