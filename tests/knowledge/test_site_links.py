"""Every citation link of the fixture books opens a page their real generator built, at one of its headings.

tests/fixtures/<book>-book-site.json holds what Docusaurus and MkDocs Material built from each book (its pages and
their heading ids), recorded by `bench/site_links.py --record`, which builds them with the real generators. A
change to a book's headings or routes fails here until the build is recorded again.
"""

import json
from io import StringIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.core.management import call_command

from knowledge.models import Chunk

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _problems(*, links: set[str], pages: dict[str, list[str]], site_url: str) -> list[str]:
    problems = []
    for link in sorted(links):
        parts = urlsplit(link)
        path = unquote(parts.path).removeprefix(urlsplit(site_url).path).strip("/")
        if not link.startswith(site_url) or path not in pages:
            problems.append(f"{link}: no such page")
        elif parts.fragment and unquote(parts.fragment) not in pages[path]:
            problems.append(f"{link}: no such heading")
    return problems


@pytest.mark.parametrize(
    ("book", "site_url", "one_link"),
    [
        # A heading whose id an MDX comment names, {/* #main-loop ... */}.
        ("weather", "https://weather.example.org/", "docs/software/firmware#main-loop"),
        # A Material blog post, at the date route the blog plugin gives it.
        ("garden", "https://garden.example.org/", "blog/2024/07/14/our-first-harvest/"),
    ],
)
def test_every_citation_link_opens_a_built_page_at_one_of_its_headings(book, site_url, one_link):
    call_command("ingest", str(FIXTURES / f"{book}-book"), "--site-url", site_url, "--no-progress", stdout=StringIO())
    pages = json.loads((FIXTURES / f"{book}-book-site.json").read_text())["pages"]
    links = {
        f"{reference}#{anchor}" if anchor else reference
        for reference, anchor in Chunk.objects.values_list("document__reference", "anchor")
    }
    assert f"{site_url}{one_link}" in links
    assert _problems(links=links, pages=pages, site_url=site_url) == []
    # The check itself: a link to a heading its page lacks, or to a page never built, is caught.
    page = next(path for path, ids in pages.items() if ids)
    wrong = {f"{site_url}{page}#not-a-heading", f"{site_url}not/built"}
    assert set(_problems(links=wrong, pages=pages, site_url=site_url)) == {
        f"{site_url}not/built: no such page",
        f"{site_url}{page}#not-a-heading: no such heading",
    }
