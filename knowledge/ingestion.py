"""The Haystack ingestion pipeline: convert -> clean -> split -> embed. It never writes to the database."""

import hashlib
import re
from dataclasses import replace
from typing import Any

from haystack import Document, Pipeline, component
from haystack.components.converters import HTMLToDocument, PyPDFToDocument, TextFileToDocument
from haystack.components.joiners import DocumentJoiner
from haystack.components.preprocessors import DocumentCleaner
from haystack.components.routers import FileTypeRouter

from .embedders import CONTEXT_META_FIELD

TEXT_MIME = r"text/(plain|markdown)"
HTML_MIME = "text/html"
PDF_MIME = "application/pdf"

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_WORD = re.compile(r"\S+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def content_hash(text: str) -> str:
    """sha256 hex digest of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedded_text_hash(document: Document) -> str:
    """Hash of exactly what the embedder sees for a chunk: its context line and its text."""
    return content_hash(f"{document.meta.get(CONTEXT_META_FIELD, '')}\n{document.content}")


def chunk_context(*, title: str, section: str) -> str:
    """The context line embedded with a chunk: 'Title > Section'."""
    return " > ".join(part for part in (title, section) if part)


@component
class SectionSplitter:
    """Split documents into passages of at most ``split_length`` words, within Markdown sections, with overlap.

    Each chunk records its section path ("Heading > Subheading") and its character offsets in the source text.
    Paragraphs are kept whole where they fit; longer ones are cut into overlapping word windows.
    """

    def __init__(self, *, split_length: int = 150, split_overlap: int = 30) -> None:
        if split_length < 1 or not 0 <= split_overlap < split_length:
            raise ValueError("split_length must be positive and split_overlap must be smaller than it.")
        self.split_length = split_length
        self.split_overlap = split_overlap

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Split every document; chunk meta holds section, start_char, end_char, position and context."""
        chunks: list[Document] = []
        for document in documents:
            chunks.extend(self._split(document))
        return {"documents": chunks}

    def _split(self, document: Document) -> list[Document]:
        text = document.content or ""
        title = str(document.meta.get("title", ""))
        out: list[Document] = []
        for section, start, end in _sections(text):
            for chunk_start, chunk_end in self._windows(text, start, end):
                out.append(
                    Document(
                        content=text[chunk_start:chunk_end],
                        meta={
                            "title": title,
                            "section": section,
                            "start_char": chunk_start,
                            "end_char": chunk_end,
                            "position": len(out),
                            CONTEXT_META_FIELD: chunk_context(title=title, section=section),
                        },
                    )
                )
        return out

    def _windows(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
        if not words:
            return []
        breaks = {m.end() for m in _PARAGRAPH_BREAK.finditer(text, start, end)}
        # A paragraph starts at word i when a blank line ends right before it.
        paragraph_starts = [i for i, (s, _) in enumerate(words) if i == 0 or _break_before(text, s, breaks)]
        windows: list[tuple[int, int]] = []
        first = 0
        while first < len(words):
            last = min(first + self.split_length, len(words))
            if last < len(words):
                # Prefer to end at a paragraph boundary if one lies in the second half of the window.
                boundary = max((p for p in paragraph_starts if first + self.split_length // 2 < p <= last), default=0)
                if boundary:
                    last = boundary
            windows.append((words[first][0], words[last - 1][1]))
            if last >= len(words):
                break
            first = max(last - self.split_overlap, first + 1)
        return windows


def _break_before(text: str, word_start: int, breaks: set[int]) -> bool:
    position = word_start
    while position > 0 and text[position - 1] in " \t":
        position -= 1
    return position in breaks


def _sections(text: str) -> list[tuple[str, int, int]]:
    """(section path, body start, body end) for each Markdown section, headings outside code fences."""
    sections: list[tuple[str, int, int]] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    in_fence = False
    offset = 0
    path = ""
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line.rstrip("\n"))
        if match:
            sections.append((path, body_start, offset))
            level = len(match.group(1))
            stack = [(lvl, name) for lvl, name in stack if lvl < level] + [(level, match.group(2).strip())]
            path = " > ".join(name for _, name in stack)
            body_start = offset + len(line)
        offset += len(line)
    sections.append((path, body_start, len(text)))
    return [(p, s, e) for p, s, e in sections if text[s:e].strip()]


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


def build_ingestion_pipeline(*, document_embedder: Any, split_length: int, split_overlap: int) -> Pipeline:
    """Build convert -> clean -> split -> embed. Inputs: router.sources, embedder.known."""
    pipeline = Pipeline()
    pipeline.add_component("router", FileTypeRouter(mime_types=[TEXT_MIME, HTML_MIME, PDF_MIME]))
    pipeline.add_component("text_converter", TextFileToDocument())
    pipeline.add_component(
        "html_converter",
        HTMLToDocument(extraction_kwargs={"output_format": "markdown", "include_tables": True, "favor_recall": True}),
    )
    pipeline.add_component("pdf_converter", PyPDFToDocument())
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
    pipeline.add_component("splitter", SectionSplitter(split_length=split_length, split_overlap=split_overlap))
    pipeline.add_component("embedder", ReusingDocumentEmbedder(embedder=document_embedder))
    pipeline.connect(f"router.{TEXT_MIME}", "text_converter.sources")
    pipeline.connect(f"router.{HTML_MIME}", "html_converter.sources")
    pipeline.connect(f"router.{PDF_MIME}", "pdf_converter.sources")
    pipeline.connect("text_converter", "joiner")
    pipeline.connect("html_converter", "joiner")
    pipeline.connect("pdf_converter", "joiner")
    pipeline.connect("joiner", "cleaner")
    pipeline.connect("cleaner", "splitter")
    pipeline.connect("splitter", "embedder")
    return pipeline
