"""Retrieval components: the query embedder, hybrid retrieval over the ORM, selected-text grounding and the
evidence gate."""

import asyncio
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from django.conf import settings
from haystack import Document, component

from knowledge.markdown import section_heading
from knowledge.ranking import (
    Bm25,
    ChunkHit,
    Fusion,
    FusionMethod,
    Normalization,
    PageBoost,
    PageMatch,
    rank_candidates,
)
from knowledge.selectors import chunk_candidates, chunk_neighbours, front_page_chunks, page_document

from .concurrency import run_blocking
from .extractive import QuoteVectors, quotables
from .text import (
    abbreviation_asked,
    asks_about_the_book,
    code_terms,
    content_words,
    defines,
    focus_terms,
    is_book_vocabulary,
    mentioned,
    phrases,
    spells_out,
    spelt_words,
    stems_of,
    terms_asked,
)


class EmbeddingBatcher:
    """Embeds the texts asked for at the same time in one model call, on a thread of its own.

    Callers wait for their vector without holding a worker (``embed_async`` on the event loop, ``embed`` in a
    thread), so under load the batch grows to what has queued: on 2 cores, 100 questions a second embedded one
    by one take a core, in batches a fraction of one. Alone, a question waits only for the hand-over.

    A model call has a fixed cost besides its texts' (about 1.6 ms of CPU against 2.2 ms per question on the
    offline model). So while others ask too (the last batch held several texts, or more came in while it ran),
    a batch also takes what arrives until ``linger`` seconds after the previous batch began: under load the
    model runs at most once per ``linger``, on more questions each time. A lone reader's next question, or one
    after a quiet spell, does not wait.
    """

    def __init__(
        self, *, embed_many: Callable[[list[str]], Sequence[Any]], max_batch: int = 32, linger: float = 0.0
    ) -> None:
        self.embed_many = embed_many
        self.max_batch = max(max_batch, 1)
        self.linger = max(linger, 0.0)
        self._queue: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.warm = False

    def _submit(self, text: str) -> Future:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._serve, name="query-embedder", daemon=True)
                    self._thread.start()
        future: Future = Future()
        self._queue.put((text, future))
        return future

    def warm_up(self) -> None:
        """Embed once, so the model is loaded before the first question (blocks; once: Haystack pipelines warm
        their components up on every run)."""
        if not self.warm:
            self.embed_many(["warm-up"])
            self.warm = True

    def embed(self, text: str) -> Any:
        """The text's embedding (blocks the calling thread)."""
        return self._submit(text).result()

    def embed_all(self, texts: list[str]) -> list[Any]:
        """The texts' embeddings, in order (blocks; they share model calls with whatever else is queued)."""
        futures = [self._submit(text) for text in texts]
        return [future.result() for future in futures]

    async def embed_async(self, text: str) -> Any:
        """The text's embedding, awaited."""
        return await asyncio.wrap_future(self._submit(text))

    def _serve(self) -> None:
        began, others_asking = -math.inf, False
        while True:
            batch = [self._queue.get()]
            gather_until = began + self.linger if others_asking else -math.inf
            while len(batch) < self.max_batch:
                wait = gather_until - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            began = time.monotonic()
            self._run(batch)
            others_asking = len(batch) > 1 or not self._queue.empty()

    def _run(self, batch: list[tuple[str, Future]]) -> None:
        try:
            vectors = self.embed_many([text for text, _ in batch])
        except BaseException as error:  # noqa: BLE001 - every waiter gets the failure
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), vector in zip(batch, vectors, strict=True):
            future.set_result(vector)


@component
class QueryEmbedder:
    """Embed the retrieval query; concurrent queries share one model call (see EmbeddingBatcher).

    The vector travels on as a numpy array: Haystack deep-copies every value passed between components, and a
    list of 384 floats costs milliseconds to copy item by item, an array microseconds.
    """

    def __init__(self, *, batcher: EmbeddingBatcher) -> None:
        self.batcher = batcher

    def warm_up(self) -> None:
        """Load the model before the first question."""
        self.batcher.warm_up()

    async def warm_up_async(self) -> None:
        """As warm_up(), in a thread: the first one waits seconds for the model (later ones return at once)."""
        if not self.batcher.warm:
            await asyncio.to_thread(self.batcher.warm_up)

    @component.output_types(embedding=np.ndarray)
    def run(self, text: str) -> dict[str, np.ndarray]:
        """Return the query's embedding."""
        return {"embedding": np.asarray(self.batcher.embed(text), dtype=np.float32)}

    @component.output_types(embedding=np.ndarray)
    async def run_async(self, text: str) -> dict[str, np.ndarray]:
        """As run(), awaiting the vector instead of holding a thread for it."""
        return {"embedding": np.asarray(await self.batcher.embed_async(text), dtype=np.float32)}


