"""The Haystack ingestion pipeline: convert -> clean -> split -> embed. It never writes to the database."""

import hashlib
import itertools
import re
from dataclasses import dataclass, replace
from typing import Any

from haystack import Document, Pipeline, component
from haystack.components.converters import TextFileToDocument
from haystack.components.joiners import DocumentJoiner
from haystack.components.preprocessors import DocumentCleaner
from haystack.components.routers import FileTypeRouter

from .embedders import CONTEXT_META_FIELD
from .markdown import SECTION_SEPARATOR, Block, parse_markdown
from .notebooks import NOTEBOOK_MIME, NotebookToDocument
from .pdf import PAGE_BREAK, PAGED_META, PdfToDocument, page_numbers
from .pipeline_copies import new_pipeline
from .slugs import HeadingIds

TEXT_MIME = r"text/(plain|markdown)"
HTML_MIME = "text/html"
PDF_MIME = "application/pdf"
NOTEBOOK_ROUTE = re.escape(NOTEBOOK_MIME)  # the router reads its MIME types as patterns


def content_hash(text: str) -> str:
    """sha256 hex digest of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedded_text_hash(document: Document) -> str:
    """Hash of exactly what the embedder sees for a chunk: its context line and its text."""
    return content_hash(f"{document.meta.get(CONTEXT_META_FIELD, '')}\n{document.content}")


def chunk_context(*, title: str, section: str) -> str:
    """The context line embedded with a chunk: 'Title > Section'."""
    return SECTION_SEPARATOR.join(part for part in (title, section) if part)


@dataclass(frozen=True)
class _Unit:
    """A piece of one block that is never cut further: a paragraph, a group of list items or table rows."""

    text: str
    words: int
    start_line: int
    end_line: int
    overlappable: bool


class IngestionError(RuntimeError):
    """Ingestion failed for a reason the admin can act on."""


@component
class MarkdownSplitter:
    """Split Markdown documents into chunks of reader text, at most ``split_length`` words, within sections.

    Blocks come from the CommonMark parser (``knowledge.markdown``): paragraphs stay whole where they fit
    (longer ones are cut into overlapping word windows), lists and tables are split only between items or
    rows, and a continued list or table repeats the line that introduced it. Each chunk records its section
    path ("Heading > Subheading"), the anchor of its heading on the book's site, and its source offsets.
    Document meta ``url_style`` picks the site's anchor rules (``heading_ids``: the site's own settings for
    them); ``mdx`` reads the text as MDX.
    """

    def __init__(self, *, split_length: int = 150, split_overlap: int = 30, max_chunks: int | None = None) -> None:
        if split_length < 1 or not 0 <= split_overlap < split_length:
            raise ValueError("split_length must be positive and split_overlap must be smaller than it.")
        self.split_length = split_length
        self.split_overlap = split_overlap
        self.max_chunks = max_chunks

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Split every document; chunk meta holds section, anchor, start_char, end_char, position and context."""
        chunks: list[Document] = []
        for document in documents:
            chunks.extend(self._split(document))
        return {"documents": chunks}

    def _split(self, document: Document) -> list[Document]:
        text = document.content or ""
        meta = document.meta
        paged = bool(meta.get(PAGED_META))
        # A page break is read as a line break, of the same length: offsets stay the text's own.
        source = text.replace(PAGE_BREAK, "\n") if paged else text
        parsed = parse_markdown(
            source,
            style=str(meta.get("url_style") or "plain"),
            mdx=bool(meta.get("mdx")),
            heading_ids=HeadingIds.from_dict(meta.get("heading_ids")),
        )
        title = str(meta.get("title") or parsed.title)
        line_starts = _line_starts(source)
        page_of = page_numbers(text) if paged else None

        def place(block: Block) -> tuple[str, str]:
            """(section, anchor): a paged document's passages link to their page, and never span two."""
            if page_of is None:
                return block.section, block.anchor
            return block.section, f"page={page_of(line_starts[min(block.start_line, len(line_starts) - 1)])}"

        out: list[Document] = []
        for (section, anchor), blocks in itertools.groupby(parsed.blocks, key=place):
            for units in self._pack(list(blocks)):
                start = line_starts[min(units[0].start_line, len(line_starts) - 1)]
                end = line_starts[min(units[-1].end_line, len(line_starts) - 1)]
                out.append(
                    Document(
                        content="\n\n".join(unit.text for unit in units),
                        meta={
                            "title": title,
                            "section": section,
                            "anchor": anchor,
                            "start_char": start,
                            "end_char": max(end, start),
                            "position": len(out),
                            CONTEXT_META_FIELD: chunk_context(title=title, section=section),
                        },
                    )
                )
                if self.max_chunks is not None and len(out) > self.max_chunks:
                    # Stop before embedding anything: a million headings would hold the worker for hours.
                    raise IngestionError(
                        f"This document splits into more than {self.max_chunks:,} passages "
                        "(KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT). Split it into several documents, or raise the limit."
                    )
        return out

    def _units(self, blocks: list[Block]) -> list[_Unit]:
        units: list[_Unit] = []
        for index, block in enumerate(blocks):
            words = len(block.text.split())
            if words <= self.split_length:
                units.append(_Unit(block.text, words, block.start_line, block.end_line, block.kind != "table"))
            elif block.lines or block.kind == "code":
                lead = blocks[index - 1].text if index and blocks[index - 1].text.rstrip().endswith(":") else ""
                units.extend(self._line_groups(block, lead=lead))
            else:
                units.extend(
                    _Unit(piece, len(piece.split()), block.start_line, block.end_line, False)
                    for piece in self._windows(block.text)
                )
        return units

    def _line_groups(self, block: Block, *, lead: str) -> list[_Unit]:
        """Whole items, rows or lines of code, as many as fit; every group after the first repeats the lead-in
        line, and every group of code lines is fenced as the block was."""
        lines_of = block.lines
        opener = closer = ""
        if len(lead.split()) > self.split_length // 2:
            lead = ""  # a lead-in that long would crowd out what it introduces: it stays in its own chunk
        if block.kind == "code":
            opener, *lines_of, closer = block.text.split("\n")
            lead = lead and lead + "\n"  # the fence starts a line of its own after it
        groups: list[tuple[list[str], int]] = [([], 0)]  # (lines, their words)
        # The lead-in goes with every group (the first follows it in the same chunk when both fit).
        budget = self.split_length - len(lead.split())
        for line in lines_of:
            size = len(line.split())
            lines, words = groups[-1]
            if lines and words + size > budget:
                groups.append(([], 0))
            lines, words = groups[-1]
            lines.append(line)
            groups[-1] = (lines, words + size)

        def text(number: int, lines: list[str]) -> str:
            body = "\n".join([opener, *lines, closer] if opener else lines)
            return ("" if number == 0 or not lead else lead + "\n") + body

        return [
            _Unit(
                text(number, lines),
                words,
                block.start_line,
                block.end_line,
                False,
            )
            for number, (lines, words) in enumerate(groups)
        ]

    def _pack(self, blocks: list[Block]) -> list[list[_Unit]]:
        """Greedy packing of whole units into chunks; a short last paragraph is repeated as overlap."""
        chunks: list[list[_Unit]] = []
        current: list[_Unit] = []
        size = 0
        for unit in self._units(blocks):
            if current and size + unit.words > self.split_length:
                chunks.append(current)
                carried = current[-1]
                keep = carried.overlappable and carried.words <= self.split_overlap
                current = [carried] if keep and carried.words + unit.words <= self.split_length else []
                size = sum(u.words for u in current)
            current.append(unit)
            size += unit.words
        if current:
            chunks.append(current)
        return chunks

    def _windows(self, text: str) -> list[str]:
        words = text.split()
        step = self.split_length - self.split_overlap
        return [
            " ".join(words[first : first + self.split_length])
            for first in range(0, max(len(words) - self.split_overlap, 1), step)
        ]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    starts.append(len(text))
    return starts


