"""Text extraction with a budget: poison files fail fast and clearly, deleted documents stop, nothing re-queues them."""

import threading
import time

import pytest

from knowledge.conversion import ConversionFailed, DocumentGone, extract_with_budget
from knowledge.models import SourceDocument
from knowledge.services import document_create, document_ingest, documents_resume_interrupted

# Inline elements in one long paragraph: the HTML extractor's time grows with the square of their number
# (about 2 s for 180 KB on this machine, minutes for a few MB).
POISON = ("<html><body><p>" + "<b>w</b> " * 60_000 + "</p></body></html>").encode()
GOOD = b"<html><body><h1>Towers</h1><p>The Eiffel Tower was completed in 1889.</p></body></html>"


def test_html_is_extracted_in_a_child_process():
    [(text, meta)] = extract_with_budget(data=GOOD, mime_type="text/html", meta={"title": "T"}, seconds=30)
    assert "Eiffel Tower was completed in 1889" in text and meta["title"] == "T"


def test_extraction_over_its_budget_is_stopped_with_a_clear_error():
    started = time.monotonic()
    with pytest.raises(ConversionFailed, match=r"longer than 1 s \(KNOWLEDGE_CONVERSION_SECONDS\)"):
        extract_with_budget(data=POISON, mime_type="text/html", meta={}, seconds=1)
    assert time.monotonic() - started < 5


def test_extraction_stops_when_the_document_is_no_longer_wanted():
    started = time.monotonic()
    with pytest.raises(DocumentGone):
        extract_with_budget(data=POISON, mime_type="text/html", meta={}, seconds=60, still_wanted=lambda: False)
    assert time.monotonic() - started < 3


@pytest.mark.django_db
def test_a_poison_document_fails_keeps_the_old_index_and_is_not_queued_again(make_document, settings):
    settings.KNOWLEDGE_CONVERSION_SECONDS = 1
    document = make_document(title="Towers", text="", file_name="towers.html", file_data=GOOD)
    assert document.status == SourceDocument.Status.READY
    old_chunks = list(document.chunks.values_list("id", flat=True))
    document.file_data = POISON
    document.save()
    result = document_ingest(document=document)
    assert result.status == SourceDocument.Status.FAILED
    document.refresh_from_db()
    assert "Text extraction took longer than 1 s" in document.error
    assert list(document.chunks.values_list("id", flat=True)) == old_chunks
    assert documents_resume_interrupted() == []  # a failed document waits for the admin


@pytest.mark.django_db(transaction=True)
def test_deleting_a_document_stops_its_indexing(settings):
    settings.KNOWLEDGE_CONVERSION_SECONDS = 120
    document = document_create(title="Poison", file_name="poison.html", file_data=POISON)
    results = []
    worker = threading.Thread(target=lambda: results.append(document_ingest(document=document)))
    started = time.monotonic()
    worker.start()
    time.sleep(1)
    SourceDocument.objects.filter(pk=document.pk).delete()
    worker.join(timeout=30)
    assert results and results[0].status == "deleted"
    assert time.monotonic() - started < 10
