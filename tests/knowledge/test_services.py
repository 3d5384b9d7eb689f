"""document_ingest: incremental, safe on failure, and guarded against mixing embedding models."""

import pytest

from knowledge import services
from knowledge.embedders import shared_document_embedder
from knowledge.models import Chunk, SourceDocument
from knowledge.services import document_ingest, vector_column_dimensions, vector_index_resize
from knowledge.signals import document_indexed
from knowledge.sources import SourceRejected
from tests.conftest import GUIDE_MD

pytestmark = pytest.mark.django_db


def test_unchanged_document_does_nothing(make_document, embedder_spy):
    document = make_document()
    ids_before = list(document.chunks.values_list("id", flat=True))
    updated_before = document.updated_at
    embedder_spy.reset()
    result = document_ingest(document=document)
    assert result.unchanged
    assert embedder_spy.embedded == 0
    document.refresh_from_db()
    assert list(document.chunks.values_list("id", flat=True)) == ids_before
    assert document.updated_at == updated_before


def test_changed_document_reembeds_only_changed_chunks(make_document, embedder_spy):
    document = make_document()
    before = {chunk.section: chunk for chunk in document.chunks.all()}
    embedder_spy.reset()
    document.text = GUIDE_MD.replace("two centuries", "three centuries")
    document.save()
    result = document_ingest(document=document)
    assert result.status == "ready" and not result.unchanged
    assert embedder_spy.calls == 1
    assert embedder_spy.embedded == result.embedded == 1
    assert result.reused == document.chunk_count - 1
    after = {chunk.section: chunk for chunk in document.chunks.all()}
    assert "three centuries" in after["Field Guide > Trees > Conifers"].text
    assert list(after["Field Guide > Birds"].embedding) == pytest.approx(list(before["Field Guide > Birds"].embedding))


def test_failed_rebuild_keeps_old_chunks_and_reports(make_document, monkeypatch):
    document = make_document()
    other = make_document(title="Other", text="# Other\n\nAn unrelated note about moss.")
    old_texts = list(document.chunks.values_list("text", flat=True))
    other_chunks = list(other.chunks.values_list("id", flat=True))

    def broken(*args, **kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(shared_document_embedder(), "run", broken)
    document.text = GUIDE_MD + "\n## New\n\nA brand new section about wolves.\n"
    document.save()
    result = document_ingest(document=document)
    assert result.status == "failed"
    assert "model crashed" in result.error
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.FAILED
    assert "model crashed" in document.error
    assert list(document.chunks.values_list("text", flat=True)) == old_texts
    assert list(other.chunks.values_list("id", flat=True)) == other_chunks


def test_failure_in_the_swap_rolls_back(make_document, monkeypatch):
    document = make_document()
    old_ids = list(document.chunks.values_list("id", flat=True))

    def exploding_bulk_create(*args, **kwargs):
        raise services.DatabaseError("disk full")

    monkeypatch.setattr(Chunk.objects, "bulk_create", exploding_bulk_create)
    document.text = GUIDE_MD.replace("lemmings", "voles")
    document.save()
    result = document_ingest(document=document)
    assert result.status == "failed"
    assert list(document.chunks.values_list("id", flat=True)) == old_ids


def test_document_without_text_fails_readably(make_document):
    document = make_document(text="# Only a heading\n")
    assert document.status == SourceDocument.Status.FAILED
    assert "No text could be extracted" in document.error
    assert document.chunk_count == 0


def test_a_file_without_text_is_not_called_a_scanned_pdf(make_document):
    document = make_document(title="Notes", text="", file_name="notes.md", file_data=b"# Heading\n\n## Another\n")
    assert document.status == SourceDocument.Status.FAILED
    assert "No text could be extracted from notes.md" in document.error
    assert "OCR" not in document.error and "PDF" not in document.error


def test_a_pdf_without_text_suggests_ocr(make_document):
    from tests.pdf_factory import make_pdf

    document = make_document(title="Scan", text="", file_name="scan.pdf", file_data=make_pdf([""]))
    assert document.status == SourceDocument.Status.FAILED
    assert "OCR" in document.error


def test_a_document_of_too_many_passages_fails_before_embedding(make_document, embedder_spy, settings):
    settings.KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT = 50
    old = make_document(title="Many headings", text="# Start\n\nSome text.\n")
    old_chunks = list(old.chunks.values_list("id", flat=True))
    embedder_spy.reset()
    old.text = "".join(f"## Heading {n}\n\nText {n}.\n\n" for n in range(500))
    old.save()
    result = document_ingest(document=old)
    assert result.status == SourceDocument.Status.FAILED
    assert "more than 50 passages (KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT)" in result.error
    assert embedder_spy.calls == 0  # nothing was embedded
    assert list(old.chunks.values_list("id", flat=True)) == old_chunks  # the old index stays


def test_empty_text_is_rejected():
    with pytest.raises(SourceRejected, match="empty"):
        services.document_create(title="Empty", text="   \n")


def test_documents_from_another_model_are_flagged_and_excluded(make_document, settings):
    from knowledge.selectors import chunk_search, documents_needing_reindex

    document = make_document()
    SourceDocument.objects.filter(pk=document.pk).update(embedding_model="openai:text-embedding-3-small:384")
    assert list(documents_needing_reindex()) == [document]
    vector = list(document.chunks.first().embedding)
    assert chunk_search(query="snowy owl", embedding=vector, top_k=5) == []


def test_resizing_the_vector_column_for_a_new_model(make_document):
    make_document()
    assert vector_column_dimensions() == 384
    assert vector_index_resize(dimensions=384) is False
    assert vector_index_resize(dimensions=8) is True
    assert vector_column_dimensions() == 8
    assert Chunk.objects.count() == 0
    assert SourceDocument.objects.get().status == SourceDocument.Status.PENDING
    vector_index_resize(dimensions=384)
    document = SourceDocument.objects.get()
    assert document_ingest(document=document, force=True).status == "ready"


def test_document_indexed_is_sent_and_a_failing_receiver_never_fails_the_document(make_document, caplog):
    seen = []

    def failing(*, document_id, **_):
        seen.append(document_id)
        raise RuntimeError("a listener broke")

    document_indexed.connect(failing, dispatch_uid="test.failing")
    try:
        document = make_document()
        assert document_ingest(document=document).unchanged
    finally:
        document_indexed.disconnect(dispatch_uid="test.failing")
    assert seen == [document.pk, document.pk]  # rebuilt, then found unchanged
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.READY and document.chunk_count > 0
    assert "a listener broke" in caplog.text
