import pytest
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/ingest/jobhistory/"


def test_history_lists_jobs_with_their_duration(admin_client):
    JobFactory(status=JobHistory.Status.DONE, duration_ms=1500)

    response = admin_client.get(LIST)

    assert response.status_code == 200
    assert "1,5 с" in response.text or "1.5 с" in response.text


@pytest.mark.parametrize(
    "query",
    [
        {"status__exact": "failed"},
        {"source__exact": "ui_test"},
        {"slot__id__exact": "slot-002"},
        {"started_at__year": timezone.now().year},
    ],
)
def test_history_filters(admin_client, query):
    JobFactory(status=JobHistory.Status.FAILED, source=JobHistory.Source.UI_TEST)

    assert admin_client.get(LIST, query).status_code == 200


def test_history_is_searched_by_job_id(admin_client):
    wanted, _ = JobFactory(), JobFactory()

    found = admin_client.get(LIST, {"q": str(wanted.job_id)}).context["cl"].result_list

    assert list(found) == [wanted]
    assert admin_client.get(LIST, {"q": "not-a-uuid"}).status_code == 200


def test_history_is_read_only(admin_client):
    job = JobFactory()

    assert admin_client.get(f"{LIST}{job.pk}/change/").status_code == 200
    response = admin_client.post(f"{LIST}{job.pk}/change/", {"status": "done"})
    assert response.status_code == 403
    assert admin_client.get(f"{LIST}add/").status_code == 403
