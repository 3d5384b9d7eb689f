"""Web origins as browsers send them."""

import pytest

from chatbot_site.origins import browser_origin


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://book.example.org", "https://book.example.org"),
        ("HTTPS://Book.Example.ORG/", "https://book.example.org"),
        ("https://book.example.org:443/docs/intro#setup", "https://book.example.org"),
        ("http://localhost:3000/", "http://localhost:3000"),
        ("http://reader:secret@book.example.org:80", "http://book.example.org"),
        ("ftp://book.example.org", None),
        ("book.example.org", None),
        ("https://book.example.org:99999", None),
    ],
)
def test_the_origin_a_browser_sends(url, origin):
    assert browser_origin(url) == origin
