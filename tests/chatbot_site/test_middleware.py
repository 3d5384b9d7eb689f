"""Requests refused before any view runs: NUL characters that PostgreSQL cannot store or compare, bodies over
the limit of their path."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_nul_in_an_api_query_string_is_a_json_400(client):
    response = client.post(reverse("chat-session-list") + "?stream=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"


def test_nul_in_an_openai_compatible_query_string_is_an_openai_error(client):
    response = client.get("/v1/models?x=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_nul_in_an_admin_form_is_refused_before_it_reaches_the_database(staff_client):
    add = reverse("admin:knowledge_sourcedocument_add")
    response = staff_client.post(add, {"title": "Bad\x00title", "text": "# Hello", "url_style": "plain"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    from knowledge.models import SourceDocument

    assert not SourceDocument.objects.exists()


def test_an_api_address_without_its_trailing_slash_is_served_not_redirected(client):
    response = client.post("/api/chat/sessions", content_type="application/json")
    assert response.status_code == 201 and response.json()["session_id"]
    assert client.get("/api/nothing-here").status_code == 404  # no address with a slash either: still a 404


def test_a_host_not_allowed_is_a_json_400_under_the_api_and_a_page_elsewhere(client):
    response = client.post("/api/chat/sessions/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_host"
    response = client.get("/v1/models", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_host"
    response = client.get("/admin/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def test_admin_pages_carry_a_content_security_policy(client, staff_client):
    for response in (client.get("/admin/login/"), staff_client.get("/admin/")):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"]


def test_an_admin_upload_over_the_server_limit_is_refused_before_it_is_read(staff_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from knowledge.models import SourceDocument

    settings.SERVER_MAX_BODY_BYTES = 5000
    archive = SimpleUploadedFile("book.zip", b"PK" + b"\0" * 10_000, content_type="application/zip")
    response = staff_client.post(reverse("admin:knowledge_sourcedocument_import_book"), {"archive": archive})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert "the most this server accepts (SERVER_MAX_BODY_BYTES)" in response.content.decode()
    assert not SourceDocument.objects.exists()
    small = SimpleUploadedFile("notes.md", b"# Notes\n\nThe heron waits.\n", content_type="text/markdown")
    add = reverse("admin:knowledge_sourcedocument_add")
    assert staff_client.post(add, {"title": "", "text": "", "upload": small, "url_style": "plain"}).status_code == 302
