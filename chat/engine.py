"""The chat engine: one object owns the pipelines, their inputs, the stage timings and the error mapping.

Sync callers (commands, benchmarks, the WSGI server) and the async views use the same engine; the services
layer around it handles sessions, sources and events.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.conf import settings
from django.db import DatabaseError, connection
from haystack import Document, Pipeline
from haystack.core.errors import PipelineRuntimeError
from haystack.dataclasses import ChatMessage

from knowledge.embedding_process import EmbeddingProcessFailed

from .answering import MalformedReply, ReplyStatus
from .concurrency import run_blocking
from .exceptions import (
    DatabaseUnavailable,
    EmbeddingUnavailable,
    LLMBadResponse,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    database_failure,
)
from .generation import serve_on_running_loop
from .pipeline import ChatPipelines, build_chat_pipelines, stage_timings
from .streaming import StreamCancelled

logger = logging.getLogger(__name__)

NO_ANSWER_MESSAGE = (
    "I couldn't find this in the book, so I can't answer it reliably. Try rephrasing, or ask about a topic it covers."
)
LLM_ERRORS = (LLMUnavailable, LLMRateLimited, LLMTimeout, LLMBadResponse)

# Receives each piece of answer text as it is generated; may be called from a worker thread.
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Retrieval:
    """What the question retrieved: the standalone query, the gated documents and the query's vector."""

    query: str
    documents: list[Document]
    embedding: Any
    timings_ms: dict[str, float] = field(default_factory=dict)
    page_context: str = "none"  # whether the reader's page shaped retrieval: matched, unmatched or none


@dataclass(frozen=True)
class Answer:
    """What the generator answered, with the 1-based numbers of the documents it cites."""

    text: str
    status: ReplyStatus
    cited: list[int]
    generator: str
    usage: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _unwrap(error: BaseException) -> tuple[BaseException, str | None]:
    component = None
    while isinstance(error, PipelineRuntimeError) and error.__cause__ is not None:
        component = component or error.component_name
        error = error.__cause__
    return error, component


def raise_mapped(error: BaseException) -> NoReturn:
    """Turn pipeline failures into API errors with stable codes."""
    import openai  # noqa: PLC0415

    cause, component = _unwrap(error)
    if isinstance(cause, StreamCancelled):
        raise cause  # the client went away: not an LLM failure
    if isinstance(cause, openai.APITimeoutError):
        raise LLMTimeout() from cause
    if isinstance(cause, openai.RateLimitError):
        raise LLMRateLimited() from cause
    if isinstance(cause, (openai.APIConnectionError, openai.InternalServerError)):
        raise LLMUnavailable() from cause
    if isinstance(cause, openai.APIStatusError):
        raise (LLMUnavailable() if cause.status_code >= 500 else LLMBadResponse()) from cause
    if isinstance(cause, MalformedReply) or component == "llm":
        # Anything else the LLM component raises means its output could not be used (bad JSON, no choices...).
        raise LLMBadResponse() from cause
    if isinstance(cause, DatabaseError):
        raise database_failure(cause) from cause
    if isinstance(cause, EmbeddingProcessFailed):
        raise EmbeddingUnavailable() from cause
    raise error


def _collector(on_token: TokenCallback | None) -> tuple[list[str], Callable[[Any], None] | None]:
    """What has streamed so far, and the streaming callback that passes text on (None: do not stream)."""
    streamed: list[str] = []
    if on_token is None:
        return streamed, None

    def on_chunk(chunk: Any) -> None:
        if chunk.content:
            streamed.append(chunk.content)
            on_token(chunk.content)

    return streamed, on_chunk


def _connect_database() -> None:
    """Connect, or health-check a reused connection, before the query is embedded.

    A database that is down fails the request before the embedding is spent, and the search after it is a
    single round trip.
    """
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as error:
        raise DatabaseUnavailable() from error


