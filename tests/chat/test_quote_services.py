"""The offline answerer's pieces are embedded when a document is indexed, and answers read them from there."""

import logging

import numpy as np
import pytest
from django.db import OperationalError
from haystack import Document

from chat.engine import get_chat_engine
from chat.extractive import ExtractiveAnswerer, embedded_texts, quote_embedder
from chat.models import QuoteVector
from chat.quote_services import quote_vectors_sync
from chat.selectors import quote_key, quote_vectors
from knowledge.embedders import embedding_spec
from knowledge.models import SourceDocument
from knowledge.services import document_delete, document_ingest
from tests.conftest import GUIDE_MD

pytestmark = pytest.mark.django_db

QUESTIONS = [
    "Who built the Hubble Space Telescope?",
    "How wide is the mirror of the Webb telescope?",
    "When did the Golden Gate Bridge open?",
    "Who was the chief engineer of the Golden Gate Bridge?",
    "What is raised on Tower Bridge?",
]


class CountingEmbedder:
    """The real quote embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, documents):
        self.texts.extend(document.content for document in documents)
        return quote_embedder().run(documents=documents)


def pieces_of(document: SourceDocument) -> dict[str, str]:
    model_id = embedding_spec().model_id
    return {
        quote_key(text=piece, model_id=model_id): piece
        for chunk in document.chunks.all()
        for piece in embedded_texts(title=document.title, section=chunk.section, chunk_id=chunk.id, text=chunk.text)
    }


def stored(document: SourceDocument) -> dict[str, np.ndarray]:
    return {row.key: np.asarray(row.embedding) for row in QuoteVector.objects.filter(document=document)}


def test_indexing_stores_the_vector_of_every_piece_the_answerer_may_quote(make_document):
    document = make_document()
    pieces = pieces_of(document)
    vectors = stored(document)
    assert len(pieces) >= 4  # the guide's sentences, each under its section
    assert set(vectors) == set(pieces)
    texts = list(pieces.values())
    expected = quote_embedder().run(documents=[Document(content=text) for text in texts])["documents"]
    for key, embedded in zip(pieces, expected, strict=True):
        np.testing.assert_allclose(vectors[key], embedded.embedding, atol=1e-5)


def test_answers_read_stored_vectors_instead_of_embedding_and_do_not_change(knowledge):
    engine = get_chat_engine()
    with_store, without = CountingEmbedder(), CountingEmbedder()
    reading = ExtractiveAnswerer(sentence_embedder=with_store, stored_vectors=quote_vectors)
    embedding = ExtractiveAnswerer(sentence_embedder=without)
    for question in QUESTIONS:
        retrieval = engine.retrieve(message=question, history=[])
        inputs = {"question": question, "documents": retrieval.documents, "query_embedding": retrieval.embedding}
        answer = reading.run(**inputs)["replies"][0]
        assert answer.meta["status"] == "answered", question
        assert answer.text == embedding.run(**inputs)["replies"][0].text
    assert with_store.texts == []
    assert len(without.texts) >= 8  # the sentences of the passages these questions retrieve


def test_a_changed_document_embeds_only_its_new_pieces_and_drops_the_old(make_document):
    document = make_document()
    before = {row.key: row.pk for row in QuoteVector.objects.filter(document=document)}
    document.text = GUIDE_MD.replace("two centuries", "three centuries")
    document.save()
    document_ingest(document=document)
    after = {row.key: row.pk for row in QuoteVector.objects.filter(document=document)}
    assert set(after) == set(pieces_of(document))
    gone, new = set(before) - set(after), set(after) - set(before)
    assert len(gone) == len(new) == 1
    assert all(after[key] == before[key] for key in set(before) & set(after))  # kept, not embedded again
    assert quote_vectors_sync(document_id=document.pk).embedded == 0


def test_deleting_a_document_deletes_its_vectors(make_document):
    document = make_document()
    other = make_document(title="Other", text="# Other\n\nMoss grows on the north side of the old stones.")
    assert QuoteVector.objects.filter(document=document).exists()
    document_delete(document=document)
    assert set(QuoteVector.objects.values_list("document_id", flat=True)) == {other.pk}


def test_a_failing_quote_embedder_leaves_the_document_indexed_and_answers_still_come(
    make_document, monkeypatch, caplog
):
    def broken(documents):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(quote_embedder(), "run", broken)
    with caplog.at_level(logging.WARNING, logger="chat.quote_services"):
        document = make_document()
    assert document.status == SourceDocument.Status.READY and document.chunk_count > 0
    assert not QuoteVector.objects.exists()
    assert "could not store the quote vectors" in caplog.text
    monkeypatch.undo()
    counting = CountingEmbedder()
    answerer = ExtractiveAnswerer(sentence_embedder=counting, stored_vectors=quote_vectors)
    question = "How long can the black spruce live?"
    retrieval = get_chat_engine().retrieve(message=question, history=[])
    reply = answerer.run(question=question, documents=retrieval.documents, query_embedding=retrieval.embedding)
    assert "two centuries" in reply["replies"][0].text
    assert counting.texts  # what was not stored is embedded as the reader asks


def test_a_document_indexed_before_is_filled_in_when_it_is_next_ingested(make_document, settings):
    settings.CHAT_QUOTE_VECTORS = False
    document = make_document()
    assert not QuoteVector.objects.exists()
    settings.CHAT_QUOTE_VECTORS = True
    assert document_ingest(document=document).unchanged
    assert set(stored(document)) == set(pieces_of(document))


def test_an_unreadable_store_costs_time_not_the_answer(knowledge, caplog):
    def unreadable(*, texts):
        raise OperationalError("the database is down")

    question = QUESTIONS[2]
    retrieval = get_chat_engine().retrieve(message=question, history=[])
    inputs = {"question": question, "documents": retrieval.documents, "query_embedding": retrieval.embedding}
    counting = CountingEmbedder()
    with caplog.at_level(logging.WARNING, logger="chat.extractive"):
        reply = ExtractiveAnswerer(sentence_embedder=counting, stored_vectors=unreadable).run(**inputs)
    assert "1937" in reply["replies"][0].text
    assert counting.texts and "could not be read" in caplog.text


def test_a_large_document_is_embedded_and_stored_a_slice_at_a_time(make_document, monkeypatch):
    document = make_document()
    pieces = pieces_of(document)
    QuoteVector.objects.all().delete()
    monkeypatch.setattr("chat.quote_services.SLICE", 2)
    batches = []

    class Recording(CountingEmbedder):
        def run(self, documents):
            batches.append(len(documents))
            return super().run(documents)

    result = quote_vectors_sync(document_id=document.pk, embedder=Recording())
    assert result.embedded == len(pieces) and result.kept == result.removed == 0
    assert max(batches) == 2 and sum(batches) == len(pieces)
    assert set(stored(document)) == set(pieces)