@component
class ReusingDocumentEmbedder:
    """Embed only the chunks whose embedded text is new; reuse known vectors for the rest.

    ``known`` maps content hashes (of context + text) to vectors already in the index.
    """

    def __init__(self, *, embedder: Any) -> None:
        self.embedder = embedder

    def warm_up(self) -> None:
        """Load the wrapped embedder."""
        if hasattr(self.embedder, "warm_up"):
            self.embedder.warm_up()

    @component.output_types(documents=list[Document], embedded=int, reused=int)
    def run(self, documents: list[Document], known: dict[str, list[float]] | None = None) -> dict[str, Any]:
        """Return the documents with embeddings and a content_hash in meta."""
        known = known or {}
        hashed = [replace(doc, meta={**doc.meta, "content_hash": embedded_text_hash(doc)}) for doc in documents]
        missing = [doc for doc in hashed if doc.meta["content_hash"] not in known]
        fresh: dict[str, list[float]] = {}
        if missing:
            embedded = self.embedder.run(documents=missing)["documents"]
            fresh = {doc.meta["content_hash"]: doc.embedding for doc in embedded}

        def vector(key: str) -> list[float]:
            return fresh[key] if key in fresh else list(map(float, known[key]))

        out = [replace(doc, embedding=vector(doc.meta["content_hash"])) for doc in hashed]
        return {"documents": out, "embedded": len(missing), "reused": len(hashed) - len(missing)}


