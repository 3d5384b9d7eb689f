"""Hybrid search and the HNSW index, on real Postgres with pgvector."""

import pytest
from django.db import connection, transaction

from knowledge.embedders import shared_text_embedder
from knowledge.models import SourceDocument
from knowledge.ranking import deduplicate_hits
from knowledge.selectors import _fetch_with_ef_search, chunk_nearest, chunk_search, document_sites, search_words

pytestmark = pytest.mark.django_db

TOPICS = {
    "Volcanoes": "Mount Etna in Sicily is one of the most active volcanoes in the world.",
    "Chess": "The Sicilian Defence is the most popular response to the king's pawn opening.",
    "Bread": "Sourdough bread rises thanks to wild yeast and lactic acid bacteria in the starter.",
    "Rail": "The Trans-Siberian Railway links Moscow with Vladivostok over nine thousand kilometres.",
}


@pytest.fixture(scope="module", autouse=True)
def vacuumed_chunks(django_db_setup, django_db_blocker):
    """Rows earlier tests inserted and rolled back stay in the HNSW graph until vacuumed; on these four-chunk
    corpora they would take the places of live candidates."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("VACUUM knowledge_chunk")


@pytest.fixture
def corpus(make_document):
    return {title: make_document(title=title, text=f"# {title}\n\n{text}") for title, text in TOPICS.items()}


def embed(text: str) -> list[float]:
    return shared_text_embedder().run(text=text)["embedding"]


def test_hnsw_query_finds_the_chunk_a_sentence_came_from(corpus):
    sentence = "wild yeast and lactic acid bacteria make sourdough rise"
    (best_id, similarity), *_ = chunk_nearest(embedding=embed(sentence), top_k=3)
    assert best_id == corpus["Bread"].chunks.get().id
    assert similarity > 0.6


def test_the_hnsw_index_serves_nearest_neighbour_queries(corpus):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 5",
            [str(embed("trains"))],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "chunk_embedding_hnsw" in plan


def test_hybrid_search_fuses_dense_and_full_text(corpus):
    hits = chunk_search(query="Which railway goes to Vladivostok?", embedding=embed("railway to Vladivostok"), top_k=2)
    assert hits[0].document_title == "Rail"
    assert hits[0].dense_rank == 1 and hits[0].sparse_rank == 1
    assert hits[0].section == "Rail"
    assert hits[0].score > hits[1].score


def test_full_text_alone_can_surface_a_rare_term(corpus):
    # A weak, unrelated embedding: only the lexical side knows about "Etna".
    hits = chunk_search(query="Etna", embedding=embed("completely unrelated knitting patterns"), top_k=4)
    etna = next(hit for hit in hits if hit.document_title == "Volcanoes")
    assert etna.sparse_rank == 1


def test_chunks_of_a_document_awaiting_reindex_are_dropped_after_fusion(corpus):
    SourceDocument.objects.filter(pk=corpus["Rail"].pk).update(embedding_model="other:model:384")
    hits = chunk_search(query="Which railway goes to Vladivostok?", embedding=embed("railway to Vladivostok"), top_k=4)
    # The stale chunk was both lists' first candidate; the fresh documents still fill the results.
    assert sorted(hit.document_title for hit in hits) == ["Bread", "Chess", "Volcanoes"]


def test_search_words_are_the_questions_words_up_to_a_bound_with_their_other_spellings():
    assert search_words("What is the Sicilian opening?") == "what is the sicilian opening"
    assert search_words("What is the Sicilian defence?") == "what is the sicilian defence defense"
    assert search_words(" ".join(f"w{i}" for i in range(100))).split() == [f"w{i}" for i in range(64)]


def test_search_words_keep_paths_options_and_file_names_whole_too():
    assert search_words("What does /readyz check?") == "what does readyz check /readyz"
    assert search_words("Is (manage.py) needed, with `--prune`?") == "is manage py needed with prune manage.py --prune"
    assert search_words("What is CHAT_TOP_K?") == "what is chat_top_k"  # one word already


def test_full_text_finds_a_path_and_a_file_name_as_written(make_document):
    # PostgreSQL indexes "/readyz" and "manage.py" as one lexeme each: their words alone match nothing.
    make_document(title="Health", text="# Health\n\nGET /readyz answers 200 when every part works.")
    make_document(title="Commands", text="# Commands\n\nRun manage.py with the name of a command.")
    make_document(title="Other", text="# Other\n\nThe harbour opens every day at dawn.")
    unrelated = embed("completely unrelated knitting patterns")
    for query, title in [("What does /readyz check?", "Health"), ("What is manage.py?", "Commands")]:
        hits = chunk_search(query=query, embedding=unrelated, top_k=3)
        assert next(hit for hit in hits if hit.sparse_rank == 1).document_title == title


def test_full_text_finds_a_word_spelt_the_other_way(corpus):
    # The book writes "Defence" and "kilometres"; the reader asks with American spellings.
    unrelated = embed("completely unrelated knitting patterns")
    for query, title in [("defense", "Chess"), ("kilometers", "Rail")]:
        hits = chunk_search(query=query, embedding=unrelated, top_k=4)
        assert next(hit for hit in hits if hit.sparse_rank == 1).document_title == title


def test_near_identical_hits_are_kept_once(corpus, make_document):
    make_document(title="Bread copy", text="# Bread\n\n" + TOPICS["Bread"])
    hits = chunk_search(query="sourdough starter yeast", embedding=embed("sourdough starter yeast"), top_k=5)
    assert sum("Sourdough bread rises" in hit.text for hit in hits) == 1
    assert len(deduplicate_hits(hits=hits + hits)) == len(hits)


@pytest.fixture
def river_towns(make_document):
    """Six chunks that all mention rivers; one also names a rare word."""
    towns = ["Avon", "Brook", "Calder", "Derwent", "Eden", "Frome"]
    for town in towns:
        extra = " The Tolpuddle martyrs met nearby." if town == "Eden" else ""
        make_document(title=town, text=f"# {town}\n\n{town} is a town where the river floods each winter.{extra}")


def lexical_matches(*, query: str, match_budget: int) -> set[str]:
    hits = chunk_search(query=query, embedding=embed("knitting patterns"), top_k=10, match_budget=match_budget)
    return {hit.document_title for hit in hits if hit.sparse_rank is not None}


def test_full_text_ranks_every_word_while_the_table_fits_the_budget(river_towns):
    assert lexical_matches(query="river Tolpuddle", match_budget=100) == {
        "Avon", "Brook", "Calder", "Derwent", "Eden", "Frome"
    }  # fmt: skip


def test_on_a_large_table_full_text_ranks_only_the_rarest_words_matches(river_towns):
    assert lexical_matches(query="river Tolpuddle", match_budget=2) == {"Eden"}
    # The rarest word is kept even when it alone matches more chunks than the budget; that many of them are ranked.
    ranked = lexical_matches(query="river winter", match_budget=2)
    assert len(ranked) == 2 and ranked <= {"Avon", "Brook", "Calder", "Derwent", "Eden", "Frome"}


def test_pruned_full_text_queries_survive_quotes_and_backslashes(river_towns):
    # "o" and "neil" are in no chunk: they are left out, and the rest is quoted safely.
    assert lexical_matches(query="O'Neil's \\ river Tolpuddle's 'martyrs'", match_budget=3) == {"Eden"}


def current_ef_search() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search', true)")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_ef_search_applies_to_its_query_alone():
    for _ in range(7):  # past the point where a prepared statement switches to a generic plan
        assert _fetch_with_ef_search("SELECT current_setting('hnsw.ef_search')", {}, ef_search=123) == [("123",)]
    assert current_ef_search() != "123"


def test_dedup_stops_at_the_limit(corpus):
    hits = chunk_search(query="bread", embedding=embed("bread"), top_k=10)
    assert deduplicate_hits(hits=hits, limit=2) == hits[:2]


def prepared_statements() -> dict[str, tuple[int, int]]:
    """The connection's server-side prepared statements: text (whitespace folded) -> (generic, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {" ".join(statement.split()): (generic, custom) for statement, generic, custom in cursor.fetchall()}