def hit_to_document(hit: ChunkHit) -> Document:
    """A retrieved chunk as a Haystack Document with its citation details in meta.

    Only what later steps read goes in meta: Haystack deep-copies it at every pipeline hop.
    """
    return Document(
        id=str(hit.chunk_id),
        content=hit.text,
        score=hit.score,
        meta={
            "kind": "chunk",
            "chunk_id": hit.chunk_id,
            "document_id": hit.document_id,
            "title": hit.document_title,
            "reference": hit.reference,
            "section": hit.section,
            "anchor": hit.anchor,
            "similarity": hit.similarity,
        },
    )


@dataclass(frozen=True)
class RetrievalConfig:
    """How chat retrieves: fusion, candidate counts, the evidence threshold and query batching."""

    top_k: int = 5
    candidates: int = 40
    fusion: Fusion = Fusion()
    bm25: Bm25 = Bm25()
    ef_search: int = 40
    match_budget: int = 5000
    min_evidence: float = 0.325
    embed_batch: int = 32
    embed_linger_ms: float = 0.0
    page_weight: float = 0.0
    section_factor: float = 1.5
    page_margin: float = 0.2

    @classmethod
    def from_settings(cls) -> "RetrievalConfig":
        """The configuration the settings (and so the environment) give."""
        return cls(
            top_k=settings.CHAT_TOP_K,
            candidates=settings.CHAT_RETRIEVAL_CANDIDATES,
            fusion=Fusion(
                method=FusionMethod(settings.CHAT_FUSION),
                dense_weight=settings.CHAT_DENSE_WEIGHT,
                sparse_weight=settings.CHAT_SPARSE_WEIGHT,
                rrf_k=settings.CHAT_RRF_K,
                dense_share=settings.CHAT_DENSE_SHARE,
                normalization=Normalization(settings.CHAT_FUSION_NORMALIZATION),
            ),
            bm25=Bm25(k1=settings.CHAT_BM25_K1, b=settings.CHAT_BM25_B),
            ef_search=settings.HNSW_EF_SEARCH,
            match_budget=settings.CHAT_FULLTEXT_BUDGET,
            min_evidence=settings.CHAT_MIN_EVIDENCE,
            embed_batch=settings.CHAT_EMBED_BATCH,
            embed_linger_ms=settings.CHAT_EMBED_LINGER_MS,
            page_weight=settings.CHAT_PAGE_WEIGHT,
            section_factor=settings.CHAT_PAGE_SECTION_FACTOR,
            page_margin=settings.CHAT_PAGE_MARGIN,
        )

    def candidate_options(self, *, top_k: int = 0) -> dict[str, Any]:
        """The options knowledge.selectors.chunk_candidates takes (at least ``top_k`` candidates a side)."""
        return {
            "candidates": max(self.candidates, top_k),
            "ef_search": self.ef_search,
            "match_budget": self.match_budget,
            "bm25": self.bm25,
        }

    def page_boost(self, page: PageMatch) -> PageBoost | None:
        """How much the reader's page's near ties gain (None: page context is off)."""
        if self.page_weight <= 0:
            return None
        return PageBoost(
            page=page, weight=self.page_weight, section_factor=self.section_factor, margin=self.page_margin
        )


@component
class HybridRetriever:
    """Hybrid retrieval over our own Django models (pgvector HNSW and BM25 over Postgres full text, fused)."""

    def __init__(self, *, config: RetrievalConfig) -> None:
        self.config = config

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, query_embedding: Any, top_k: int | None = None, page: PageMatch | None = None
    ) -> dict[str, list[Document]]:
        """Return the best chunks, best first (the reader's page's chunks boosted, when there is one)."""
        return {"documents": self.search(query=query, query_embedding=query_embedding, top_k=top_k, page=page)[0]}

    def search(
        self, *, query: str, query_embedding: Any, top_k: int | None = None, page: PageMatch | None = None
    ) -> tuple[list[Document], list[Document]]:
        """The best chunks with the reader's page boosted, and the best without the boost (what the evidence
        gate reads, so a page never changes whether a question is answered). Without a page they are the same."""
        config = self.config
        top_k = max(top_k or config.top_k, 1)
        pool = chunk_candidates(query=query, embedding=query_embedding, **config.candidate_options(top_k=top_k))
        plain = [hit_to_document(hit) for hit in rank_candidates(pool, fusion=config.fusion, top_k=top_k)]
        boost = config.page_boost(page) if page is not None else None
        if boost is None:
            return plain, plain
        boosted = rank_candidates(pool, fusion=config.fusion, top_k=top_k, boost=boost)
        return [_on_page(hit_to_document(hit), hit=hit, page=boost.page) for hit in boosted], plain