def _add_conversion(pipeline: Pipeline) -> None:
    from .html_pages import HtmlToDocument  # noqa: PLC0415 - a heavy import (BeautifulSoup, lxml), for the worker

    pipeline.add_component("router", FileTypeRouter(mime_types=[TEXT_MIME, HTML_MIME, PDF_MIME, NOTEBOOK_ROUTE]))
    pipeline.add_component("text_converter", TextFileToDocument())
    pipeline.add_component("html_converter", HtmlToDocument())
    pipeline.add_component("pdf_converter", PdfToDocument())
    pipeline.add_component("notebook_converter", NotebookToDocument())
    pipeline.add_component("joiner", DocumentJoiner())
    pipeline.add_component(
        "cleaner",
        DocumentCleaner(
            remove_empty_lines=False,
            remove_extra_whitespaces=False,
            unicode_normalization="NFC",
            # Keep blank lines (they separate paragraphs and Markdown blocks) but normalise the rest.
            replace_regexes={r"\r\n?": "\n", r"[ \t]+\n": "\n", r"\n{3,}": "\n\n", "\x00": ""},
            strip_whitespaces=True,
        ),
    )
    pipeline.connect(f"router.{TEXT_MIME}", "text_converter.sources")
    pipeline.connect(f"router.{HTML_MIME}", "html_converter.sources")
    pipeline.connect(f"router.{PDF_MIME}", "pdf_converter.sources")
    pipeline.connect(f"router.{NOTEBOOK_ROUTE}", "notebook_converter.sources")
    pipeline.connect("text_converter", "joiner")
    pipeline.connect("html_converter", "joiner")
    pipeline.connect("pdf_converter", "joiner")
    pipeline.connect("notebook_converter", "joiner")
    pipeline.connect("joiner", "cleaner")


def build_conversion_pipeline() -> Pipeline:
    """Build convert -> clean (text extraction; run with a time budget by knowledge.conversion). Input:
    router.sources."""
    pipeline = new_pipeline()
    _add_conversion(pipeline)
    return pipeline


def build_indexing_pipeline(
    *, document_embedder: Any, split_length: int, split_overlap: int, max_chunks: int | None = None
) -> Pipeline:
    """Build split -> embed, for extracted text. Inputs: splitter.documents, embedder.known."""
    pipeline = new_pipeline()
    pipeline.add_component(
        "splitter", MarkdownSplitter(split_length=split_length, split_overlap=split_overlap, max_chunks=max_chunks)
    )
    pipeline.add_component("embedder", ReusingDocumentEmbedder(embedder=document_embedder))
    pipeline.connect("splitter", "embedder")
    return pipeline


def build_ingestion_pipeline(
    *, document_embedder: Any, split_length: int, split_overlap: int, max_chunks: int | None = None
) -> Pipeline:
    """Build convert -> clean -> split -> embed in one pipeline (no time budget). Inputs: router.sources,
    embedder.known."""
    pipeline = build_indexing_pipeline(
        document_embedder=document_embedder,
        split_length=split_length,
        split_overlap=split_overlap,
        max_chunks=max_chunks,
    )
    _add_conversion(pipeline)
    pipeline.connect("cleaner", "splitter")
    return pipeline
