"""The demo book: the project's own guide (docs/guide/*.md), rendered as readable pages with the chat widget."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt

from knowledge.loading import title_for
from knowledge.markdown import set_heading_ids, split_front_matter


@dataclass(frozen=True)
class BookPage:
    """One chapter: its file name (the URL's last part), title and rendered HTML."""

    name: str
    title: str
    html: str


def render_markdown(text: str) -> str:
    """HTML of a chapter, with the heading ids citation links point at (plain anchors, as ingestion makes)."""
    # html=False: any HTML in the Markdown is shown as text, never injected into the page.
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    _, body, _ = split_front_matter(text)
    tokens = md.parse(body)
    set_heading_ids(tokens, style="plain")
    return md.renderer.render(tokens, md.options, {})


def book_pages() -> list[BookPage]:
    """Every chapter, in file-name order."""
    return [_page(path, path.stat().st_mtime) for path in sorted(Path(settings.BOOK_DIR).glob("*.md"))]


@lru_cache(maxsize=64)
def _page(path: Path, mtime: float) -> BookPage:
    data = path.read_bytes()
    # The same title the knowledge base gives the chapter, so citations and pages agree.
    return BookPage(name=path.name, title=title_for(path, data), html=render_markdown(data.decode("utf-8")))


def book_page(name: str) -> BookPage | None:
    """The chapter with this file name, or None."""
    return next((page for page in book_pages() if page.name == name), None)
