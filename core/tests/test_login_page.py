import pytest

from core.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_logs_staff_in_and_goes_to_the_dashboard(client):
    StaffFactory(username="serg")

    response = client.post("/login/", {"username": "serg", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_page_refuses_accounts_without_staff_rights(client):
    UserFactory(username="visitor")

    response = client.post("/login/", {"username": "visitor", "password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors


def test_page_login_is_locked_after_ten_failures_even_with_the_right_password(client):
    StaffFactory(username="serg")
    for _ in range(10):
        client.post("/login/", {"username": "serg", "password": "wrong"})

    response = client.post("/login/", {"username": "serg", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "15 минут" in response.text


def test_admin_login_is_locked_too(client):
    StaffFactory(username="serg", is_superuser=True)
    for _ in range(10):
        client.post("/admin/login/", {"username": "serg", "password": "wrong"})

    assert (
        client.post("/admin/login/", {"username": "serg", "password": PASSWORD}).status_code == 429
    )


def test_logout_ends_the_session(staff_client):
    assert staff_client.post("/logout/").status_code == 302
    assert staff_client.get("/")["Location"].startswith("/login/")
