import json

import pytest
from django.test import RequestFactory

from photochanger.errors import server_error

pytestmark = pytest.mark.django_db


def test_unknown_page_is_the_russian_not_found_page(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Страница не найдена" in response.text
    assert 'href="/"' in response.text  # back to the slot dashboard
    assert "/static/css/site.css" in response.text


def test_not_found_page_shows_staff_their_menu(staff_client):
    response = staff_client.get("/no-such-page/")

    assert response.status_code == 404
    assert 'id="site-nav"' in response.text


def test_not_found_page_shows_visitors_no_staff_menu(client):
    assert 'id="site-nav"' not in client.get("/public/slots/slot-404").text


@pytest.mark.parametrize("path", ["/api/nope", "/public/results/nope/extra"])
def test_machine_paths_answer_not_found_in_json(client, path):
    response = client.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_server_error_page_is_russian_html():
    response = server_error(RequestFactory().get("/slots/slot-001/"))

    assert response.status_code == 500
    assert "Что-то пошло не так" in response.content.decode()


def test_server_error_on_the_api_stays_json():
    response = server_error(RequestFactory().get("/api/slots"))

    assert response.status_code == 500
    assert json.loads(response.content)["failure_reason"] == "internal_error"
