"""The one time zone (settings.TIME_ZONE) that pages, the API and the statistics show times in.

Server pages format times with Django's `date` filter and the zone's name (`"d.m.Y H:i T"`:
20.11.2026 09:08 MSK); scripts get the zone from `time_zone` below and write the same text,
whatever zone the browser is in.
"""

from datetime import datetime, tzinfo
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

# Server pages write times this way; static/js/app.js (PC.formatTime) writes the same.
TIME_FORMAT = "d.m.Y H:i T"


def in_zone(moment: datetime | None) -> datetime | None:
    """The moment on the server's clock, so JSON writes it with the zone's offset (+03:00)."""
    return timezone.localtime(moment) if moment else None


def utc_offset(moment: datetime) -> str:
    """`+03:00` for an aware datetime, as ISO 8601 writes the offset."""
    raw = moment.strftime("%z") or "+0000"
    return f"{raw[:3]}:{raw[3:5]}"


def zone_names(zone: tzinfo, *, year: int | None = None) -> dict[str, str]:
    """The zone's names by UTC offset (winter and summer), as Django's "T" format shows them.

    Scripts look the name up by a time's offset, so a zone with summer time gets CET and CEST
    right; a zone without a name of its own is shown as "+05", as Django does.
    """
    year = year or timezone.now().year
    moments = [datetime(year, month, 1, 12, tzinfo=zone) for month in (1, 7)]
    # str() as Django's "T" writes it: a tzinfo may answer None, a zone never does.
    return {utc_offset(moment): str(moment.tzname()) for moment in moments}


def describe_zone() -> dict[str, Any]:
    zone = timezone.get_current_timezone()
    return {"name": getattr(zone, "key", str(zone)), "names": zone_names(zone)}


def time_zone(request: HttpRequest) -> dict[str, Any]:
    """Context processor: base.html hands the zone to the scripts (json_script "time-zone")."""
    return {"time_zone": describe_zone()}
