from datetime import timedelta

import pytest
from django.utils import timezone

from core.tests.fixtures import subquery_steps
from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from media.tests.factories import MediaObjectFactory
from slots.models import Slot
from stats.selectors import stats_overview

pytestmark = pytest.mark.django_db
Status = JobHistory.Status


def job(slot_id="slot-001", minutes_ago=5, **fields):
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return JobFactory(slot=Slot.objects.get(pk=slot_id), started_at=started, **fields)


def finished(slot_id="slot-001", minutes_ago=5, status=Status.DONE, reason=""):
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return job(
        slot_id,
        minutes_ago,
        status=status,
        failure_reason=reason,
        finished_at=started + timedelta(seconds=3),
    )


def slot_row(overview, slot_id):
    return next(row for row in overview["slots"] if row["slot_id"] == slot_id)


def test_overview_counts_outcomes_inside_the_window_only():
    finished()
    finished(status=Status.TIMEOUT, reason="timeout")
    finished(status=Status.FAILED, reason="quota")
    finished(status=Status.FAILED, reason="invalid_image")
    finished(minutes_ago=90)

    overview = stats_overview(window_minutes=60)

    assert overview["system"] | {"storage_usage_mb": None} == {
        "jobs_total": 5,
        "jobs_last_window": 4,
        "timeouts_last_window": 1,
        "provider_errors_last_window": 1,
        "failures_last_window": 2,
        "hash_mismatches_last_window": 0,
        "in_flight": 0,
        "error_share_last_window": 0.75,
        "storage_usage_mb": None,
    }
    row = slot_row(overview, "slot-001")
    assert row["jobs_last_window"] == 4
    assert row["timeouts_last_window"] == 1
    assert row["provider_errors_last_window"] == 1


def test_overview_lists_every_slot_even_without_jobs():
    overview = stats_overview(window_minutes=60)

    assert [row["slot_id"] for row in overview["slots"]] == [f"slot-{n:03d}" for n in range(1, 16)]
    assert slot_row(overview, "slot-002") | {"display_name": None} == {
        "slot_id": "slot-002",
        "display_name": None,
        "is_active": True,
        "jobs_last_window": 0,
        "timeouts_last_window": 0,
        "provider_errors_last_window": 0,
        "failures_last_window": 0,
        "error_share_last_window": None,
        "last_success_at": None,
        "last_error_reason": None,
    }


def test_overview_reports_the_latest_success_and_latest_error_of_each_slot():
    old_success = finished(minutes_ago=30)
    new_success = finished(minutes_ago=10)
    finished(minutes_ago=20, status=Status.FAILED, reason="network")
    finished(minutes_ago=5, status=Status.TIMEOUT, reason="timeout")

    row = slot_row(stats_overview(window_minutes=60), "slot-001")

    assert row["last_success_at"] == new_success.finished_at != old_success.finished_at
    assert row["last_error_reason"] == "timeout"


def test_overview_filtered_by_slot_counts_that_slot_only():
    finished("slot-001")
    finished("slot-002")
    finished("slot-002")

    overview = stats_overview(window_minutes=60, slot_id="slot-002")

    assert overview["system"]["jobs_last_window"] == 2
    assert [row["slot_id"] for row in overview["slots"]] == ["slot-002"]


def test_overview_sums_the_size_of_stored_media():
    MediaObjectFactory(content=b"x" * 1_048_576)
    MediaObjectFactory(content=b"x" * 1_048_576, cleaned_at=timezone.now())

    assert stats_overview(window_minutes=60)["system"]["storage_usage_mb"] == 1.0


def test_overview_takes_six_queries_however_many_jobs_and_slots(django_assert_num_queries):
    for number in range(1, 16):
        finished(f"slot-{number:03d}")
        finished(f"slot-{number:03d}", status=Status.FAILED, reason="quota")

    with django_assert_num_queries(6):
        stats_overview(window_minutes=1440)


