from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from photochanger.auth import staff_page
from photochanger.runtime import SYNC_RESPONSE_BOUNDS
from photochanger.services import describe_settings
from slots.models import Slot
from stats.selectors import WINDOW_CHOICES

HASH_CHECK_LABELS = [
    ("warn", _("сверять и предупреждать")),
    ("enforce", _("отклонять несовпадение (400)")),
    ("off", _("не проверять")),
]

WINDOW_LABELS = list(
    zip(
        WINDOW_CHOICES,
        [_("15 минут"), _("1 час"), _("3 часа"), _("6 часов"), _("24 часа"), _("7 дней")],
        strict=True,
    )
)


class LoginPage(auth_views.LoginView):
    # The admin's form: it refuses accounts without staff rights, which no page would admit.
    authentication_form = AdminAuthenticationForm
    template_name = "registration/login.html"


@staff_page
def settings_page(request: HttpRequest) -> HttpResponse:
    context = {
        "current": describe_settings(),
        "sync_bounds": SYNC_RESPONSE_BOUNDS,
        "hash_modes": HASH_CHECK_LABELS,
    }
    return render(request, "photochanger/settings.html", context)


@staff_page
def stats_page(request: HttpRequest) -> HttpResponse:
    context = {"windows": WINDOW_LABELS, "slots": Slot.objects.only("id", "display_name")}
    return render(request, "photochanger/stats.html", context)
