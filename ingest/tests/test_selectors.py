from datetime import timedelta

import pytest
from django.utils import timezone

from core.tests.fixtures import subquery_steps
from ingest.models import JobHistory
from ingest.selectors import slots_with_activity
from ingest.tests.factories import JobFactory
from slots.models import Slot
from slots.tests.factories import SlotFactory

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


def test_activity_shows_latest_job_and_only_live_running_jobs(django_assert_num_queries):
    finished(minutes_ago=10, status=Status.FAILED, reason="quota")
    job(minutes_ago=0)  # running, deadline ahead
    job(minutes_ago=30, deadline_at=timezone.now() - timedelta(minutes=29))  # worker gone
    SlotFactory(id="slot-003", is_active=False)

    with django_assert_num_queries(2):  # the slots with their activity, their templates
        activity = dict((slot.pk, act) for slot, act in slots_with_activity())

    assert activity["slot-001"].in_flight == 1
    assert activity["slot-001"].last_status == Status.PROCESSING
    assert activity["slot-002"].in_flight == 0
    assert activity["slot-002"].last_job_at is None


def test_activity_marks_a_slot_failing_when_its_latest_job_failed():
    finished(minutes_ago=10)
    finished(minutes_ago=1, status=Status.TIMEOUT, reason="timeout")

    activity = dict((slot.pk, act) for slot, act in slots_with_activity())

    assert activity["slot-001"].failing()
    assert not activity["slot-002"].failing()


def test_each_slots_latest_jobs_are_read_by_slot_not_through_every_slots_jobs(
    sqlite_query_plans,
):
    plans = sqlite_query_plans(slots_with_activity)

    per_slot = subquery_steps(plans)
    assert len(per_slot) == 8
    for step in per_slot:  # by job_status_started_idx, an idle slot's walked every slot's jobs
        assert "slot_id=?" in step, step