def _on_page(document: Document, *, hit: ChunkHit, page: PageMatch) -> Document:
    # The answerers read these: a passage from the reader's page (and section) wins a near tie.
    on_page = hit.document_id == page.document_id
    document.meta["on_page"] = on_page
    document.meta["on_section"] = on_page and bool(page.anchor) and hit.anchor == page.anchor
    return document


class SelectionLocator:
    """Ground a reader's selected passage: find the chunk it came from and put it first, as source [1]."""

    def __init__(self, *, text_embedder: Any, retriever: HybridRetriever, top_k: int = 5) -> None:
        self.text_embedder = text_embedder
        self.retriever = retriever
        self.top_k = top_k

    def ground(self, documents: list[Document], selected_text: str | None) -> list[Document]:
        """Prepend the selection (with the located chunk's citation) to the retrieved neighbours."""
        if not selected_text or not selected_text.strip():
            return documents
        selection = " ".join(selected_text.split())
        # Its opening words find where a passage came from; the rest would cost time, not precision.
        embedding = self.text_embedder.run(text=_opening(selection, words=LOCATE_EMBED_WORDS))["embedding"]
        query = _opening(selection, words=LOCATE_WORDS)
        candidates = self.retriever.run(query=query, query_embedding=embedding, top_k=5)["documents"]
        located = _best_overlap(selection, candidates)
        meta: dict[str, Any] = {"kind": "selection", "title": "Selected passage", "reference": "", "section": ""}
        context: list[Document] = []
        if located is not None:
            meta = {**located.meta, "kind": "selection"}
            # What explains a passage is usually the text around it: its chunk and the chunks either side.
            around = chunk_neighbours(chunk_id=located.meta["chunk_id"], radius=1)
            if around:
                context_meta = {**located.meta, "kind": "chunk", "role": "context"}
                context = [Document(id=f"context:{located.id}", content="\n\n".join(around), meta=context_meta)]
        selection_doc = Document(id=f"selection:{meta.get('chunk_id', '')}", content=selection, score=1.0, meta=meta)
        neighbours = [doc for doc in documents if located is None or doc.id != located.id]
        return [selection_doc, *context, *neighbours][: self.top_k]


# How many opening words of a selection locate it in the book: the full-text side reads more of them than the
# embedding, whose cost grows with its length (a question takes it about 20 ms, 60 words three times that).
LOCATE_WORDS = 60
LOCATE_EMBED_WORDS = 20


def _opening(text: str, *, words: int) -> str:
    return " ".join(text.split(" ", words)[:words])


def _searchable(document: Document) -> str:
    meta = document.meta
    return f"{meta.get('title', '')} {meta.get('section', '')} {document.content or ''}"


def _best_overlap(selection: str, candidates: list[Document]) -> Document | None:
    wanted = set(content_words(selection))
    if not wanted:
        return None
    best, best_share = None, 0.0
    for doc in candidates:
        share = len(wanted & set(content_words(doc.content or ""))) / len(wanted)
        if share > best_share:
            best, best_share = doc, share
    return best if best_share >= 0.6 else None


