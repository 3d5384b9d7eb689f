"""The ingestion pipeline and document_ingest on each format, against real Postgres and the real model."""

import numpy as np
import pytest
from django.test import override_settings

from knowledge.embedders import shared_text_embedder
from knowledge.ingestion import MarkdownSplitter, build_ingestion_pipeline
from knowledge.models import Chunk, SourceDocument
from knowledge.selectors import chunk_search, documents_needing_reindex
from tests.conftest import GUIDE_MD
from tests.pdf_factory import make_pdf

pytestmark = pytest.mark.django_db

HTML = b"""<!doctype html><html><head><title>Rivers</title></head><body>
<nav>Home | About</nav>
<article><h1>Rivers of the North</h1>
<p>The Mackenzie River drains a fifth of Canada and empties into the Beaufort Sea.</p>
<h2>Ice</h2><p>Ice jams on the river cause spring floods in the delta communities.</p></article>
</body></html>"""


def assert_chunks_consistent(document: SourceDocument) -> list[Chunk]:
    chunks = list(document.chunks.order_by("position"))
    assert document.status == SourceDocument.Status.READY, document.error
    assert document.chunk_count == len(chunks) > 0
    for chunk in chunks:
        # Chunk text is reader text (no Markdown syntax); its offsets point at the source it came from (a
        # section's outline starts with its heading, as the line that introduces the list).
        source = document.extracted_text[chunk.start_char : chunk.end_char]
        assert chunk.text.split()[0].strip("•:") in source
        assert len(chunk.embedding) == 384
        assert abs(np.linalg.norm(chunk.embedding) - 1.0) < 1e-3
    assert document.embedding_model == "local:all-MiniLM-L6-v2:384"
    return chunks


def test_the_int8_runtime_indexes_and_finds_under_its_own_model_id(make_document):
    def search() -> list:
        embedding = shared_text_embedder().run(text="snowy owl")["embedding"]
        return chunk_search(query="snowy owl", embedding=embedding, top_k=3)

    with override_settings(EMBEDDING_RUNTIME="onnx-int8"):
        document = make_document(text=GUIDE_MD)
        assert document.embedding_model == "local:all-MiniLM-L6-v2:384:int8"
        hits = search()
        assert hits and "snowy owl" in hits[0].text
        assert not documents_needing_reindex().exists()
    # For the float runtime these are another model's vectors: never mixed in, and the document needs a reindex.
    assert search() == []
    assert list(documents_needing_reindex()) == [document]


def test_markdown_records_section_paths(make_document):
    document = make_document(text=GUIDE_MD)
    chunks = assert_chunks_consistent(document)
    by_section = {chunk.section: chunk.text for chunk in chunks}
    assert "snowy owl" in by_section["Field Guide > Birds"]
    assert "black spruce" in by_section["Field Guide > Trees > Conifers"]
    assert "Paper birch" in by_section["Field Guide > Trees > Broadleaf"]
    # "Trees" has no text of its own, only its subsections: its passage is their outline.
    assert by_section["Field Guide > Trees"] == "Trees:\n\n• Conifers\n• Broadleaf"
    assert not any(chunk.text.startswith("#") for chunk in chunks)


def test_plain_text_upload(make_document):
    data = b"Line one about glaciers.\r\n\r\nLine two about moraines.\r\n"
    document = make_document(title="Glaciers", text="", file_name="glaciers.txt", file_data=data)
    chunks = assert_chunks_consistent(document)
    assert "\r" not in document.extracted_text
    assert "moraines" in chunks[-1].text


def test_html_upload_keeps_headings_and_drops_navigation(make_document):
    document = make_document(title="Rivers", text="", file_name="rivers.html", file_data=HTML)
    chunks = assert_chunks_consistent(document)
    sections = {chunk.section for chunk in chunks}
    assert "Rivers of the North > Ice" in sections
    assert any("Beaufort Sea" in chunk.text for chunk in chunks)


def test_pdf_upload(make_document):
    data = make_pdf(["The aurora borealis is caused by solar wind.", "Page two: green light comes from oxygen."])
    document = make_document(title="Aurora", text="", file_name="aurora.pdf", file_data=data)
    chunks = assert_chunks_consistent(document)
    joined = " ".join(chunk.text for chunk in chunks)
    assert "solar wind" in joined and "oxygen" in joined


def test_long_sections_split_with_overlap():
    words = [f"w{i}" for i in range(500)]
    from haystack import Document

    splitter = MarkdownSplitter(split_length=100, split_overlap=20)
    chunks = splitter.run(documents=[Document(content=" ".join(words), meta={"title": "T"})])["documents"]
    assert len(chunks) == 6
    first, second = chunks[0].content.split(), chunks[1].content.split()
    assert len(first) == 100
    assert first[-20:] == second[:20]
    assert chunks[-1].content.split()[-1] == "w499"


def test_splitter_prefers_paragraph_boundaries():
    from haystack import Document

    text = " ".join(["a"] * 70) + "\n\n" + " ".join(["b"] * 70)
    chunks = MarkdownSplitter(split_length=100, split_overlap=10).run(documents=[Document(content=text)])["documents"]
    assert chunks[0].content.split() == ["a"] * 70
    assert chunks[1].content.split() == ["b"] * 70


def test_pipeline_does_not_touch_the_database(django_assert_num_queries):
    from haystack.dataclasses import ByteStream

    from knowledge.embedders import shared_document_embedder

    pipeline = build_ingestion_pipeline(document_embedder=shared_document_embedder(), split_length=50, split_overlap=5)
    with django_assert_num_queries(0):
        output = pipeline.run(
            {"router": {"sources": [ByteStream(data=GUIDE_MD.encode(), mime_type="text/markdown")]}},
        )
    assert output["embedder"]["embedded"] == len(output["embedder"]["documents"]) > 0
