"""Reads from the knowledge base: hybrid chunk search, document lists and index health."""

import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, F, Func, Max, Q, QuerySet, Value
from pgvector import Vector
from pgvector.psycopg.vector import VectorBinaryDumper

from chatbot_site.origins import browser_origin

from .embedders import embedding_spec
from .models import BOOK_KEY_PREFIX, SEARCH_CONFIG, Chunk, IngestionWorker, SourceDocument
from .ranking import Bm25, ChunkHit, Fusion, PageBoost, PageMatch, is_word, rank_candidates, tokens_of, words_of
from .spelling import other_spelling

# The candidate pool: the dense side's and the BM25 side's best chunks, each with both scores. The BM25 side ranks
# the chunks holding the question's ranked words (see knowledge_bm25_terms: on large tables, only the rarest).
_CANDIDATES_SQL = f"""
WITH terms AS MATERIALIZED (
    SELECT t.query, t.lexemes, t.idfs, t.average_length
    FROM knowledge_bm25_terms('{SEARCH_CONFIG}', %(words)s, %(match_budget)s) AS t
),
dense AS (
    SELECT id, row_number() OVER () AS rank, similarity FROM (
        SELECT c.id, 1 - (c.embedding <=> %(embedding)s::vector) AS similarity FROM knowledge_chunk c
        ORDER BY c.embedding <=> %(embedding)s::vector
        LIMIT {{candidates}}
    ) ranked
),
-- Okapi BM25 of the chunks holding a ranked word, at most the budget of them: the ranked words match about that
-- many, but when even the rarest question word is in more chunks, only the first that many are scored (such a
-- word says little, and scoring every match is what a big table cannot afford). Only the ranked words (and the
-- section's, weighted A already, which have no IDF and add nothing) are read out of a chunk's vector, set apart
-- by weight in C instead of unnesting every lexeme into rows; a term's frequency is its number of positions.
scored AS (
    SELECT c.id, (
        SELECT COALESCE(sum(
            t.idfs[array_position(t.lexemes, u.lexeme)] * u.tf * (%(k1)s + 1)
            / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * f.length / t.average_length))
        ), 0)
        FROM (SELECT lexeme, GREATEST(cardinality(positions), 1) AS tf FROM unnest(f.ranked)) u
    ) AS bm25
    FROM (
        SELECT m.id, m.search_vector FROM knowledge_chunk m CROSS JOIN terms t
        WHERE m.search_vector @@ t.query
        LIMIT {{match_cap}}
    ) c
    CROSS JOIN terms t
    -- Each function reading the vector decompresses it: read it twice per chunk, not once per question word.
    CROSS JOIN LATERAL (
        SELECT length(c.search_vector) AS length,
               ts_filter(setweight(c.search_vector, 'A', t.lexemes), '{{{{a}}}}') AS ranked
    ) f
),
sparse AS (
    SELECT id, row_number() OVER (ORDER BY bm25 DESC, id) AS rank, bm25 FROM (
        SELECT id, bm25 FROM scored ORDER BY bm25 DESC, id LIMIT {{candidates}}
    ) ranked
),
pool AS (SELECT id FROM dense UNION SELECT id FROM sparse)
SELECT c.id, c.document_id, d.title, d.reference, c.section, c.anchor, c.text,
       COALESCE(dense.similarity, 1 - (c.embedding <=> %(embedding)s::vector)) AS similarity,
       COALESCE(scored.bm25, 0), dense.rank, sparse.rank
FROM pool
JOIN knowledge_chunk c ON c.id = pool.id
JOIN knowledge_sourcedocument d ON d.id = c.document_id
LEFT JOIN dense ON dense.id = c.id
LEFT JOIN sparse ON sparse.id = c.id
LEFT JOIN scored ON scored.id = c.id
WHERE d.embedding_model = %(model)s
"""


def chunk_neighbours(*, chunk_id: int, radius: int = 1) -> list[str]:
    """The texts of a chunk and of the chunks around it in its document and section, in reading order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.text FROM knowledge_chunk c
            JOIN knowledge_chunk n ON n.document_id = c.document_id AND n.position BETWEEN c.position - %s
                 AND c.position + %s AND n.section = c.section
            WHERE c.id = %s ORDER BY n.position
            """,
            [int(radius), int(radius), int(chunk_id)],
        )
        return [row[0] for row in cursor.fetchall()]


