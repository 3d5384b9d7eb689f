"""Admin logins: wrong passwords lock out the account and the address (django-axes), whatever headers say."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-long-test-pass"


@pytest.fixture
def curator():
    return get_user_model().objects.create_superuser(username="curator", email="", password=PASSWORD)


def attempt(username: str, password: str, *, address: str = "203.0.113.7", **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, client


def test_the_right_password_logs_in(curator):
    response, client = attempt("curator", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_passwords_lock_out_the_account_even_from_new_addresses(curator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response, _ = attempt("curator", f"guess-{n}", address=f"198.51.100.{n + 1}")
        assert response.status_code == 200  # the form again, with Django's message
    response, _ = attempt("curator", "guess-last", address="198.51.100.99")
    assert response.status_code == 429  # the attempt that reaches the limit is refused
    response, _ = attempt("curator", PASSWORD, address="192.0.2.200")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_wrong_passwords_lock_out_the_address_for_every_account(curator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"someone-{n}", "guess")
    response, _ = attempt("curator", PASSWORD)
    assert response.status_code == 429
    response, _ = attempt("curator", PASSWORD, address="192.0.2.201")  # the account itself is not locked
    assert response.status_code == 302


def test_forged_forwarded_for_headers_do_not_rotate_the_address(curator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"someone-{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response, _ = attempt("curator", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_a_successful_login_resets_the_count(curator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("curator", "guess")
    assert attempt("curator", PASSWORD)[0].status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("curator", "guess")
    assert attempt("curator", PASSWORD)[0].status_code == 302


def test_lockouts_are_listed_in_the_admin(staff_client, settings):  # staff_client is "curator"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("curator", "guess")
    page = staff_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "curator" in page and "203.0.113.7" in page
