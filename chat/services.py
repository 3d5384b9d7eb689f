"""Chat orchestration: sessions, the retrieval and answer pipelines, citations and atomic turns."""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.conf import settings
from django.db import DatabaseError, connection
from haystack import Document
from haystack.core.errors import PipelineRuntimeError
from haystack.dataclasses import ChatMessage

from knowledge.markdown import FENCE
from knowledge.sources import reference_is_safe

from .components import MalformedReply
from .exceptions import (
    DatabaseUnavailable,
    LLMBadResponse,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    SessionNotFound,
    SessionStoreUnavailable,
)
from .pipeline import get_chat_pipelines, stage_timings
from .sessions import SessionStoreError, Turn, get_session_store
from .streaming import StreamCancelled

logger = logging.getLogger(__name__)

NO_ANSWER_MESSAGE = (
    "I couldn't find this in the book, so I can't answer it reliably. Try rephrasing, or ask about a topic it covers."
)
SNIPPET_CHARS = 300

EventCallback = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Source:
    """A cited passage: which document, where, and how well it matched."""

    index: int
    chunk_id: int | None
    document_id: int | None
    title: str
    reference: str
    section: str
    url: str
    snippet: str
    score: float
    kind: str = "chunk"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (every field is a scalar; ``asdict`` would deep-copy each one, 30x slower)."""
        return dict(vars(self))


@dataclass(frozen=True)
class ChatReply:
    """What one message turn produced."""

    session_id: str
    answer: str
    status: str
    sources: list[Source]
    generator: str
    timings_ms: dict[str, float]
    usage: dict[str, Any] = field(default_factory=dict)
    query: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**vars(self), "sources": [source.to_dict() for source in self.sources]}


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except SessionStoreError as error:
        raise SessionStoreUnavailable() from error


def session_create() -> str:
    """Start a session and return its id."""
    with _store_errors():
        return get_session_store().create()


def session_turns(*, session_id: str) -> list[Turn]:
    """The session's kept turns (raises SessionNotFound)."""
    with _store_errors():
        turns = get_session_store().turns(session_id)
    if turns is None:
        raise SessionNotFound()
    return turns


def session_delete(*, session_id: str) -> None:
    """Forget a session (raises SessionNotFound)."""
    with _store_errors():
        if not get_session_store().delete(session_id):
            raise SessionNotFound()


def _history(turns: list[Turn]) -> list[ChatMessage]:
    recent = turns[-settings.CHAT_HISTORY_TURNS :] if settings.CHAT_HISTORY_TURNS else []
    return [
        ChatMessage.from_user(turn.content) if turn.role == "user" else ChatMessage.from_assistant(turn.content)
        for turn in recent
        if turn.content
    ]


def source_url(*, reference: str, anchor: str) -> str:
    """The citation link: the document's reference and its section's anchor on the book's site."""
    if not reference or not reference_is_safe(reference):
        return ""  # only http(s) and relative links ever reach a page
    return f"{reference.split('#', 1)[0]}#{anchor}" if anchor else reference


def source_from_document(index: int, document: Document) -> Source:
    """A numbered source for the reply, from a document given to the generator."""
    meta = document.meta
    # Code keeps its fences in chunk text (the answerer must not quote it); a snippet shows just the code.
    text = " ".join(line for line in (document.content or "").split("\n") if line.strip() != FENCE)
    text = " ".join(text.split())
    return Source(
        index=index,
        chunk_id=meta.get("chunk_id"),
        document_id=meta.get("document_id"),
        title=meta.get("title", ""),
        reference=meta.get("reference", ""),
        section=meta.get("section", ""),
        url=source_url(reference=meta.get("reference", ""), anchor=meta.get("anchor", "")),
        snippet=text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…",
        score=round(float(document.score or 0.0), 6),
        kind=meta.get("kind", "chunk"),
    )


def _unwrap(error: BaseException) -> tuple[BaseException, str | None]:
    component = None
    while isinstance(error, PipelineRuntimeError) and error.__cause__ is not None:
        component = component or error.component_name
        error = error.__cause__
    return error, component


def _raise_mapped(error: BaseException) -> NoReturn:
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
        raise DatabaseUnavailable() from cause
    raise error


LLM_ERRORS = (LLMUnavailable, LLMRateLimited, LLMTimeout, LLMBadResponse)