def search_words(text: str) -> str:
    """The question's words the full-text side reads (the first 64: a bound on the work a question causes), each
    with its other spelling (colour for color): the book may spell it the other way.

    A token with punctuation inside (/readyz, manage.py, docusaurus.config.js) is passed whole as well: PostgreSQL
    indexes such a path or file name as one lexeme, which its words alone ("readyz"; "manage", "py") never
    match."""
    words = words_of(text)[:64]
    compounds = [token for token in tokens_of(text)[:64] if not is_word(token)]
    return " ".join(words + [other for word in words if (other := other_spelling(word))] + compounds)


def chunk_candidates(
    *,
    query: str,
    embedding: Sequence[float],
    candidates: int = 40,
    ef_search: int = 40,
    match_budget: int = 5000,
    bm25: Bm25 | None = None,
) -> list[ChunkHit]:
    """The candidate pool of a hybrid search, unranked: the ``candidates`` nearest chunks (pgvector HNSW, cosine)
    and the ``candidates`` best by BM25, each with its similarity, BM25 score and rank on either side.

    Only chunks embedded by the configured model are returned, filtered after the candidate queries: stale chunks
    exist only until a pending reindex, and keeping those queries free of joins saves planning on every question.
    On tables larger than ``match_budget`` chunks, BM25 ranks only the rarest question words' matches, at most that
    many chunks (see the migration that defines ``knowledge_bm25_terms``, and the statement above).
    """
    bm25 = bm25 or Bm25()
    params = {
        "embedding": _query_vector(embedding),
        "model": embedding_spec().model_id,
        "words": search_words(query),
        "match_budget": float(match_budget),
        "k1": float(bm25.k1),
        "b": float(bm25.b),
    }
    # Literal limits (validated integers) keep the cached generic plan on the HNSW index: a generic plan for
    # "LIMIT $1" assumes a tenth of the table.
    sql = _CANDIDATES_SQL.format(candidates=int(max(candidates, 1)), match_cap=int(max(match_budget, 1)))
    rows = _fetch_with_ef_search(sql, params, ef_search=max(ef_search, candidates))
    return [ChunkHit(*row[:7], 0.0, float(row[7]), float(row[8]), row[9], row[10]) for row in rows]


def chunk_search(
    *,
    query: str,
    embedding: Sequence[float],
    top_k: int,
    candidates: int = 40,
    ef_search: int = 40,
    match_budget: int = 5000,
    bm25: Bm25 | None = None,
    fusion: Fusion | None = None,
    boost: PageBoost | None = None,
) -> list[ChunkHit]:
    """Hybrid search: pgvector cosine (HNSW) and BM25 over Postgres full text, fused (see knowledge.ranking).

    With a page ``boost``, the reader's page's candidates whose fused score is within its margin (a share) of the
    best candidate's score ``1 + weight`` times as much (its section's ``1 + weight * section_factor``): a bounded
    boost for near ties that never excludes other documents. Near-identical chunks are kept once.
    """
    pool = chunk_candidates(
        query=query,
        embedding=embedding,
        candidates=max(candidates, top_k),
        ef_search=ef_search,
        match_budget=match_budget,
        bm25=bm25,
    )
    return rank_candidates(pool, fusion=fusion or Fusion(), top_k=top_k, boost=boost)


def _fetch_with_ef_search(sql: str, params: dict, *, ef_search: int) -> list[tuple]:
    """Run one query with hnsw.ef_search (and statement_timeout, DATABASE_SEARCH_TIMEOUT_SECONDS) set for it
    alone: one round trip, both statements prepared. A search past its time raises Django's OperationalError
    (psycopg's QueryCanceled) instead of holding its thread while the database is busy or a table is locked.

    Pipeline mode sends both statements before one Sync, so they share an implicit transaction (or the caller's)
    and the local setting ends with it: nothing leaks into pooled connections. Prepared statements skip parsing,
    and Postgres plans them as it does any prepared statement: five custom plans, then a cached generic plan when
    that costs no more. Statistics that change (a table growing from a demo to 100k chunks) invalidate the cache.
    """
    # What Django's own cursors do first: replace a reused connection that fails its health check.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        raw = connection.connection
        dumper = _vector_dumper(raw)
        with raw.pipeline(), psycopg.Cursor(raw) as setter, psycopg.Cursor(raw) as cursor:
            cursor.adapters.register_dumper(Vector, dumper)
            setter.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), set_config('statement_timeout', %s, true)",
                [str(ef_search), str(max(int(settings.DATABASE_SEARCH_TIMEOUT_SECONDS * 1000), 0))],
                prepare=True,
            )
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall()


