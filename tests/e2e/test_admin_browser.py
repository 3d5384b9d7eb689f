"""The admin in a real browser under its Content-Security-Policy: every page works, nothing is blocked."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from chat.models import Feedback, GapGroup
from tests.servers import AppServer

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make system-deps)"),
]
PASSWORD = "a-long-test-pass"
# Records what the Content-Security-Policy blocks, on every page.
VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def admin_page(knowledge):
    get_user_model().objects.create_superuser(username="curator", email="", password=PASSWORD)
    feedback = Feedback.objects.create(answer_id="a" * 32, rating="down", question="Who built Hubble?")
    feedback.documents.add(knowledge["Telescopes"])
    GapGroup.objects.create(
        label="What is the boiling point of mercury?",
        centroid=[0.1] * 384,
        first_seen="2026-12-01T10:00Z",
        last_seen="2026-12-01T10:00Z",
    )
    from playwright.sync_api import sync_playwright

    with AppServer(database=connection.settings_dict["NAME"]).running() as server:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context()
            context.add_init_script(VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.server_url = server.url
            page.console_errors = errors
            yield page
            browser.close()


def visit(page, path: str):
    response = page.goto(page.server_url + path)
    assert response.status == 200, path
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.evaluate("window.__violations") == [], path
    return response


def test_admin_pages_work_under_their_content_security_policy(admin_page, knowledge):
    page = admin_page
    page.goto(page.server_url + "/admin/login/?next=/admin/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert page.locator("#coverage-panel").is_visible()  # the content-loop panel
    # The widget's tag with this server's address, ready to copy.
    assert (
        page.locator("#embed-tag").inner_text()
        == f'<script src="{page.server_url}/static/chat/widget.js" defer></script>'
    )
    assert page.evaluate("window.__violations") == []

    visit(page, "/admin/knowledge/sourcedocument/")
    badge = page.locator(".status-badge").first
    assert badge.evaluate("el => getComputedStyle(el).color") == "rgb(46, 125, 50)"  # styled from admin.css
    # The admin's own scripts run: "select all" ticks every row and updates the action counter.
    page.click("#action-toggle")
    assert page.locator(".action-counter").inner_text().startswith("3 of 3")

    document = knowledge["Bridges"]
    visit(page, f"/admin/knowledge/sourcedocument/{document.pk}/change/")
    summary = page.locator("summary", has_text="Chunks")
    summary.click()
    assert summary.evaluate("el => el.parentElement.open")  # the collapsed fieldset opens

    visit(page, "/admin/chat/gapgroup/")
    assert "boiling point of mercury" in page.content()
    visit(page, "/admin/chat/feedback/")
    assert page.locator(".rating-badge.rating-down").evaluate("el => getComputedStyle(el).color") == "rgb(198, 40, 40)"
    visit(page, "/admin/knowledge/sourcedocument/add/")
    assert page.evaluate("window.__violations") == []
    assert not [error for error in page.console_errors if "Content Security Policy" in error]
