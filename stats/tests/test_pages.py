import pytest

pytestmark = pytest.mark.django_db


def test_stats_page_offers_the_window_choices(staff_client):
    response = staff_client.get("/stats/")

    assert response.status_code == 200
    assert [minutes for minutes, _ in response.context["windows"]][:2] == [15, 60]