def test_timeline_has_one_bucket_per_minute_with_empty_minutes_as_zero():
    finished(minutes_ago=2)
    finished(minutes_ago=2, status=Status.TIMEOUT, reason="timeout")
    finished(minutes_ago=7, status=Status.FAILED, reason="quota")

    timeline = stats_overview(window_minutes=15)["timeline"]

    assert len(timeline) in (15, 16)  # the current, partial minute may be its own bucket
    assert sum(b["jobs"] for b in timeline) == 3
    assert sum(b["timeouts"] for b in timeline) == 1
    assert sum(b["errors"] for b in timeline) == 1
    assert [b["start"] for b in timeline] == sorted(b["start"] for b in timeline)
    assert max(b["jobs"] for b in timeline) == 2


def test_timeline_of_a_week_counts_per_day():
    finished(minutes_ago=3 * 1440)
    timeline = stats_overview(window_minutes=10080)["timeline"]

    assert len(timeline) in (7, 8)
    assert timeline[1]["start"] - timeline[0]["start"] == timedelta(days=1)
    assert sum(b["jobs"] for b in timeline) == 1


def test_error_share_is_failures_and_timeouts_over_the_windows_jobs_per_slot_and_overall():
    for _ in range(3):
        finished()
    finished(status=Status.TIMEOUT, reason="timeout")
    finished("slot-002", status=Status.FAILED, reason="bad_response")

    overview = stats_overview(window_minutes=60)

    assert overview["system"]["error_share_last_window"] == 0.4
    assert slot_row(overview, "slot-001")["error_share_last_window"] == 0.25
    assert slot_row(overview, "slot-002")["error_share_last_window"] == 1.0
    assert slot_row(overview, "slot-003")["error_share_last_window"] is None


def test_test_runs_are_counted_apart_from_booth_traffic():
    finished()
    test_run = finished(status=Status.FAILED, reason="bad_response")
    JobHistory.objects.filter(pk=test_run.pk).update(source=JobHistory.Source.UI_TEST)

    booth = stats_overview(window_minutes=60)
    tests = stats_overview(window_minutes=60, source="ui_test")
    both = stats_overview(window_minutes=60, source="all")

    assert (booth["system"]["jobs_last_window"], booth["system"]["failures_last_window"]) == (1, 0)
    assert slot_row(booth, "slot-001")["last_error_reason"] is None
    assert (tests["system"]["jobs_last_window"], tests["system"]["failures_last_window"]) == (1, 1)
    assert slot_row(tests, "slot-001")["last_success_at"] is None
    assert both["system"]["jobs_last_window"] == 2


def test_latest_results_are_the_newest_live_results_with_their_links(staff_api):
    expired = finished(minutes_ago=10)
    JobHistory.objects.filter(pk=expired.pk).update(
        result_expires_at=timezone.now() - timedelta(minutes=1)
    )
    older, newer = finished(minutes_ago=8), finished("slot-002", minutes_ago=2)
    for done in (older, newer):
        JobHistory.objects.filter(pk=done.pk).update(
            result_expires_at=timezone.now() + timedelta(hours=1)
        )
    finished(status=Status.FAILED, reason="quota")

    body = staff_api.get("/api/stats/overview").json()

    assert [r["job_id"] for r in body["latest_results"]] == [str(newer.pk), str(older.pk)]
    first = body["latest_results"][0]
    assert first["slot_id"] == "slot-002"
    assert first["preview_url"] == f"/public/results/{newer.pk}/preview"
    assert first["result_url"] == f"/public/results/{newer.pk}"
    only_one = staff_api.get("/api/stats/overview?slot_id=slot-001").json()
    assert [r["job_id"] for r in only_one["latest_results"]] == [str(older.pk)]


def test_each_slots_last_outcomes_are_read_by_slot_not_through_every_slots_jobs(
    sqlite_query_plans,
):
    plans = sqlite_query_plans(lambda: stats_overview(window_minutes=60))

    per_slot = subquery_steps(plans)
    assert len(per_slot) == 2
    for step in per_slot:
        assert "slot_id=?" in step, step
