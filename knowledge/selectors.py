"""Reads from the knowledge base: hybrid chunk search, document lists and index health."""

import functools
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import numpy as np
import psycopg
from django.db import connection
from django.db.models import Q, QuerySet
from pgvector import Vector
from pgvector.psycopg.vector import VectorBinaryDumper

from .embedders import embedding_spec
from .models import SEARCH_CONFIG, Chunk, IngestionWorker, SourceDocument

_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ChunkHit:
    """One retrieved chunk with its fused score and the evidence behind it."""

    chunk_id: int
    document_id: int
    document_title: str
    reference: str
    section: str
    anchor: str
    text: str
    score: float
    similarity: float | None
    lexical: float | None
    dense_rank: int | None
    sparse_rank: int | None
    base_score: float = 0.0  # the score without the reader's page (equal to score without one)


@dataclass(frozen=True)
class PageMatch:
    """The document a reader's page shows, and the section its URL names (empty: none)."""

    document_id: int
    anchor: str


_HYBRID_SQL = f"""
WITH dense AS (
    SELECT id, row_number() OVER () AS rank, similarity FROM (
        SELECT c.id, 1 - (c.embedding <=> %(embedding)s::vector) AS similarity
        FROM knowledge_chunk c
        ORDER BY c.embedding <=> %(embedding)s::vector
        LIMIT {{candidates}}
    ) ranked
),
sparse AS (
    SELECT id, row_number() OVER () AS rank, lexical FROM (
        SELECT c.id, ts_rank_cd(c.search_vector, q.query, 32) AS lexical, c.search_vector @@ qa.query AS every_term
        FROM knowledge_chunk c,
             knowledge_lexical_tsquery('{SEARCH_CONFIG}', %(text_query)s, %(match_budget)s) AS q(query),
             plainto_tsquery('{SEARCH_CONFIG}', %(query)s) AS qa(query)
        WHERE c.search_vector @@ q.query
        ORDER BY every_term DESC, lexical DESC, c.id
        LIMIT {{candidates}}
    ) ranked
),
fused AS (
    SELECT COALESCE(dense.id, sparse.id) AS id,
           COALESCE(%(dense_weight)s / (%(rrf_k)s + dense.rank), 0)
           + COALESCE(%(sparse_weight)s / (%(rrf_k)s + sparse.rank), 0) AS score,
           dense.similarity, sparse.lexical, dense.rank AS dense_rank, sparse.rank AS sparse_rank
    FROM dense FULL OUTER JOIN sparse ON dense.id = sparse.id
)
-- The reader's page: its document's candidates that are nearly as similar as the best candidate (within
-- page_margin) score (1 + page_weight) times as much, its section's (1 + page_weight * section_factor): a near tie
-- goes to the page; a clearly better passage elsewhere stays first.
SELECT c.id, c.document_id, d.title, d.reference, c.section, c.anchor, c.text,
       f.score * CASE WHEN c.document_id = %(page_document)s
                           AND f.similarity >= max(f.similarity) OVER () - %(page_margin)s
                      THEN 1 + %(page_weight)s * CASE WHEN c.anchor = %(page_anchor)s THEN %(section_factor)s ELSE 1 END
                      ELSE 1 END AS score,
       f.similarity, f.lexical, f.dense_rank, f.sparse_rank, f.score AS base_score
FROM fused f
JOIN knowledge_chunk c ON c.id = f.id
JOIN knowledge_sourcedocument d ON d.id = c.document_id
WHERE d.embedding_model = %(model)s
ORDER BY score DESC, c.id
LIMIT {{limit}}
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


def lexical_query(text: str) -> str:
    """A websearch_to_tsquery string that ORs the words, so natural questions need not match every term."""
    words = [word for word in _WORDS.findall(text.lower()) if word not in {"or", "and", "not"}]
    return " or ".join(words[:64])


def chunk_search(
    *,
    query: str,
    embedding: Sequence[float],
    top_k: int,
    candidates: int = 40,
    dense_weight: float = 1.0,
    sparse_weight: float = 1.0,
    rrf_k: int = 60,
    ef_search: int = 40,
    match_budget: int = 5000,
    page: PageMatch | None = None,
    page_weight: float = 0.0,
    section_factor: float = 1.5,
    page_margin: float = 0.05,
) -> list[ChunkHit]:
    """Hybrid search: pgvector cosine (HNSW) and Postgres full text, fused by reciprocal rank fusion.

    With the reader's ``page``, that document's candidates within ``page_margin`` of the best candidate's
    similarity score ``1 + page_weight`` times as much (its section's ``1 + page_weight * section_factor``): a
    bounded boost for near ties that never excludes other documents.

    Only chunks embedded by the configured model are returned, filtered after fusion: stale chunks exist only
    until a pending reindex, and keeping the candidate queries free of joins saves planning on every question.
    Near-identical chunks are kept once. On tables larger than ``match_budget`` chunks, full text ranks only the
    rarest question words' matches, about that many chunks (see the migration that defines
    ``knowledge_lexical_tsquery``).
    """
    params = {
        "embedding": _query_vector(embedding),
        "model": embedding_spec().model_id,
        "text_query": lexical_query(query),
        "query": query[:2000],
        "dense_weight": float(dense_weight),
        "sparse_weight": float(sparse_weight),
        "rrf_k": float(rrf_k),
        "match_budget": float(match_budget),
        "page_document": page.document_id if page is not None and page_weight > 0 else None,
        "page_anchor": page.anchor if page is not None else "",
        "page_weight": float(page_weight),
        "section_factor": float(section_factor),
        "page_margin": float(page_margin),
    }
    # Literal limits (validated integers) keep the cached generic plan on the HNSW index: a generic plan for
    # "LIMIT $1" assumes a tenth of the table.
    sql = _HYBRID_SQL.format(candidates=int(max(candidates, top_k)), limit=int(top_k) * 2)
    rows = _fetch_with_ef_search(sql, params, ef_search=max(ef_search, candidates))
    return deduplicate_hits(hits=[ChunkHit(*row) for row in rows], limit=top_k)


def _fetch_with_ef_search(sql: str, params: dict, *, ef_search: int) -> list[tuple]:
    """Run one query with hnsw.ef_search set for it alone: one round trip, both statements prepared.

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
            setter.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)], prepare=True)
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


@functools.lru_cache(maxsize=2048)
def _shingles(text: str) -> frozenset[int]:
    # The same chunks come back for many questions; hashed 3-grams keep a cached entry to a few kilobytes.
    words = _WORDS.findall(text.lower())
    grams = zip(words, words[1:], words[2:], strict=False) if len(words) > 2 else [tuple(words)]
    return frozenset(map(hash, grams))


def deduplicate_hits(*, hits: list[ChunkHit], threshold: float = 0.9, limit: int | None = None) -> list[ChunkHit]:
    """The first ``limit`` hits whose text is not near-identical (Jaccard of word 3-grams >= threshold) to a
    better one."""
    kept: list[tuple[ChunkHit, frozenset[int]]] = []
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        shingles = _shingles(hit.text)
        if any(len(shingles & other) / max(len(shingles | other), 1) >= threshold for _, other in kept):
            continue
        kept.append((hit, shingles))
    return [hit for hit, _ in kept]


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


def ingestion_worker_latest() -> IngestionWorker | None:
    """The ingestion worker that reported most recently (None: none ever did)."""
    return IngestionWorker.objects.order_by("-last_seen").first()
