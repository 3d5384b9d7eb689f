"""Settings and deployment checks, run as real subprocesses with production-like environments."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "chatbot_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="chat.example.org",
        DJANGO_HTTPS="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert result.stderr == ""  # no start-up banner of an app on every command


def test_debug_is_off_unless_asked_for():
    result = manage("shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)")
    assert "DEBUG False" in result.stdout, result.stderr
    result = manage("shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)", DJANGO_DEBUG="1")
    assert "DEBUG True" in result.stdout, result.stderr


def test_sqlite_is_refused_with_a_clear_message():
    result = manage("check", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "SQLite is not supported" in result.stderr


def test_embedded_postgres_outlives_the_process_that_used_it():
    script = "from django.db import connection; connection.ensure_connection(); print('connected')"
    result = manage("shell", "-c", script)
    assert "connected" in result.stdout, result.stderr
    status = manage("embedded_postgres", "status")
    assert status.stdout.strip() == "running", status.stderr


def test_cors_is_closed_by_default(client, db):
    response = client.options(
        "/api/chat/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}


def test_cors_allow_list(client, db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://book.example"]
    allowed = client.options(
        "/api/chat/", HTTP_ORIGIN="https://book.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://book.example"
    other = client.options("/api/chat/", HTTP_ORIGIN="https://other.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.django_db
def test_admin_keeps_csrf(client):
    from django.contrib.auth import get_user_model
    from django.test import Client

    get_user_model().objects.create_superuser(username="boss", email="", password="a-long-test-pass")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/admin/login/", {"username": "boss", "password": "a-long-test-pass"})
    assert response.status_code == 403


def test_cors_origins_are_read_as_browsers_send_them():
    script = (
        "from django.conf import settings; from django.test import Client; "
        "r = Client(SERVER_NAME='localhost').options('/api/chat/', HTTP_ORIGIN='https://book.example.org', "
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD='POST'); "
        "print(settings.CORS_ALLOWED_ORIGINS); print('allowed:', r.headers.get('Access-Control-Allow-Origin'))"
    )
    origins = "https://Book.Example.org/, http://localhost:3000, https://docs.example.org:443"
    result = manage("shell", "-c", script, CORS_ALLOWED_ORIGINS=origins)
    assert "['https://book.example.org', 'http://localhost:3000', 'https://docs.example.org']" in result.stdout, (
        result.stderr
    )
    assert "allowed: https://book.example.org" in result.stdout
    # What is not an origin alone stays as written, and django-cors-headers' check names it.
    result = manage("check", CORS_ALLOWED_ORIGINS="https://book.example.org/docs/")
    assert result.returncode != 0 and "corsheaders.E014" in result.stderr
    # An entry that is no URL at all does not stop the settings from loading.
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)",
        CORS_ALLOWED_ORIGINS="http://[::1, https://Book.example.org",
    )
    assert "['http://[::1', 'https://book.example.org']" in result.stdout, result.stderr
