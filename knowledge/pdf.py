"""PDF books read as a reader reads them: page by page, in the sections their outline (bookmarks) names, without
the running heads, page numbers and table-of-contents leaders printed on every page.

The text is Markdown: each outline entry is a heading where its title is printed on its page (or at the page's top),
pages are separated by a form feed, so that every passage knows its page and its citation opens the PDF there
(``#page=12``, which browsers' PDF viewers follow).
"""

import bisect
import io
import itertools
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haystack import Document, component
from haystack.components.converters.utils import get_bytestream_from_source, normalize_metadata
from haystack.dataclasses import ByteStream

from .markdown import fenced

logger = logging.getLogger(__name__)

PAGE_BREAK = "\f"
# Document meta that marks text as pages separated by PAGE_BREAK: its passages link to their page.
PAGED_META = "paged"
_LINES_AT_EACH_END = 2  # where running heads and page numbers are printed
_RUNNING_PAGES = 3  # a line at the top or bottom of this many pages is a running head or footer
_RUNNING_WORDS = 12  # and no longer than this: a running head is short
# A line shorter than this share of a full one, ending a sentence or an item, ends its paragraph: its text did not
# fill it (a long word carried to the next line leaves less); one shorter than half does, whatever it ends with.
_SHORT_LINE = 0.8
_HALF_LINE = 0.5
_SENTENCE_ENDS = (".", "!", "?", ":", '"', "”", ")")
_ROMAN = re.compile(r"^[ivxlcdm]+$")
_NUMBERED = re.compile(r"^#\s|\s#$")  # a running key with a page number at one end
# A table of contents' line: a title, dot leaders, a page number ("2.1 Naming . . . . . 3").
_LEADERS = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+\s*$", re.IGNORECASE)
# A word hyphenated at the end of a line ("man-", then "agement" on the next).
_HYPHENATED = re.compile(r"[a-z]-$")
# Monospaced fonts by name, where a font has no descriptor saying so (the standard Courier, subsets of others).
_MONOSPACED_NAME = re.compile(r"mono|courier|consol|menlo|typewriter|cmtt|inconsolata|code|fixed", re.IGNORECASE)
# Typographic ligatures as fonts print them (U+FB00-FB06: "ﬁeld"), spelt out ("field") so that the words are found;
# a soft hyphen is invisible where the line does not break.
_LIGATURES = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)} | {0xAD: None}
# What Markdown would read as markup in a PDF's printed text: emphasis, code, links, HTML, entities, escapes,
# strikethrough and table pipes anywhere; headings, quotes, bullets, setext underlines and breaks at a line's start
# (a numbered line, "1. Unplug the controller.", stays a numbered list's item, as printed).
_INLINE_MARKUP = re.compile(r"[\\`*_<&\[\]~|]")
_BLOCK_MARKUP = re.compile(r"^[#>+=-]")
# A list item as PDFs print one: a bullet glyph (or a dash) before its text.
_BULLET = re.compile(r"^[•◦▪▫‣●○■□–-]\s+")
# A section number before a title printed on the page ("2.1 " before the outline's "ASN.1 syntax").
# A number ("2.1", "3."), a lettered or Roman one ("A.2", "B.", "IV."), after "Chapter" or the like, or not.
_NUMBERING = re.compile(
    r"^(?:(?i:chapter|section|part|appendix)\s+)?(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.|[IVXLC]+\.)\s+"
)


