"""The BM25 lexicon the chunk table's triggers keep, on real Postgres: it always equals a recount from the chunks."""

import math
import threading

import pytest
from django.db import connection, connections

from knowledge.models import Chunk, Lexeme, LexiconStats, SourceDocument
from knowledge.ranking import Bm25
from knowledge.selectors import chunk_candidates
from knowledge.services import document_create, document_delete, document_ingest

pytestmark = pytest.mark.django_db


def recount() -> tuple[dict[str, int], tuple[int, int]]:
    """Document frequencies and totals computed from scratch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, count(*) FROM knowledge_chunk, unnest(tsvector_to_array(search_vector)) AS lexeme "
            "GROUP BY lexeme"
        )
        frequencies = dict(cursor.fetchall())
        cursor.execute("SELECT count(*), COALESCE(sum(length(search_vector)), 0) FROM knowledge_chunk")
        totals = cursor.fetchone()
    return frequencies, (int(totals[0]), int(totals[1]))


def kept() -> tuple[dict[str, int], tuple[int, int]]:
    """What the triggers kept."""
    stats = LexiconStats.objects.filter(pk=1).first()
    totals = (stats.chunks, stats.lexemes) if stats else (0, 0)
    return dict(Lexeme.objects.values_list("lexeme", "chunks")), totals


def test_the_lexicon_follows_ingestion_reindexing_and_deletion(make_document):
    first = make_document(title="Owls", text="# Owls\n\nThe snowy owl hunts lemmings across the tundra.")
    make_document(title="Tundra", text="# Tundra\n\nLemmings and Arctic foxes share the tundra in summer.")
    assert kept() == recount()
    assert Lexeme.objects.get(lexeme="tundra").chunks == 2

    first.text = "# Owls\n\nBarn owls nest in old churches and hunt voles."
    first.save()
    document_ingest(document=first, force=True)  # the chunks are replaced in one transaction
    assert kept() == recount()
    assert Lexeme.objects.get(lexeme="tundra").chunks == 1
    assert Lexeme.objects.get(lexeme="vole").chunks == 1

    Chunk.objects.filter(document=first).update(text="Churches and foxes.")  # an edit in place
    assert kept() == recount()

    document_delete(document=first)
    assert kept() == recount()
    assert not Lexeme.objects.filter(lexeme="vole").exists()  # no chunk holds it any more

    Chunk.objects.update(embedding=Chunk.objects.first().embedding)  # embeddings alone: nothing to count
    assert kept() == recount()


def test_truncating_the_chunks_empties_the_lexicon(make_document):
    make_document(title="Owls", text="# Owls\n\nThe snowy owl hunts lemmings.")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds deferred foreign-key checks
        cursor.execute("TRUNCATE knowledge_chunk")
    assert kept() == ({}, (0, 0))


def bm25_reference(*, chunk: Chunk, words: list[str], k1: float, b: float) -> float:
    """Okapi BM25 written out in Python over the same lexemes, frequencies and lengths."""
    frequencies, (total, lengths) = recount()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, positions FROM unnest((SELECT search_vector FROM knowledge_chunk WHERE id = %s))",
            [chunk.id],
        )
        term_frequency = {lexeme: len(positions) for lexeme, positions in cursor.fetchall()}
    length, average = len(term_frequency), lengths / total
    score = 0.0
    for word in words:
        if word in term_frequency:
            df = frequencies[word]
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            tf = term_frequency[word]
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
    return score


def test_bm25_scores_match_the_textbook_formula(make_document, embed):
    make_document(title="Owls", text="# Owls\n\nOwls hunt at night. Owls hear voles under snow; owls are quiet.")
    make_document(title="Voles", text="# Voles\n\nVoles dig tunnels under the snow all winter long.")
    make_document(title="Foxes", text="# Foxes\n\nFoxes hunt voles by ear, pouncing into deep snow from above.")
    for k1, b in [(1.2, 0.75), (0.9, 0.4), (2.0, 1.0)]:
        hits = chunk_candidates(query="Which owls hunt voles?", embedding=embed("owls"), bm25=Bm25(k1=k1, b=b))
        scored = {hit.chunk_id: hit.lexical for hit in hits}
        for chunk in Chunk.objects.all():
            expected = bm25_reference(chunk=chunk, words=["owl", "hunt", "vole"], k1=k1, b=b)
            assert scored[chunk.id] == pytest.approx(expected, rel=1e-9)
    # The repeated word and the rarer one decide it: the owl chapter first on the BM25 side.
    owls = SourceDocument.objects.get(title="Owls")
    assert next(hit for hit in hits if hit.sparse_rank == 1).document_id == owls.id


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingestions_keep_the_lexicon_exact():
    """Writers that share lexemes queue on the statistics row instead of deadlocking or losing counts."""
    documents = [
        document_create(
            title=f"Owls {i}", text=f"# Owls {i}\n\n" + "Snowy owls hunt lemmings on the tundra. " * (i + 1)
        )
        for i in range(6)
    ]
    errors: list[BaseException] = []

    def ingest(document: SourceDocument) -> None:
        try:
            for _ in range(3):
                result = document_ingest(document=document, force=True)
                assert not result.error, result.error
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ingest, args=(document,)) for document in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert kept() == recount()
    assert Lexeme.objects.get(lexeme="tundra").chunks == 6


@pytest.mark.django_db(transaction=True)
def test_upgrading_counts_the_chunks_already_indexed(make_document):
    """A knowledge base indexed before BM25 gets its lexicon from the migration that adds it."""
    from django.core.management import call_command  # noqa: PLC0415

    make_document(title="Owls", text="# Owls\n\nThe snowy owl hunts lemmings across the tundra.")
    try:
        call_command("migrate", "knowledge", "0004", verbosity=0)
        with connection.cursor() as cursor:  # indexed while there was no lexicon
            cursor.execute(
                "INSERT INTO knowledge_chunk (document_id, position, text, section, anchor, start_char, end_char,"
                " content_hash, embedding) SELECT document_id, position + 1, 'Arctic foxes follow polar bears.',"
                " section, anchor, start_char, end_char, content_hash, embedding FROM knowledge_chunk"
            )
        call_command("migrate", "knowledge", verbosity=0)
        assert kept() == recount()
        assert Lexeme.objects.get(lexeme="fox").chunks == 1
    finally:
        call_command("migrate", verbosity=0)
