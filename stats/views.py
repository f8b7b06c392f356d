from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.auth import staff_page
from slots.models import Slot
from stats.selectors import SOURCES, WINDOW_CHOICES

WINDOW_LABELS = list(
    zip(
        WINDOW_CHOICES,
        [_("15 минут"), _("1 час"), _("3 часа"), _("6 часов"), _("24 часа"), _("7 дней")],
        strict=True,
    )
)


SOURCE_LABELS = list(zip(SOURCES, [_("Фотобудки"), _("Тестовые прогоны"), _("Все")], strict=True))


@staff_page
def stats_page(request: HttpRequest) -> HttpResponse:
    context = {
        "windows": WINDOW_LABELS,
        "sources": SOURCE_LABELS,
        "slots": Slot.objects.only("id", "display_name"),
    }
    return render(request, "stats/stats.html", context)
