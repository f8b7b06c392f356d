"""One time zone for every page and answer: the server's (TIME_ZONE, Moscow by default), shown
with its name on pages and with its offset in JSON, whatever zone the reader is in."""

import os
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from core.runtime import set_runtime_setting
from core.timezones import describe_zone, zone_names
from ingest.models import JobHistory
from ingest.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")


def job_at(moment: datetime, **fields) -> JobHistory:
    return JobFactory(
        started_at=moment,
        finished_at=moment + timedelta(seconds=9),
        status=JobHistory.Status.DONE,
        result_expires_at=timezone.now() + timedelta(hours=1),
        **fields,
    )


def recent_utc(hour_minute=(6, 8)) -> datetime:
    """Today's 06:08 UTC, or yesterday's when that is still ahead (so it is in every window)."""
    now = timezone.now()
    moment = now.replace(hour=hour_minute[0], minute=hour_minute[1], second=0, microsecond=0)
    return moment if moment < now else moment - timedelta(days=1)


@pytest.mark.skipif("TIME_ZONE" in os.environ, reason="the environment chose its own zone")
def test_the_zone_is_moscow_unless_the_environment_says_otherwise(settings):
    assert settings.TIME_ZONE == "Europe/Moscow"


def test_zone_names_follow_summer_time_as_djangos_t_format_does():
    assert zone_names(ZoneInfo("Europe/Berlin"), year=2026) == {"+01:00": "CET", "+02:00": "CEST"}
    assert zone_names(MOSCOW, year=2026) == {"+03:00": "MSK"}
    assert zone_names(ZoneInfo("UTC"), year=2026) == {"+00:00": "UTC"}


def test_pages_hand_their_scripts_the_servers_zone(staff_client):
    page = staff_client.get("/stats/").text

    assert describe_zone() == {"name": "Europe/Moscow", "names": {"+03:00": "MSK"}}
    assert '<script id="time-zone" type="application/json">' in page
    assert '"name": "Europe/Moscow"' in page


def test_the_dashboard_shows_times_on_the_servers_clock_with_the_zone_name(staff_client):
    moment = recent_utc()
    job_at(moment)
    shown = moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M MSK")  # 06:08 UTC is 09:08 MSK

    page = staff_client.get("/").text

    assert shown in page
    assert moment.strftime("%d.%m.%Y %H:%M") + " " not in page.replace(shown, "")


def test_the_settings_page_shows_when_a_key_changed_with_the_zone_name(staff_client):
    set_runtime_setting(key="gemini_api_key", value="AIza-secret")

    page = staff_client.get("/settings/").text

    assert re.search(r"Задан · \d\d\.\d\d\.\d{4} \d\d:\d\d MSK", page)


def test_json_answers_carry_the_zones_offset(staff_api, client):
    moment = recent_utc()
    job = job_at(moment)
    iso = moment.astimezone(MOSCOW).isoformat()  # 2026-…T09:08:00+03:00

    slots = staff_api.get("/api/slots").json()
    status = client.get(f"/api/jobs/{job.job_id}").json()
    overview = staff_api.get("/api/stats/overview", {"window_minutes": 1440}).json()

    assert slots[0]["last_job_at"] == iso
    assert status["started_at"] == iso
    assert status["result_expires_at"].endswith("+03:00")
    assert overview["latest_results"][0]["finished_at"].endswith("+03:00")
    assert all(bucket["start"].endswith("+03:00") for bucket in overview["timeline"])


def test_the_stats_chart_counts_by_the_servers_hours(staff_api, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30: its hours start at half past in UTC
    moment = datetime.now(UTC).replace(minute=35, second=0, microsecond=0) - timedelta(hours=2)
    job_at(moment)

    timeline = staff_api.get("/api/stats/overview", {"window_minutes": 1440}).json()["timeline"]

    busy = [bucket for bucket in timeline if bucket["jobs"]]
    assert len(busy) == 1
    start = datetime.fromisoformat(busy[0]["start"])
    assert busy[0]["start"].endswith("+05:30") and start.minute == 0
    assert start <= moment < start + timedelta(hours=1)


def test_the_admin_shows_times_with_the_zone_name(admin_client):
    job_at(recent_utc())  # 06:08 UTC

    page = admin_client.get("/admin/ingest/jobhistory/").content.decode()

    assert "9:08 MSK" in page
