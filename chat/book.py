"""The demo book: the project's own guide (docs/guide/*.md), rendered as readable pages with the chat widget."""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt

from knowledge.loading import title_for


@dataclass(frozen=True)
class BookPage:
    """One chapter: its file name (the URL's last part), title and rendered HTML."""

    name: str
    title: str
    html: str


def slugify(text: str) -> str:
    """A heading's anchor: lower case, runs of other characters as '-' (the widget computes the same)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _renderer() -> MarkdownIt:
    # html=False: any HTML in the Markdown is shown as text, never injected into the page.
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("id", slugify(tokens[idx + 1].content))
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("heading_open", heading_open)
    return md


def book_pages() -> list[BookPage]:
    """Every chapter, in file-name order."""
    return [_page(path, path.stat().st_mtime) for path in sorted(Path(settings.BOOK_DIR).glob("*.md"))]


@lru_cache(maxsize=64)
def _page(path: Path, mtime: float) -> BookPage:
    data = path.read_bytes()
    # The same title the knowledge base gives the chapter, so citations and pages agree.
    return BookPage(name=path.name, title=title_for(path, data), html=_renderer().render(data.decode("utf-8")))


def book_page(name: str) -> BookPage | None:
    """The chapter with this file name, or None."""
    return next((page for page in book_pages() if page.name == name), None)