def test_the_hybrid_query_is_prepared_once_and_its_generic_plan_reused(corpus):
    for _ in range(7):  # past the five custom plans after which Postgres considers a generic one
        chunk_search(query="bread yeast", embedding=embed("bread yeast"), top_k=3)
        SourceDocument.objects.filter(title="Bread").exists()  # an ORM query, run as often
    statements = prepared_statements()
    (hybrid,) = [plans for text, plans in statements.items() if text.startswith("WITH terms AS")]
    assert hybrid == (2, 5)
    # Nothing else is prepared (Django binds on the client): a pooler in transaction mode sees only these two.
    assert [text for text in statements if not text.startswith(("WITH terms AS", "SELECT set_config("))] == []


@pytest.mark.django_db
def test_document_sites_are_the_origins_of_absolute_links_most_documents_first():
    for reference in [
        "https://book.example.org/docs/intro",
        "https://book.example.org/docs/setup#install",
        "HTTPS://Book.Example.org/blog/2024/news",
        "http://localhost:3000/docs/intro",
        "https://user:secret@mirror.example.net:8443/docs/intro",
        "/docs/guide/01-introduction.md",
        "docs/notes.md",
        "https://broken.example.org:port/docs",
        "https://book.example.org:443/docs/faq",
    ]:
        SourceDocument.objects.create(title=reference, reference=reference, text="Some text.")
    assert document_sites() == [
        ("https://book.example.org", 4),
        ("http://localhost:3000", 1),
        ("https://mirror.example.net:8443", 1),
    ]
    assert document_sites(limit=1) == [("https://book.example.org", 4)]