def _fallback_answer(pipelines: Any, error: BaseException, inputs: dict, *, streamed: bool) -> tuple[dict, str]:
    """With CHAT_LLM_FALLBACK, answer extractively when the LLM fails before it streamed anything; else raise."""
    try:
        _raise_mapped(error)
    except LLM_ERRORS as llm_error:
        if not settings.CHAT_LLM_FALLBACK or streamed or pipelines.fallback is None:
            raise
        logger.warning("LLM failed (%s); answering extractively", llm_error.default_code)
        answered = pipelines.fallback.run(pipelines.extractive_inputs(**inputs))
        return answered, f"extractive (fallback: {llm_error.default_code})"


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


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def chat_reply(
    *,
    session_id: str,
    message: str,
    selected_text: str | None = None,
    on_event: EventCallback | None = None,
) -> ChatReply:
    """Answer one message in a session. The user turn and the reply are stored together, or not at all.

    ``on_event`` receives ("sources", {...}) once retrieval is done and ("token", {"text": ...}) while
    the answer is generated.
    """
    turns = session_turns(session_id=session_id)
    history = _history(turns)
    pipelines = get_chat_pipelines()
    started = time.perf_counter()
    _connect_database()
    generator = pipelines.generator
    emit = on_event or (lambda event, data: None)
    with stage_timings() as timings:
        try:
            retrieved = pipelines.retrieval.run(
                {
                    "rewriter": {"message": message, "history": history},
                    "retriever": {"selected_text": selected_text or None},
                },
                include_outputs_from={"rewriter", "embedder"},
            )
        except Exception as error:  # noqa: BLE001 - mapped to API errors below
            _raise_mapped(error)
        # The pipeline's own bookkeeping between components counts towards retrieval, so the stages add up.
        timings["retrieve"] = _elapsed_ms(started) - timings.get("query", 0.0) - timings.get("embed", 0.0)
        query = retrieved["rewriter"]["query"]
        gated = retrieved["retriever"]
        documents: list[Document] = gated.get("documents") or []
        usage: dict[str, Any] = {}
        if not documents:
            answer, status, cited = NO_ANSWER_MESSAGE, "no_answer", []
            emit("sources", {"sources": []})
            emit("token", {"text": answer})
        else:
            if on_event is not None:
                emit("sources", {"sources": [source_from_document(i, d).to_dict() for i, d in enumerate(documents, 1)]})

            streamed: list[str] = []

            def on_chunk(chunk: Any) -> None:
                if chunk.content:
                    streamed.append(chunk.content)
                    emit("token", {"text": chunk.content})

            inputs = {
                "question": message,
                "documents": documents,
                "history": history,
                "query_embedding": retrieved["embedder"]["embedding"],
                # Without a listener the generator is called without streaming.
                "streaming_callback": on_chunk if on_event else None,
            }
            generating = time.perf_counter()
            try:
                answered = pipelines.answer.run(pipelines.answer_inputs(**inputs))
            except Exception as error:  # noqa: BLE001 - mapped to API errors below
                answered, generator = _fallback_answer(pipelines, error, inputs, streamed=bool(streamed))
            timings["generate"] = _elapsed_ms(generating)
            result = answered["citations"]
            usage = result["usage"]
            status, cited = result["status"], result["cited"]
            if status == "answered" and documents and documents[0].meta.get("kind") == "selection" and 1 not in cited:
                # An answer about a selection rests on it even when it quotes the text around it.
                cited = [1, *cited]
            answer = result["answer"] if status != "no_answer" else NO_ANSWER_MESSAGE
    timings = {stage: round(ms, 1) for stage, ms in timings.items()}
    timings["total"] = round(_elapsed_ms(started), 1)
    sources = [source_from_document(number, documents[number - 1]) for number in cited]
    reply = ChatReply(
        session_id=session_id,
        answer=answer,
        status=status,
        sources=sources,
        generator=generator,
        timings_ms=timings,
        usage=usage,
        query=query,
    )
    _store_turns(session_id=session_id, message=message, selected_text=selected_text, reply=reply)
    if settings.CHAT_LOG_MESSAGES:
        logger.info("chat session=%s status=%s message=%r", session_id, status, message)
    else:
        logger.info("chat session=%s status=%s generator=%s timings=%s", session_id, status, reply.generator, timings)
    return reply


def _store_turns(*, session_id: str, message: str, selected_text: str | None, reply: ChatReply) -> None:
    user = Turn(role="user", content=message, data={"selected_text": selected_text} if selected_text else {})
    assistant = Turn(
        role="assistant",
        content=reply.answer,
        data={
            "status": reply.status,
            "generator": reply.generator,
            "sources": [source.to_dict() for source in reply.sources],
        },
    )
    with _store_errors():
        stored = get_session_store().append(session_id, [user, assistant])
    if not stored:
        raise SessionNotFound()
