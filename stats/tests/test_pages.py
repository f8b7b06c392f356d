import pytest

pytestmark = pytest.mark.django_db


def test_stats_page_offers_the_window_choices(staff_client):
    response = staff_client.get("/stats/")

    assert response.status_code == 200
    assert [minutes for minutes, _ in response.context["windows"]][:2] == [15, 60]


def test_stats_page_filters_by_source_with_booth_traffic_first(staff_client):
    response = staff_client.get("/stats/")

    assert [value for value, _ in response.context["sources"]] == ["ingest", "ui_test", "all"]
    assert 'name="source"' in response.text
    assert "data-latest" in response.text
