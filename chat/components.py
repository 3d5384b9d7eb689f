"""Haystack components of our own: query rewriting, hybrid retrieval over the ORM, the evidence gate,
selected-text grounding, the offline extractive answerer and citation validation."""

import logging
import re
from dataclasses import replace
from typing import Any

import numpy as np
from haystack import Document, component
from haystack.dataclasses import ChatMessage

from knowledge.selectors import ChunkHit, chunk_neighbours, chunk_search

from .extractive import NO_ANSWER_MARKER, SELECTION_MARKER
from .text import content_words, focus_terms, mentioned, phrases, stems_of

logger = logging.getLogger(__name__)

FOLLOW_UP_WORDS = frozenset(
    "it its they them their he him his she her that this those these there then one ones former latter".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def is_follow_up(message: str) -> bool:
    """A message that leans on earlier turns: few content words, or a pronoun standing in for a topic."""
    words = [word.lower() for word in _WORD.findall(message)]
    return len(content_words(message)) <= 3 or any(word in FOLLOW_UP_WORDS for word in words)


@component
class QueryRewriter:
    """Offline standalone-query builder: a follow-up is joined with the previous user question."""

    @component.output_types(query=str)
    def run(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """Return the text to retrieve with."""
        previous = [turn.text for turn in (history or []) if turn.is_from("user") and turn.text]
        if previous and is_follow_up(message):
            return {"query": f"{message} {previous[-1]}"}
        return {"query": message}


@component
class LLMQueryRewriter:
    """Condense the conversation into a standalone question with the LLM; offline rules if it fails."""

    PROMPT = (
        "Rewrite the user's last message as one standalone question that can be understood without the "
        "conversation. Keep names and details; do not answer it. Reply with the question only."
    )

    def __init__(self, *, generator: Any) -> None:
        self.generator = generator
        self.fallback = QueryRewriter()

    @component.output_types(query=str)
    def run(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """Return the text to retrieve with."""
        if not history:
            return {"query": message}
        transcript = "\n".join(f"{turn.role.value}: {turn.text}" for turn in history[-6:] if turn.text)
        messages = [
            ChatMessage.from_system(self.PROMPT),
            ChatMessage.from_user(
                f"<conversation>\n{transcript}\n</conversation>\n<last_message>\n{message}\n</last_message>"
            ),
        ]
        try:
            reply = self.generator.run(messages=messages)["replies"][0].text or ""
        except Exception as error:  # noqa: BLE001 - a failed rewrite must not fail the answer
            logger.warning("query rewrite failed, using the offline rules: %s", type(error).__name__)
            return self.fallback.run(message=message, history=history)
        reply = reply.strip().strip('"')
        return {"query": reply if 0 < len(reply) <= 1000 else message}


@component
class QueryEmbedder:
    """Embed the retrieval query with the configured text embedder.

    The vector travels on as a numpy array: Haystack deep-copies every value passed between components, and a
    list of 384 floats costs milliseconds to copy item by item, an array microseconds.
    """

    def __init__(self, *, text_embedder: Any) -> None:
        self.text_embedder = text_embedder

    def warm_up(self) -> None:
        """Load the model."""
        if hasattr(self.text_embedder, "warm_up"):
            self.text_embedder.warm_up()

    @component.output_types(embedding=np.ndarray)
    def run(self, text: str) -> dict[str, np.ndarray]:
        """Return the query's embedding."""
        return {"embedding": np.asarray(self.text_embedder.run(text=text)["embedding"], dtype=np.float32)}


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


@component
class HybridRetriever:
    """Hybrid retrieval over our own Django models (pgvector HNSW + Postgres full text, fused by RRF)."""

    def __init__(
        self,
        *,
        top_k: int = 5,
        candidates: int = 40,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        rrf_k: int = 60,
        ef_search: int = 40,
        match_budget: int = 5000,
    ) -> None:
        self.top_k = top_k
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight
        self.rrf_k = rrf_k
        self.ef_search = ef_search
        self.match_budget = match_budget

    @component.output_types(documents=list[Document])
    def run(self, query: str, query_embedding: Any, top_k: int | None = None) -> dict[str, list[Document]]:
        """Return the best chunks, best first."""
        hits = chunk_search(
            query=query,
            embedding=query_embedding,
            top_k=top_k or self.top_k,
            candidates=self.candidates,
            dense_weight=self.dense_weight,
            sparse_weight=self.sparse_weight,
            rrf_k=self.rrf_k,
            ef_search=self.ef_search,
            match_budget=self.match_budget,
        )
        return {"documents": [hit_to_document(hit) for hit in hits]}


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
        embedding = self.text_embedder.run(text=selection[:2000])["embedding"]
        candidates = self.retriever.run(query=selection[:2000], query_embedding=embedding, top_k=5)["documents"]
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
      an exact phrase of the question ("zero moment point") or every name-like term of it ("SHT45");
    - a passage over the threshold is declined when a name-like term of the question appears in none of the
      passages (below ``strong_similarity``), or when most of its focus terms appear in none of them (below
      ``moderate_similarity``): such near-topic questions ask about something the book does not cover.
    """

    def __init__(
        self,
        *,
        min_similarity: float,
        locator: SelectionLocator | None = None,
        lexical_margin: float = 0.05,
        strong_similarity: float = 0.6,
        moderate_similarity: float = 0.45,
        model_similarity: float = 0.8,
    ) -> None:
        self.min_similarity = min_similarity
        self.locator = locator
        self.lexical_margin = lexical_margin
        self.strong_similarity = strong_similarity
        self.moderate_similarity = moderate_similarity
        self.model_similarity = model_similarity

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float)
    def run(
        self, documents: list[Document], selected_text: str | None = None, query: str | None = None
    ) -> dict[str, Any]:
        """Pass the documents on, or divert them."""
        if self.locator is not None and selected_text:
            documents = self.locator.ground(documents, selected_text)
        if any(doc.meta.get("kind") == "selection" for doc in documents):
            return {"documents": documents, "evidence": 1.0}
        evidence = max((doc.meta.get("similarity") or 0.0 for doc in documents), default=0.0)
        if not self.admits(query=query or "", documents=documents, similarity=evidence):
            return {"no_answer": documents, "evidence": evidence}
        return {"documents": documents, "evidence": evidence}

    def admits(self, *, query: str, documents: list[Document], similarity: float) -> bool:
        """Whether the documents support answering the query."""
        if similarity < self.min_similarity - self.lexical_margin or not documents:
            return False
        if not query.strip():
            return similarity >= self.min_similarity
        focus, names, models = focus_terms(query)
        present = set().union(*(stems_of(_searchable(doc)) for doc in documents))
        if similarity >= self.min_similarity:
            # A model number the passages never mention (BMP390 where the book has BME280) is a question
            # about something else, however close the topic; so, less surely, is an absent name.
            if any(term not in present for term in models) and similarity < self.model_similarity:
                return False
            if any(not mentioned(term, present) for term in names) and similarity < self.strong_similarity:
                return False
            missing = [term for term in focus if not mentioned(term, present)]
            return not (focus and len(missing) / len(focus) > 0.5 and similarity < self.moderate_similarity)
        top = _searchable(documents[0])
        top_words = " ".join(re.findall(r"[^\W_][\w'\-]*", top.lower()))
        if any(f" {phrase} " in f" {top_words} " for phrase in phrases(query)):
            return True
        specific = names | models
        return bool(specific) and specific <= stems_of(top)


@component
class GroundedRetriever:
    """Retrieve, ground a selected passage and apply the evidence gate, as one pipeline step.

    The retriever and the gate stay separate classes; they share a step because every Haystack hop deep-copies
    the documents it passes on and costs about 0.15 ms per question on Python 3.11.
    """

    def __init__(self, *, retriever: HybridRetriever, gate: EvidenceGate) -> None:
        self.retriever = retriever
        self.gate = gate

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float)
    def run(
        self, query: str, query_embedding: Any, selected_text: str | None = None, top_k: int | None = None
    ) -> dict[str, Any]:
        """The gated documents (or ``no_answer``) and the evidence they rest on."""
        documents = self.retriever.run(query=query, query_embedding=query_embedding, top_k=top_k)["documents"]
        return self.gate.run(documents=documents, selected_text=selected_text, query=query)


_DELIMITERS = re.compile(r"</?\s*(knowledge|source|selected_passage|question|conversation)\b", re.IGNORECASE)


def neutralise_delimiters(text: str) -> str:
    """Keep data from closing or opening our prompt's data tags."""
    return _DELIMITERS.sub(lambda match: match.group(0).replace("<", "‹"), text)


@component
class PromptData:
    """Prepare retrieved and selected text, and the user's message, for the prompt's data blocks."""

    @component.output_types(documents=list[Document], question=str)
    def run(self, documents: list[Document], question: str) -> dict[str, Any]:
        """Return copies with delimiter look-alikes neutralised."""
        cleaned = [replace(doc, content=neutralise_delimiters(doc.content or "")) for doc in documents]
        return {"documents": cleaned, "question": neutralise_delimiters(question)}


@component
class CitationValidator:
    """Keep only citations that point at a given source; read the answer's status from its markers."""

    @component.output_types(answer=str, status=str, cited=list[int], usage=dict, model=str)
    def run(self, replies: list[ChatMessage], source_count: int) -> dict[str, Any]:
        """Return the cleaned answer, its status and the 1-based source numbers (1..source_count) it cites."""
        if not replies or replies[0].text is None or not replies[0].text.strip():
            raise MalformedReply("The language model returned no text.")
        reply = replies[0]
        text = reply.text.strip()
        usage = dict(reply.meta.get("usage") or {})
        model = str(reply.meta.get("model") or "")
        if text.strip(" .") == NO_ANSWER_MARKER or text.startswith(NO_ANSWER_MARKER):
            return {"answer": "", "status": "no_answer", "cited": [], "usage": usage, "model": model}
        status = "answered"
        if text.startswith(SELECTION_MARKER):
            status, text = "selection_only", text[len(SELECTION_MARKER) :].strip()
        cited: list[int] = []

        def keep_valid(match: re.Match) -> str:
            numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
            valid = [n for n in numbers if 1 <= n <= source_count]
            cited.extend(n for n in valid if n not in cited)
            return "".join(f"[{n}]" for n in valid)

        text = _CITATION.sub(keep_valid, text)
        # Tidy the gaps dropped citations leave ("it [9]." -> "it ."), without touching ".md"-like text.
        text = re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
        return {"answer": text, "status": status, "cited": cited, "usage": usage, "model": model}


def closing_openai_generator_class() -> type:
    """OpenAIChatGenerator that closes the HTTP stream when streaming stops early (client gone), so the
    LLM server stops generating instead of filling a socket nobody reads."""
    from haystack.components.generators.chat import OpenAIChatGenerator  # noqa: PLC0415

    @component
    class ClosingOpenAIChatGenerator(OpenAIChatGenerator):
        def _handle_stream_response(self, chat_completion, callback):
            try:
                return OpenAIChatGenerator._handle_stream_response(self, chat_completion, callback)
            finally:
                close = getattr(chat_completion, "close", None)
                if close is not None:
                    close()

    return ClosingOpenAIChatGenerator


class MalformedReply(ValueError):
    """The generator's output cannot be used."""