_vector_dumpers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_vector_dumpers_lock = threading.Lock()


def _vector_dumper(raw: psycopg.Connection) -> type:
    """pgvector's binary dumper bound to this database's vector type, looked up once per connection.

    Sent in binary, a query vector costs microseconds to encode and decode; as text, a tenth of a millisecond.
    """
    with _vector_dumpers_lock:
        dumper = _vector_dumpers.get(raw)
    if dumper is None:
        oid = raw.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
        dumper = type("QueryVectorDumper", (VectorBinaryDumper,), {"oid": oid})
        with _vector_dumpers_lock:
            _vector_dumpers[raw] = dumper
    return dumper


def _query_vector(embedding: Sequence[float]) -> Vector:
    return Vector(np.asarray(embedding, dtype=np.float32))


# The book's front page: the ready document whose link has the fewest path segments ("/" or "/docs/" before
# "/docs/intro"), the first by source key among equals.
_FRONT_PAGE_SQL = """
WITH front AS (
    SELECT d.id FROM knowledge_sourcedocument d
    WHERE d.status = 'ready' AND d.reference <> '' AND d.embedding_model = %(model)s
    ORDER BY cardinality(array_remove(string_to_array(
        trim(BOTH '/' FROM split_part(regexp_replace(d.reference, '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', ''), '#', 1)),
        '/'), '')), d.source_key, d.id
    LIMIT 1
)
SELECT c.id, d.id, d.title, d.reference, c.section, c.anchor, c.text, 1 - (c.embedding <=> %(embedding)s::vector)
FROM front JOIN knowledge_sourcedocument d ON d.id = front.id JOIN knowledge_chunk c ON c.document_id = d.id
ORDER BY c.position LIMIT %(limit)s
"""


def front_page_chunks(*, embedding: Sequence[float], limit: int = 3) -> list[ChunkHit]:
    """The first chunks of the book's front page, with their similarity to ``embedding``: what a question
    about the book itself ("What is this book about?") is answered from. Empty when no document has a link."""
    params = {"embedding": _query_vector(embedding), "model": embedding_spec().model_id, "limit": max(int(limit), 1)}
    rows = _fetch_with_ef_search(_FRONT_PAGE_SQL, params, ef_search=40)
    return [ChunkHit(*row[:7], float(row[7]), float(row[7]), None, None, None) for row in rows]


def chunk_nearest(*, embedding: Sequence[float], top_k: int, ef_search: int = 40) -> list[tuple[int, float]]:
    """Dense-only search through the HNSW index: (chunk id, cosine similarity)."""
    rows = _fetch_with_ef_search(
        "SELECT c.id, 1 - (c.embedding <=> %(embedding)s::vector) FROM knowledge_chunk c "
        f"ORDER BY c.embedding <=> %(embedding)s::vector LIMIT {int(top_k)}",
        {"embedding": _query_vector(embedding)},
        ef_search=max(ef_search, top_k),
    )
    return [(row[0], float(row[1])) for row in rows]


@dataclass(frozen=True)
class NearPassage:
    """A passage close to a query, for showing admins what the book says nearest."""

    chunk_id: int
    document_id: int
    title: str
    section: str
    excerpt: str
    similarity: float

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return dict(vars(self))


def passages_nearest(*, embedding: Sequence[float], top_k: int = 3, excerpt_chars: int = 240) -> list[NearPassage]:
    """The ``top_k`` passages most similar to the embedding (cosine), with their documents, best first."""
    pairs = chunk_nearest(embedding=embedding, top_k=top_k)
    chunks = Chunk.objects.select_related("document").only("id", "section", "text", "document__id", "document__title")
    by_id = {chunk.id: chunk for chunk in chunks.filter(id__in=[chunk_id for chunk_id, _ in pairs])}
    passages = []
    for chunk_id, similarity in pairs:
        chunk = by_id.get(chunk_id)
        if chunk is None:
            continue  # deleted between the two reads
        text = " ".join(chunk.text.split())
        excerpt = text if len(text) <= excerpt_chars else text[: excerpt_chars - 1].rstrip() + "…"
        passages.append(
            NearPassage(
                chunk_id=chunk_id,
                document_id=chunk.document.id,
                title=chunk.document.title,
                section=chunk.section,
                excerpt=excerpt,
                similarity=round(similarity, 4),
            )
        )
    return passages


