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


DEFAULT_FILTERS = {"window_minutes": "60", "slot_id": "", "source": SOURCES[0]}


@staff_page
def stats_page(request: HttpRequest) -> HttpResponse:
    slots = list(Slot.objects.only("id", "display_name"))
    context = {
        "windows": WINDOW_LABELS,
        "sources": SOURCE_LABELS,
        "slots": slots,
        "chosen": _chosen_filters(request, {slot.pk for slot in slots}),
        "defaults": DEFAULT_FILTERS,
    }
    return render(request, "stats/stats.html", context)


def _chosen_filters(request: HttpRequest, slot_ids: set[str]) -> dict[str, str]:
    """The filters in the address (a reload or a shared link keeps them); unknown ones ignored."""
    allowed = {
        "window_minutes": {str(minutes) for minutes in WINDOW_CHOICES},
        "slot_id": slot_ids,
        "source": set(SOURCES),
    }
    return {
        name: value if (value := request.GET.get(name, "")) in allowed[name] else default
        for name, default in DEFAULT_FILTERS.items()
    }
