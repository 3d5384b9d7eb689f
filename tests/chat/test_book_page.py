"""The demo book's pages: rendered chapters with the anchors citations use, and their security headers."""

from django.test import Client
from django.urls import reverse


def test_chapter_pages_send_a_content_security_policy_and_safe_headers():
    response = Client().get(reverse("book-page", args=["02-getting-started.md"]))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_chapter_headings_carry_the_anchors_ingestion_links_to():
    html = Client().get(reverse("book-page", args=["02-getting-started.md"])).content.decode()
    assert 'id="add-a-document"' in html
