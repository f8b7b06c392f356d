import pytest

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