@component
class EvidenceGate:
    """Decide what the answer rests on: a selected passage (grounded by the locator) and the retrieved chunks.

    Routes to ``no_answer`` (so no LLM is called) when there is no selection and the evidence is too weak.
    Evidence is the best chunk's cosine similarity, weighed with what the words say:
    - a passage just under the threshold (within ``lexical_margin``) is admitted when the top passage holds
      an exact phrase of the question ("zero moment point"), or every name-like term ("SHT45") and every token
      written as code (--prune, /readyz, manage.py) of it, or a piece of it (a sentence, an item, an admonition)
      is as close to the question as ``quote_similarity``; one further under (within ``named_margin``) when the
      top passage writes every word the question asks about, a name among them ("Ollama");
    - a passage over the threshold is declined when a model number, option, path or snake_case name of the
      question appears in none of the passages (below ``model_similarity``), when a name-like term does (below
      ``strong_similarity``), or when most of its focus terms appear in none of them (below
      ``moderate_similarity``; below ``unmentioned_similarity`` when none of two or more does): such near-topic
      questions ask about something the book does not cover.
    """

    def __init__(
        self,
        *,
        min_similarity: float,
        locator: SelectionLocator | None = None,
        lexical_margin: float = 0.05,
        named_margin: float = 0.1,
        strong_similarity: float = 0.6,
        moderate_similarity: float = 0.45,
        unmentioned_similarity: float = 0.5,
        model_similarity: float = 0.8,
        quotes: QuoteVectors | None = None,
        quote_similarity: float = 0.5,
    ) -> None:
        self.min_similarity = min_similarity
        self.locator = locator
        self.quotes = quotes
        self.quote_similarity = quote_similarity
        self.lexical_margin = lexical_margin
        self.named_margin = named_margin
        self.strong_similarity = strong_similarity
        self.moderate_similarity = moderate_similarity
        self.unmentioned_similarity = unmentioned_similarity
        self.model_similarity = model_similarity

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float)
    def run(
        self,
        documents: list[Document],
        selected_text: str | None = None,
        query: str | None = None,
        evidence_documents: list[Document] | None = None,
        query_embedding: Any = None,
    ) -> dict[str, Any]:
        """Pass the documents on, or divert them. The decision reads ``evidence_documents`` when given (the
        retrieval without the reader's page), so that what is answerable never depends on the page."""
        if self.locator is not None and selected_text:
            documents = self.locator.ground(documents, selected_text)
        if any(doc.meta.get("kind") == "selection" for doc in documents):
            return {"documents": documents, "evidence": 1.0}
        basis = documents if evidence_documents is None else evidence_documents
        evidence = max((doc.meta.get("similarity") or 0.0 for doc in basis), default=0.0)
        if not self.admits(query=query or "", documents=basis, similarity=evidence, embedding=query_embedding):
            return {"no_answer": documents, "evidence": evidence}
        return {"documents": documents, "evidence": evidence}

    def admits(self, *, query: str, documents: list[Document], similarity: float, embedding: Any = None) -> bool:
        """Whether the documents support answering the query (``embedding``: its vector, for reading the top
        passage piece by piece)."""
        if not documents:
            return False
        focus, names, models = focus_terms(query)
        if _names_its_section(focus, documents[0]):
            return True
        # The embedding model knows little of a rare abbreviation ("What is TTFB?" is 0.24 like its passage), but
        # a passage that spells it out ("TTFB (Time to First Byte): …") is what the question asks for. Any passage
        # retrieved, not the top one only, here and below: at such similarities the ranking is a near tie ("What
        # does the evidence check do?" ranks a passage that mentions it level with the item that says what it is).
        abbreviation = abbreviation_asked(query)
        if abbreviation and any(spells_out(doc.content or "", abbreviation) for doc in documents):
            return True
        # So with a term of the book's own ("What is the evidence check?" is 0.18 like its list item): a passage
        # with a sentence, item or row that starts with the term asked about defines it. Read passage by passage,
        # best first: reading one costs about 0.3 ms, and the first that defines the term is enough.
        terms = terms_asked(query)
        if terms and any(defines(piece.text, terms) for doc in documents for piece in quotables([doc])):
            return True
        # So, less, with a name it does not know ("Can I use it with Ollama?" is 0.26 like the line that names
        # Ollama): further under the threshold, a top passage that writes every word the question asks about, its
        # names among them, is evidence too (a definition or an expansion asked for needs one, above).
        named = bool(names) and not (terms or abbreviation) and similarity >= self.min_similarity - self.named_margin
        if named and focus <= stems_of(_searchable(documents[0])):
            return True
        if similarity < self.min_similarity - self.lexical_margin:
            return False
        if not query.strip():
            return similarity >= self.min_similarity
        codes = code_terms(query)
        texts = [_searchable(doc) for doc in documents]
        if similarity >= self.min_similarity:
            present = set().union(*map(stems_of, texts))
            # A model number the passages never mention (BMP390 where the book has BME280), or an option, path
            # or setting they never write (--verbose), is a question about something else, however close the
            # topic; so, less surely, is an absent name.
            own = [code for code in codes if is_book_vocabulary(code)]
            written = " ".join(texts).lower() if own else ""
            absent = any(term not in present for term in models) or any(code not in written for code in own)
            if absent and similarity < self.model_similarity:
                return False
            if any(not mentioned(term, present) for term in names) and similarity < self.strong_similarity:
                return False
            missing = [term for term in focus if not mentioned(term, present)]
            # None of two or more focus terms anywhere: a topic next to the book's, closer in meaning than most.
            if len(focus) > 1 and len(missing) == len(focus) and similarity < self.unmentioned_similarity:
                return False
            return not (focus and len(missing) / len(focus) > 0.5 and similarity < self.moderate_similarity)
        # Just under the threshold, only the top passage counts.
        top = texts[0]
        top_words = " ".join(spelt_words(top))
        if any(f" {phrase} " in f" {top_words} " for phrase in phrases(query)):
            return True
        # A passage about more than the question asks may hold the answer in one piece: "Are second-hand spades
        # worth buying?" is 0.29 like its section, 0.53 like its admonition "Buying second-hand: Old spades…".
        if self.quotes is not None and embedding is not None:
            closest = self.quotes.best_similarity(documents=documents[:1], embedding=embedding)
            if closest >= self.quote_similarity:
                return True
        # The embedding model reads --prune or /readyz poorly, so a top passage that writes every such token of
        # the question, and holds its names, is evidence too.
        specific = names | models
        if not specific and not codes:
            return False
        return all(code in top.lower() for code in codes) and (not specific or specific <= stems_of(top))