def documents_needing_reindex() -> QuerySet[SourceDocument]:
    """Documents indexed by another embedding model than the configured one."""
    return SourceDocument.objects.exclude(embedding_model="").exclude(embedding_model=embedding_spec().model_id)


@dataclass(frozen=True)
class DocumentSummary:
    """A document as readers and agents see it listed: its title, reference and indexing state."""

    document_id: int
    title: str
    reference: str
    status: str
    chunk_count: int


def document_list() -> list[DocumentSummary]:
    """Every document of the knowledge base, by title."""
    fields = ("id", "title", "reference", "status", "chunk_count")
    rows = SourceDocument.objects.order_by("title", "id").values_list(*fields)
    return [DocumentSummary(*row) for row in rows]


@dataclass(frozen=True)
class ImportedBook:
    """A book imported as an archive in the admin: its name, how many of its pages are documents, and when
    the last of them changed."""

    name: str
    pages: int
    updated_at: datetime
    ready: int = 0
    waiting: int = 0  # pending or being indexed
    failed: int = 0


def imported_books() -> list[ImportedBook]:
    """The books imported as archives, by name."""
    name = Func(F("source_key"), Value("/"), Value(1), function="split_part", output_field=CharField())
    rows = (
        SourceDocument.objects.filter(source_key__startswith=BOOK_KEY_PREFIX)
        .annotate(book=name)
        .values("book")
        .annotate(
            pages=Count("id"),
            updated=Max("updated_at"),
            ready=Count("id", filter=Q(status=SourceDocument.Status.READY)),
            failed=Count("id", filter=Q(status=SourceDocument.Status.FAILED)),
        )
        .order_by("book")
    )
    return [
        ImportedBook(
            name=row["book"].removeprefix(BOOK_KEY_PREFIX),
            pages=row["pages"],
            updated_at=row["updated"],
            ready=row["ready"],
            waiting=row["pages"] - row["ready"] - row["failed"],
            failed=row["failed"],
        )
        for row in rows
    ]


def _page_path(url: str) -> str:
    # Scheme, host, query and fragment aside: the book may be served from another host than its references say.
    path = unquote(urlsplit(url).path).strip("/")
    return f"/{path}" if path else ""


def page_document(*, url: str) -> PageMatch | None:
    """The document whose citation link is this page: the same path, whatever the scheme, host, query or trailing
    slash; the URL's fragment names the section. None for no match, or for a URL that is not http(s)."""
    parts = urlsplit(url)
    path = _page_path(url)
    if parts.scheme not in {"http", "https"} or not path:
        return None
    last = path.rsplit("/", 1)[-1]
    # Narrow by the last path segment (as stored, encoded or not), then compare whole paths.
    candidates = SourceDocument.objects.filter(
        Q(reference__icontains=last) | Q(reference__icontains=quote(last))
    ).values_list("id", "reference")
    matches = sorted(doc_id for doc_id, reference in candidates if _page_path(reference) == path)
    if not matches:
        return None
    return PageMatch(document_id=matches[0], anchor=unquote(parts.fragment))


def document_sites(*, limit: int = 5) -> list[tuple[str, int]]:
    """Where the book is published: the origins (scheme, host and port) of the documents' absolute links, with how
    many documents each holds, most first."""
    counts: Counter[str] = Counter()
    references = SourceDocument.objects.filter(reference__iregex=r"^https?://")
    for reference in references.values_list("reference", flat=True).iterator():
        if origin := browser_origin(reference):
            counts[origin] += 1
    return counts.most_common(limit)


def ingestion_worker_latest() -> IngestionWorker | None:
    """The ingestion worker that reported most recently (None: none ever did)."""
    return IngestionWorker.objects.order_by("-last_seen").first()