# What exporters write as a PDF's title when it has none: the source file's name, "Untitled", "Microsoft Word - …".
_PLACEHOLDER_TITLE = re.compile(
    r"^$|^(?:untitled|title|document\d*)$|^microsoft \w+ - "
    r"|\.(?:pdf|docx?|odt|rtf|tex|dvi|ps|txt|md|html?|indd|pages|key|pptx?|xlsx?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PrintedLine:
    """A line as a page prints it, and whether it is code (all of it set in a monospaced font)."""

    text: str
    code: bool = False


@dataclass(frozen=True)
class OutlineEntry:
    """A bookmark: its title, the page it opens (0-based) and how deep it is nested."""

    title: str
    page: int
    depth: int


def page_numbers(text: str) -> Callable[[int], int]:
    """The 1-based page of an offset in paged text, as a function (the page breaks are found once)."""
    breaks = [match.start() for match in re.finditer(PAGE_BREAK, text)]
    return lambda offset: bisect.bisect_left(breaks, offset) + 1


def pdf_title(data: bytes) -> str:
    """The title a PDF's document information gives, unless it is a file's name or a placeholder ("" then)."""
    from pypdf import PdfReader  # noqa: PLC0415

    try:
        title = " ".join(str(PdfReader(io.BytesIO(data)).metadata.title or "").split())
    except Exception:  # noqa: BLE001 - no information dictionary, or a damaged one: no title
        return ""
    return "" if _PLACEHOLDER_TITLE.search(title) else title


def pdf_markdown(data: bytes) -> str:
    """A PDF's text as Markdown pages separated by PAGE_BREAK, its outline's entries as headings."""
    from pypdf import PdfReader  # noqa: PLC0415 - a heavy import, only where PDFs are read

    reader = PdfReader(io.BytesIO(data))
    pages = [_page_lines(page) for page in reader.pages]
    pages = _without_running_lines(pages)
    headings: dict[int, list[OutlineEntry]] = {}
    for entry in _outline(reader):
        if 0 <= entry.page < len(pages):
            headings.setdefault(entry.page, []).append(entry)
    full = _full_line(pages)
    texts = [_page_markdown(lines, headings.get(index, []), full=full) for index, lines in enumerate(pages)]
    return f"\n{PAGE_BREAK}\n".join(texts)


def _full_line(pages: list[list[PrintedLine]]) -> int:
    """How many characters a line of running text holds: the 90th percentile of the prose lines' lengths."""
    lengths = sorted(len(line.text) for lines in pages for line in lines if not line.code)
    return lengths[int(len(lengths) * 0.9)] if lengths else 0


def _page_lines(page: Any) -> list[PrintedLine]:
    """A page's printed lines (without contents leaders), each marked as code when a monospaced font sets it."""
    runs: list[tuple[str, bool]] = []

    def visit(text: str, _cm: Any, _tm: Any, font: Any, _size: Any) -> None:
        if text:
            runs.append((text, _monospaced(font)))

    try:
        returned = page.extract_text(visitor_text=visit) or ""
    except Exception as error:  # noqa: BLE001 - one unreadable page must not lose the others
        logger.info("a PDF page could not be read: %s", error)
        return []
    if returned.strip() and not "".join(text for text, _ in runs).strip():
        runs = [(returned, False)]  # text pypdf gave without showing it to the visitor: read as prose
    lines: list[PrintedLine] = []
    text, code, prose = "", 0, 0  # the line so far, and how many of its characters are set as code and as prose
    for run, monospaced in runs:
        for index, part in enumerate(run.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
            if index:
                lines.append(PrintedLine(text, code=code > 0 and prose == 0))
                text, code, prose = "", 0, 0
            text += part
            visible = len(part.strip())
            code, prose = (code + visible, prose) if monospaced else (code, prose + visible)
    lines.append(PrintedLine(text, code=code > 0 and prose == 0))
    printed: list[PrintedLine] = []
    for line in lines:
        if line.text.strip() and not _LEADERS.search(line.text):
            text = line.text.translate(_LIGATURES)
            # Code keeps its indentation, as far as the page's text has it.
            printed.append(PrintedLine(text.rstrip() if line.code else text.strip(), line.code))
    return _joined_hyphenations(printed)


def _monospaced(font: Any) -> bool:
    """Whether a font's glyphs are all one width (its descriptor says so, or its name: Courier, DejaVu Sans Mono)."""
    try:
        flags = int(font["/FontDescriptor"]["/Flags"]) if "/FontDescriptor" in font else 0
        name = str(font.get("/BaseFont", ""))
    except Exception:  # noqa: BLE001 - a font dictionary pypdf could not read: not known to be monospaced
        return False
    return bool(flags & 1) or _MONOSPACED_NAME.search(name) is not None


def _joined_hyphenations(lines: list[PrintedLine]) -> list[PrintedLine]:
    """Prose lines with a word hyphenated at a line's end ("man-" / "agement") joined, as the reader reads it."""
    out: list[PrintedLine] = []
    for line in lines:
        previous = out[-1] if out else None
        if (
            previous
            and not (previous.code or line.code)
            and _HYPHENATED.search(previous.text)
            and line.text[:1].islower()
        ):
            out[-1] = PrintedLine(previous.text[:-1] + line.text)
        else:
            out.append(line)
    return out


def _markdown_line(line: str) -> str:
    """A printed line as Markdown that reads as it is printed (`*`, `<tag>` or `# ` are text in a PDF); a line
    that starts with a bullet is a list item."""
    bullet = _BULLET.match(line)
    return f"- {_escaped(line[bullet.end() :])}" if bullet else _escaped(line)


def _escaped(text: str) -> str:
    """Printed text as Markdown that reads as it: its markup characters escaped."""
    text = _INLINE_MARKUP.sub(r"\\\g<0>", text)
    return f"\\{text}" if _BLOCK_MARKUP.match(text) else text


def _running_key(line: str) -> str:
    words = " ".join(line.lower().split())
    return "#" if _ROMAN.fullmatch(words) else re.sub(r"\d+", "#", words)


def _page_number_line(line: str) -> bool:
    """A line of a page number alone ("12", "xii", "- 12 -", "Page 12 of 40")."""
    return re.fullmatch(r"(?:page\s+)?#(?:\s+of\s+#)?", _running_key(line).strip("- ")) is not None


def _ends(lines: list[str]) -> Iterator[int]:
    """The indexes of a page's first and last lines, where running heads and page numbers are printed."""
    yield from sorted(set(range(min(_LINES_AT_EACH_END, len(lines)))) | set(range(len(lines))[-_LINES_AT_EACH_END:]))


def _without_running_lines(pages: list[list[PrintedLine]]) -> list[list[PrintedLine]]:
    """Leave out the page numbers and the short lines printed at the top or bottom of several pages (a running
    head, a chapter's, a footer): the same words, numbers aside, on three pages or more, or on two with a page
    number at one end."""
    seen = Counter(
        key
        for lines in pages
        for key in {
            _running_key(lines[index].text)
            for index in _ends(lines)
            if len(lines[index].text.split()) <= _RUNNING_WORDS
        }
    )
    # A head printed with its page number ("Chapter 2: Wiring 3") runs on twice already: a chapter's pages.
    running = {key for key, count in seen.items() if count >= (2 if _NUMBERED.search(key) else _RUNNING_PAGES)}
    out = []
    for number, lines in enumerate(pages):
        ends = set(_ends(lines))
        # The cover prints the title that runs at the top of the pages after it: there it is the title.
        out.append(
            [
                line
                for index, line in enumerate(lines)
                if index not in ends
                or not ((number and _running_key(line.text) in running) or _page_number_line(line.text))
            ]
        )
    return out


def _outline(reader: Any) -> list[OutlineEntry]:
    """The PDF's bookmarks in order, with their pages; none when it has none or they cannot be read."""
    entries: list[OutlineEntry] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            page = reader.get_destination_page_number(item)
            if title and page is not None and page >= 0:
                entries.append(OutlineEntry(title=title, page=page, depth=depth))

    try:
        walk(reader.outline, 0)
    except Exception as error:  # noqa: BLE001 - a broken outline leaves the text without sections
        logger.info("a PDF outline could not be read: %s", error)
        return []
    return entries


def _normalised(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".:")


def _prints(line: str, title: str) -> bool:
    """Whether a page's line is the outline title printed, with or without its section number."""
    printed, wanted = _normalised(line), _normalised(title)
    return printed == wanted or _normalised(_NUMBERING.sub("", line, count=1)) in (wanted, _NUMBERING.sub("", wanted))


def _ends_paragraph(line: str, *, full: int) -> bool:
    """Whether a printed line ends its paragraph or list item: its text stopped well short of a full line at the
    end of a sentence or an item, or halfway whatever it ends with (a title, a name)."""
    if len(line) < _HALF_LINE * full:
        return True
    return len(line) < _SHORT_LINE * full and (line.rstrip().endswith(_SENTENCE_ENDS) or bool(_BULLET.match(line)))


def _page_markdown(lines: list[PrintedLine], entries: list[OutlineEntry], *, full: int) -> str:
    """A page's printed lines as Markdown: lines set as code are a code block; a prose line that stops well short
    of a full line ends its paragraph (or its list item); the outline's entries are headings, each where its title
    is printed (that line becomes the heading), else before the page's text, in the outline's order."""
    out: list[tuple[str, str]] = []  # (printed, Markdown)
    for code, run in itertools.groupby(lines, key=lambda line: line.code):
        if code:
            out.extend([("", ""), ("", fenced("\n".join(line.text for line in run))), ("", "")])
            continue
        for line in run:
            out.append((line.text, _markdown_line(line.text)))
            if _ends_paragraph(line.text, full=full):
                out.append(("", ""))
    at = 0  # entries are in page order: each is looked for after the one before
    for entry in entries:
        # Blank lines around it, so that a heading never continues the paragraph before it.
        heading = ("", f"\n{'#' * min(entry.depth + 2, 6)} {_escaped(entry.title)}\n")
        found = next((index for index in range(at, len(out)) if _prints(out[index][0], entry.title)), None)
        if found is None:
            out.insert(at, heading)
            at += 1
        else:
            out[found] = heading
            at = found + 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(markdown for _, markdown in out)).strip("\n")


@component
class PdfToDocument:
    """Haystack converter: PDFs to Markdown documents of their pages (see the module's docstring)."""

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """One paged document per PDF, with the source's meta; an unreadable PDF is skipped and logged (as
        Haystack's PyPDFToDocument does: the admin then sees that no text could be extracted)."""
        documents = []
        for source, extra in zip(sources, normalize_metadata(meta, sources_count=len(sources)), strict=True):
            stream = get_bytestream_from_source(source)
            try:
                text = pdf_markdown(stream.data)
            except Exception as error:  # noqa: BLE001 - pypdf raises many kinds for a damaged file
                logger.warning("could not read a PDF: %s", error)
                continue
            documents.append(Document(content=text, meta={**stream.meta, **extra, PAGED_META: True}))
        return {"documents": documents}
