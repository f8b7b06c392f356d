from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
URL = "/api/stats/overview"


def test_overview_answers_the_brief_shape(staff_api):
    JobFactory(status=JobHistory.Status.TIMEOUT, failure_reason="timeout")

    body = staff_api.get(URL, {"window_minutes": 30}).json()

    assert body["window_minutes"] == 30
    assert body["system"]["jobs_last_window"] == 1
    assert body["system"]["timeouts_last_window"] == 1
    assert len(body["slots"]) == 15
    assert body["slots"][0]["last_error_reason"] == "timeout"
    assert body["timeline"][0].keys() == {"start", "jobs", "timeouts", "errors"}


def test_overview_defaults_to_a_sixty_minute_window(staff_api):
    assert staff_api.get(URL).json()["window_minutes"] == 60


def test_overview_filters_by_slot(staff_api):
    body = staff_api.get(URL, {"slot_id": "slot-007"}).json()
    assert [row["slot_id"] for row in body["slots"]] == ["slot-007"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"window_minutes": 0}, "window_minutes"),
        ({"window_minutes": 10081}, "window_minutes"),
        ({"window_minutes": "hour"}, "window_minutes"),
        ({"slot_id": "slot-999"}, "slot_id"),
    ],
)
def test_overview_refuses_bad_filters_with_field_errors(staff_api, query, field):
    response = staff_api.get(URL, query)

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["failure_reason"] == "validation_error"
    assert field in body["errors"]


def test_overview_gives_each_slot_the_dashboards_state_and_its_failure_in_russian(staff_api):
    JobFactory(status="failed", failure_reason="quota")

    slots = {row["slot_id"]: row for row in staff_api.get(URL).json()["slots"]}

    assert slots["slot-001"]["last_error_reason"] == "quota"
    assert slots["slot-001"]["last_error_text"] == "Исчерпана квота провайдера"
    assert (slots["slot-001"]["status"], slots["slot-001"]["status_label"]) == ("failing", "Ошибки")
    assert (slots["slot-002"]["status"], slots["slot-002"]["last_error_text"]) == ("ready", None)


def test_overview_counts_wrong_ingest_passwords_within_the_window(staff_api, monkeypatch):
    asked = []

    def counts(since):
        asked.append(since)
        return {"slot-002": 4, "slot-005": 1}

    monkeypatch.setattr("stats.selectors.wrong_password_counts", counts)

    everything = staff_api.get(URL, {"window_minutes": 15}).json()
    one = staff_api.get(URL, {"window_minutes": 15, "slot_id": "slot-002"}).json()

    assert everything["system"]["wrong_passwords_last_window"] == 5
    assert one["system"]["wrong_passwords_last_window"] == 4
    assert one["slots"][0]["wrong_passwords_last_window"] == 4
    assert timezone.now() - asked[0] == pytest.approx(
        timedelta(minutes=15), abs=timedelta(minutes=1)
    )