_ORDINAL = re.compile(r"^\s*\d+(?:\.\d+)*[.)]?\s+")  # "1. Embodiment", "2.3 Wiring": the number is no name


def _names_its_section(focus: set[str], document: Document) -> bool:
    """Whether a question of these focus terms asks for the passage's section by its heading ("What are the key
    takeaways?" of a "Key Takeaways" section, "Summary?"): no passage resembles such a question in meaning, yet
    the book has exactly what it names."""
    heading = _ORDINAL.sub("", section_heading(str(document.meta.get("section") or "")))
    # The heading's words are read as the question's are: "Works offline" names what "Does it work offline?" asks.
    return bool(focus) and focus == focus_terms(heading)[0]


class PageContext(StrEnum):
    """Whether the reader's page shaped retrieval: its document was found, was not, or no page was given."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    NONE = "none"


@component
class GroundedRetriever:
    """Retrieve (with the reader's page), ground a selected passage and apply the evidence gate, as one step.

    A question about the book itself ("What is this book about?") is answered from the start of its front page:
    no passage is similar to such a question, so a search would decline the one every book can answer.

    The retriever and the gate stay separate classes; they share a step because every Haystack hop deep-copies
    the documents it passes on and costs about 0.15 ms per question on Python 3.11.
    """

    def __init__(self, *, retriever: HybridRetriever, gate: EvidenceGate) -> None:
        self.retriever = retriever
        self.gate = gate

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float, page_context=str)
    def run(
        self,
        query: str,
        query_embedding: Any,
        selected_text: str | None = None,
        top_k: int | None = None,
        page_url: str | None = None,
    ) -> dict[str, Any]:
        """The gated documents (or ``no_answer``), the evidence they rest on, and whether the page was used."""
        page_url = page_url if self.retriever.config.page_weight > 0 else None  # page context turned off
        page = page_document(url=page_url) if page_url else None
        context = PageContext.NONE if not page_url else PageContext.MATCHED if page else PageContext.UNMATCHED
        front = [] if selected_text or not asks_about_the_book(query) else front_page_chunks(embedding=query_embedding)
        if front:
            documents = [hit_to_document(hit) for hit in front]
            for document in documents:
                document.meta["front_page"] = True  # the answerers open with how the book introduces itself
            evidence = max(doc.meta["similarity"] for doc in documents)
            return {"documents": documents, "evidence": evidence, "page_context": str(context)}
        documents, unboosted = self.retriever.search(
            query=query, query_embedding=query_embedding, top_k=top_k, page=page
        )
        gated = self.gate.run(
            documents=documents,
            selected_text=selected_text,
            query=query,
            evidence_documents=unboosted,
            query_embedding=query_embedding,
        )
        return {**gated, "page_context": str(context)}

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float, page_context=str)
    async def run_async(
        self,
        query: str,
        query_embedding: Any,
        selected_text: str | None = None,
        top_k: int | None = None,
        page_url: str | None = None,
    ) -> dict[str, Any]:
        """As run(), in the chat worker pool (each of its threads keeps a database connection)."""
        return await run_blocking(
            self.run,
            query=query,
            query_embedding=query_embedding,
            selected_text=selected_text,
            top_k=top_k,
            page_url=page_url,
        )
