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


def test_stats_page_keeps_the_filters_of_its_address(staff_client):
    response = staff_client.get("/stats/?window_minutes=1440&slot_id=slot-002&source=all")

    page = response.text
    assert response.context["chosen"] == {
        "window_minutes": "1440",
        "slot_id": "slot-002",
        "source": "all",
    }
    assert '<option value="1440" selected>' in page
    assert '<option value="slot-002" selected>' in page
    assert '<option value="all" selected>' in page


def test_stats_page_ignores_filters_it_does_not_know(staff_client):
    response = staff_client.get("/stats/?window_minutes=7&slot_id=slot-404&source=robots")

    assert response.context["chosen"] == {"window_minutes": "60", "slot_id": "", "source": "ingest"}
