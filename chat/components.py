"""Haystack components of our own: query rewriting, hybrid retrieval over the ORM, the evidence gate,
selected-text grounding, the offline extractive answerer and citation validation."""

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np
from haystack import Document, component
from haystack.dataclasses import ChatMessage, StreamingChunk

from knowledge.ingestion import chunk_context
from knowledge.selectors import ChunkHit, chunk_search

logger = logging.getLogger(__name__)

NO_ANSWER_MARKER = "NO_ANSWER"
SELECTION_MARKER = "SELECTION_DOES_NOT_ANSWER"

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*#]|\s*\d+\.)")
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being do does did
    done have has had what which who whom whose when where why how that this these those it its they them
    their there then than so such can could should would may might must will shall not no nor only own same
    too very just about into over after before under again further once here all any both each few more most
    other some i me my we our you your he him his she her also one ones use used using tell say said
    please explain describe give""".split()
)
FOLLOW_UP_WORDS = frozenset(
    "it its they them their he him his she her that this those these there then one ones former latter".split()
)


def content_words(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words that carry meaning."""
    return [_stem(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


MAX_SENTENCE_WORDS = 60


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in a text (no downloads: regex rules, not nltk).

    Over-long spans (code blocks, lists without full stops) are cut at line breaks.
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    spans = [piece for begin, end in spans for piece in _split_long(text, begin, end)]
    out = []
    for begin, end in spans:
        chunk = text[begin:end]
        stripped = chunk.strip().lstrip("#*- ").strip()
        if len(stripped) >= 3:
            offset = begin + chunk.index(stripped)
            out.append((offset, offset + len(stripped)))
    return out


def _split_long(text: str, begin: int, end: int) -> list[tuple[int, int]]:
    if len(text[begin:end].split()) <= MAX_SENTENCE_WORDS:
        return [(begin, end)]
    pieces, start = [], begin
    for match in re.finditer(r"\n", text[begin:end]):
        cut = begin + match.start()
        if len(text[start:cut].split()) >= 8:
            pieces.append((start, cut))
            start = cut + 1
    pieces.append((start, end))
    return pieces


def _is_prose(sentence: str) -> bool:
    """Whether a span reads as a sentence, not a fragment of code or a command line (not worth quoting)."""
    visible = [ch for ch in sentence if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return "```" not in sentence and len(sentence.split()) >= 3 and letters >= 0.7 * max(len(visible), 1)


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
        if located is not None:
            meta = {**located.meta, "kind": "selection"}
        selection_doc = Document(id=f"selection:{meta.get('chunk_id', '')}", content=selection, score=1.0, meta=meta)
        neighbours = [doc for doc in documents if located is None or doc.id != located.id]
        return [selection_doc, *neighbours][: self.top_k]


def _document_context(document: Document) -> str:
    if document.meta.get("chunk_id") is None:
        return ""  # a selection we could not place in the book has no section to read it in
    return chunk_context(title=document.meta.get("title", ""), section=document.meta.get("section", ""))


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

    Routes to ``no_answer`` when there is no selection and the best retrieval evidence is below the threshold,
    so no LLM is called.
    """

    def __init__(self, *, min_similarity: float, locator: SelectionLocator | None = None) -> None:
        self.min_similarity = min_similarity
        self.locator = locator

    @component.output_types(documents=list[Document], no_answer=list[Document], evidence=float)
    def run(self, documents: list[Document], selected_text: str | None = None) -> dict[str, Any]:
        """Pass the documents on, or divert them."""
        if self.locator is not None and selected_text:
            documents = self.locator.ground(documents, selected_text)
        if any(doc.meta.get("kind") == "selection" for doc in documents):
            return {"documents": documents, "evidence": 1.0}
        evidence = max((doc.meta.get("similarity") or 0.0 for doc in documents), default=0.0)
        if evidence < self.min_similarity:
            return {"no_answer": documents, "evidence": evidence}
        return {"documents": documents, "evidence": evidence}


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
        return self.gate.run(documents=documents, selected_text=selected_text)


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
class ExtractiveAnswerer:
    """The offline answerer: quotes the retrieved sentences that best answer the question, with citations.

    Sentences are scored by embedding similarity to the question and by the share of the question's content
    words they contain. It never writes new text, and says so through its ``generator`` name.
    """

    NAME = "extractive"

    def __init__(
        self,
        *,
        sentence_embedder: Any,
        semantic_weight: float = 0.5,
        min_score: float = 0.2,
        selection_min_score: float = 0.3,
        cache_size: int = 20000,
    ) -> None:
        self.sentence_embedder = sentence_embedder
        self.semantic_weight = semantic_weight
        self.min_score = min_score
        self.selection_min_score = selection_min_score
        self.cache_size = cache_size
        # The same chunks come back for many questions: their sentence vectors are worth keeping.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @component.output_types(replies=list[ChatMessage])
    def run(
        self,
        question: str,
        documents: list[Document],
        query_embedding: Any | None = None,
        streaming_callback: Any | None = None,
    ) -> dict[str, list[ChatMessage]]:
        """Return one reply: quoted sentences with [n] citations, or a marker when nothing fits."""
        candidates = [
            (index, sentence)
            for index, doc in enumerate(documents, start=1)
            for start, end in split_sentences(doc.content or "")
            if _is_prose(sentence := (doc.content or "")[start:end])
        ]
        text = self._compose(question, documents, candidates, query_embedding)
        if streaming_callback is not None:
            for piece in re.findall(r"\S+\s*", text):
                streaming_callback(StreamingChunk(content=piece))
        return {"replies": [ChatMessage.from_assistant(text, meta={"model": self.NAME})]}

    def _scores(self, question: str, sentences: list[str], contexts: list[str], query_embedding: Any) -> np.ndarray:
        # A sentence is read in its section's context: "Its chief engineer was..." under "Bridges > Golden Gate".
        in_context = [
            f"{context}: {sentence}" if context else sentence
            for sentence, context in zip(sentences, contexts, strict=True)
        ]
        lexical = self._lexical(question, in_context)
        if query_embedding is None:
            return lexical
        vectors = self._sentence_vectors(in_context)
        query = np.asarray(query_embedding, dtype=float)
        semantic = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query) + 1e-9)
        return self.semantic_weight * semantic + (1 - self.semantic_weight) * lexical

    @staticmethod
    def _lexical(question: str, sentences: list[str]) -> np.ndarray:
        """Weighted share of the question's words in each sentence. Words found in many candidate sentences
        (usually the topic, e.g. a name repeated throughout a section) weigh less than rarer ones (the focus)."""
        wanted = set(content_words(question))
        if not wanted:
            return np.zeros(len(sentences))
        words = [set(content_words(sentence)) for sentence in sentences]
        count = len(sentences)
        weight = {w: np.log(1 + count / (1 + sum(w in sentence for sentence in words))) for w in wanted}
        total = sum(weight.values())
        return np.array([sum(weight[w] for w in wanted & sentence) / total for sentence in words], dtype=float)

    def _sentence_vectors(self, sentences: list[str]) -> np.ndarray:
        # Scoring needs the gist of a sentence, not all of a 300-token line of code.
        clipped = [" ".join(s.split()[:MAX_SENTENCE_WORDS]) for s in sentences]
        with self._cache_lock:
            known = {s: self._cache[s] for s in clipped if s in self._cache}
            for s in known:
                self._cache.move_to_end(s)
        missing = list(dict.fromkeys(s for s in clipped if s not in known))
        if missing:
            embedded = self.sentence_embedder.run(documents=[Document(content=s) for s in missing])["documents"]
            fresh = {s: np.asarray(doc.embedding, dtype=float) for s, doc in zip(missing, embedded, strict=True)}
            known.update(fresh)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.array([known[s] for s in clipped], dtype=float)

    def _compose(self, question, documents, candidates, query_embedding) -> str:
        if not candidates:
            return NO_ANSWER_MARKER
        contexts = [_document_context(documents[index - 1]) for index, _ in candidates]
        scores = self._scores(question, [sentence for _, sentence in candidates], contexts, query_embedding)
        has_selection = bool(documents) and documents[0].meta.get("kind") == "selection"
        if has_selection:
            in_selection = [i for i, (index, _) in enumerate(candidates) if index == 1]
            if in_selection and len(set(content_words(question))) <= 1:
                # "What does this mean?": the question is about the selection itself, so it is the answer.
                return self._quote([candidates[i] for i in in_selection[:2]])
            best = max(in_selection, key=lambda i: scores[i], default=None)
            if best is not None and scores[best] >= self.selection_min_score:
                return self._quote([candidates[best]])
            outside = [i for i in range(len(candidates)) if candidates[i][0] != 1]
            elsewhere = max(outside, key=lambda i: scores[i], default=None)
            message = f"{SELECTION_MARKER} The selected passage does not answer this question."
            if elsewhere is not None and scores[elsewhere] >= self.min_score:
                message += " Elsewhere in the sources: " + self._quote([candidates[elsewhere]])
            return message
        order = np.argsort(-scores)
        best = int(order[0])
        if scores[best] < self.min_score:
            return NO_ANSWER_MARKER
        chosen = [candidates[best]]
        if len(order) > 1:
            second = int(order[1])
            if scores[second] >= 0.9 * scores[best] and candidates[second][1] != candidates[best][1]:
                chosen.append(candidates[second])
        return self._quote(chosen)

    @staticmethod
    def _quote(chosen: list[tuple[int, str]]) -> str:
        # Line breaks inside a quoted sentence are the source's wrapping, not meaning.
        return " ".join(f"“{' '.join(sentence.split())}” [{index}]" for index, sentence in chosen)


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