class ChatEngine:
    """Retrieve and answer with the process's pipelines."""

    def __init__(self, *, pipelines: ChatPipelines) -> None:
        self.pipelines = pipelines

    @property
    def generator(self) -> str:
        """Which generator answers ("extractive" or "openai:<model>")."""
        return self.pipelines.generator

    def _all_pipelines(self) -> list[Pipeline]:
        pipelines = (self.pipelines.retrieval, self.pipelines.answer, self.pipelines.fallback)
        return [pipeline for pipeline in pipelines if pipeline is not None]

    def warm_up(self) -> None:
        """Load every model and run the query embedder once (QueryEmbedder.warm_up), so the first reader does not
        wait for it."""
        for pipeline in self._all_pipelines():
            pipeline.warm_up()

    async def warm_up_async(self) -> None:
        """On the serving event loop, for the process's life: make the async model clients, which belong to
        the loop they were made on, so the first burst of readers does not make one each."""
        serve_on_running_loop()
        for pipeline in self._all_pipelines():
            await pipeline.warm_up_async()

    async def close_async(self) -> None:
        """On the serving event loop, as the server stops: close the async model clients' connections."""
        for pipeline in self._all_pipelines():
            for _, instance in pipeline.walk():
                close = getattr(instance, "close_async", None)
                if close is not None:
                    await close()

    def embed_query(self, text: str) -> Any:
        """The query embedding retrieval uses (blocking)."""
        return self.pipelines.retrieval.get_component("embedder").run(text=text)["embedding"]

    def embed_texts(self, texts: list[str]) -> list[Any]:
        """Query embeddings of several texts at once (blocking), through the same batching embedder."""
        return self.pipelines.retrieval.get_component("embedder").batcher.embed_all(texts)

    async def embed_query_async(self, text: str) -> Any:
        """The query embedding retrieval uses, from the batching embedder (holds no thread while it waits)."""
        return (await self.pipelines.retrieval.get_component("embedder").run_async(text=text))["embedding"]

    @staticmethod
    def _retrieval_inputs(
        message: str, history: list[ChatMessage], selected_text: str | None, page_url: str | None
    ) -> dict:
        return {
            "rewriter": {"message": message, "history": history},
            "retriever": {"selected_text": selected_text or None, "page_url": page_url or None},
        }

    def retrieve(
        self,
        *,
        message: str,
        history: list[ChatMessage],
        selected_text: str | None = None,
        page_url: str | None = None,
    ) -> Retrieval:
        """The standalone query, its embedding and the gated documents (blocking: database and model).
        ``page_url`` is the page the reader asks from: its document's passages get a bounded boost."""
        started = time.perf_counter()
        _connect_database()
        with stage_timings() as timings:
            try:
                retrieved = self.pipelines.retrieval.run(
                    self._retrieval_inputs(message, history, selected_text, page_url),
                    include_outputs_from={"rewriter", "embedder"},
                )
            except Exception as error:  # noqa: BLE001 - mapped to API errors
                raise_mapped(error)
        return self._retrieval(retrieved, timings, started)

    async def retrieve_async(
        self,
        *,
        message: str,
        history: list[ChatMessage],
        selected_text: str | None = None,
        page_url: str | None = None,
    ) -> Retrieval:
        """As retrieve(), holding a worker thread only for the SQL: the query is rewritten on the loop (or by
        the LLM, awaited) and embedded by the batching embedder.

        The database is not checked first, as retrieve() does: that would be a hop to a pool thread other than
        the one that searches (each keeps its own connection). A database that is down fails the search."""
        started = time.perf_counter()
        with stage_timings() as timings:
            try:
                retrieved = await self.pipelines.retrieval.run_async(
                    self._retrieval_inputs(message, history, selected_text, page_url),
                    include_outputs_from={"rewriter", "embedder"},
                )
            except Exception as error:  # noqa: BLE001 - mapped to API errors
                raise_mapped(error)
        return self._retrieval(retrieved, timings, started)

    @staticmethod
    def _retrieval(retrieved: dict, timings: dict[str, float], started: float) -> Retrieval:
        # The pipeline's own bookkeeping between components counts towards retrieval, so the stages add up.
        timings["retrieve"] = _elapsed_ms(started) - timings.get("query", 0.0) - timings.get("embed", 0.0)
        return Retrieval(
            query=retrieved["rewriter"]["query"],
            documents=retrieved["retriever"].get("documents") or [],
            embedding=retrieved["embedder"]["embedding"],
            timings_ms=dict(timings),
            page_context=retrieved["retriever"]["page_context"],
        )

    def _inputs(
        self, retrieval: Retrieval, question: str, history: list[ChatMessage], callback: Any, max_tokens: int | None
    ) -> dict:
        return {
            "question": question,
            "documents": retrieval.documents,
            "history": history,
            "query_embedding": retrieval.embedding,
            "streaming_callback": callback,
            "max_tokens": max_tokens,
        }

    def search(self, *, query: str, embedding: Any, top_k: int | None = None) -> list[Document]:
        """The best passages for a query whose vector is known, by hybrid retrieval without the evidence gate
        (blocking: connects, or health-checks the connection, and searches on the calling thread). ``top_k``
        defaults to the chat's own."""
        retriever = self.pipelines.retrieval.get_component("retriever").retriever
        _connect_database()
        try:
            return retriever.run(query=query, query_embedding=embedding, top_k=top_k)["documents"]
        except DatabaseError as error:
            raise database_failure(error) from error

    async def search_async(self, *, query: str, top_k: int) -> list[Document]:
        """The best passages for a query by hybrid retrieval, without the evidence gate or an answer."""
        embedding = await self.embed_query_async(query)
        # One hop into the worker pool: connect (or health-check) and search on the same thread.
        return await run_blocking(self.search, query=query, embedding=embedding, top_k=top_k)

    def answer(
        self,
        *,
        retrieval: Retrieval,
        question: str,
        history: list[ChatMessage],
        on_token: TokenCallback | None = None,
        max_tokens: int | None = None,
    ) -> Answer:
        """Generate the answer (blocking). ``on_token`` gets the text as it streams; without it, no streaming.
        ``max_tokens`` bounds the language model's answer (the extractive answerer quotes what it finds)."""
        if not retrieval.documents:
            return self._not_covered(on_token)
        streamed, on_chunk = _collector(on_token)

        started = time.perf_counter()
        inputs = self._inputs(retrieval, question, history, on_chunk, max_tokens)
        generator = self.generator
        try:
            answered = self.pipelines.answer.run(self.pipelines.answer_inputs(**inputs))
        except Exception as error:  # noqa: BLE001 - mapped to API errors, or answered by the fallback
            code = self._fallback_code(error, streamed=bool(streamed))
            answered, generator = self._run_fallback(code, inputs)
        return self._result(answered, retrieval, generator, started, on_token, streamed)

    async def answer_async(
        self,
        *,
        retrieval: Retrieval,
        question: str,
        history: list[ChatMessage],
        on_token: TokenCallback | None = None,
        max_tokens: int | None = None,
    ) -> Answer:
        """Generate the answer without holding a thread while the language model talks.

        The extractive answerer is CPU work and runs in the worker pool. Cancelling the task (the reader went
        away) closes the model's HTTP stream.
        """
        if not retrieval.documents:
            return self._not_covered(on_token)
        if not self.pipelines.uses_llm:
            return await run_blocking(
                self.answer, retrieval=retrieval, question=question, history=history, on_token=on_token
            )
        streamed, on_chunk = _collector(on_token)

        async def on_chunk_async(chunk: Any) -> None:
            on_chunk(chunk)

        started = time.perf_counter()
        inputs = self._inputs(retrieval, question, history, on_chunk_async if on_token else None, max_tokens)
        generator = self.generator
        try:
            answered = await self.pipelines.answer.run_async(self.pipelines.answer_inputs(**inputs))
        except Exception as error:  # noqa: BLE001 - mapped to API errors, or answered by the fallback
            code = self._fallback_code(error, streamed=bool(streamed))
            inputs["streaming_callback"] = None
            answered, generator = await run_blocking(self._run_fallback, code, inputs)
        return self._result(answered, retrieval, generator, started, on_token, streamed)

    def _fallback_code(self, error: BaseException, *, streamed: bool) -> str:
        """The LLM failure's error code when CHAT_LLM_FALLBACK may answer instead (nothing streamed yet);
        otherwise raise the mapped error."""
        try:
            raise_mapped(error)
        except LLM_ERRORS as mapped:
            if not settings.CHAT_LLM_FALLBACK or streamed or self.pipelines.fallback is None:
                raise
            return mapped.default_code

    def _run_fallback(self, code: str, inputs: dict) -> tuple[dict, str]:
        logger.warning("LLM failed (%s); answering extractively", code)
        answered = self.pipelines.fallback.run(self.pipelines.extractive_inputs(**inputs))
        return answered, f"extractive (fallback: {code})"

    def _not_covered(self, on_token: TokenCallback | None) -> Answer:
        if on_token is not None:
            on_token(NO_ANSWER_MESSAGE)
        return Answer(text=NO_ANSWER_MESSAGE, status=ReplyStatus.NO_ANSWER, cited=[], generator=self.generator)

    def _result(
        self,
        answered: dict,
        retrieval: Retrieval,
        generator: str,
        started: float,
        on_token: TokenCallback | None,
        streamed: list[str],
    ) -> Answer:
        result = answered["citations"]
        status, cited = ReplyStatus(result["status"]), list(result["cited"])
        documents = retrieval.documents
        if status == ReplyStatus.ANSWERED and documents[0].meta.get("kind") == "selection" and 1 not in cited:
            # An answer about a selection rests on it even when it quotes the text around it.
            cited = [1, *cited]
        text = result["answer"]
        if status == ReplyStatus.NO_ANSWER:
            text = NO_ANSWER_MESSAGE
            if on_token is not None and not streamed:
                on_token(text)
        return Answer(
            text=text,
            status=status,
            cited=cited,
            generator=generator,
            usage=result["usage"],
            timings_ms={"generate": _elapsed_ms(started)},
        )


_engine: ChatEngine | None = None
_lock = threading.Lock()


def get_chat_engine() -> ChatEngine:
    """The per-process engine, built (and its models loaded) on first use."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = ChatEngine(pipelines=build_chat_pipelines())
        return _engine


def reset_chat_engine() -> None:
    """Forget the engine (tests, settings changes)."""
    global _engine
    with _lock:
        _engine = None
