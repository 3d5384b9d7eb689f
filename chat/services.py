"""Chat orchestration: sessions, sources and atomic turns around the chat engine, for sync and async callers."""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from haystack import Document
from haystack.dataclasses import ChatMessage

from knowledge.markdown import without_fence_lines
from knowledge.selectors import document_list
from knowledge.sources import reference_is_safe

from . import feedback_services
from .answering import ReplyStatus
from .concurrency import run_blocking, run_later, run_later_async
from .engine import NO_ANSWER_MESSAGE, Answer, Retrieval, get_chat_engine  # noqa: F401 - NO_ANSWER_MESSAGE for callers
from .exceptions import (
    AnswerNotFound,
    SessionNotFound,
    SessionStoreFullError,
    SessionStoreUnavailable,
    database_failure,
)
from .models import Feedback, Rating
from .sessions import SessionStoreError, SessionStoreFull, Turn, get_session_store
from .streaming import EventCallback

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 300


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
class Page:
    """The page of the book the reader asks from (the widget sends it)."""

    url: str
    title: str = ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {"url": self.url, "title": self.title}


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
    page_context: str = "none"
    answer_id: str = ""  # what a reader's rating of this answer refers to

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**vars(self), "sources": [source.to_dict() for source in self.sources]}


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except SessionStoreError as error:
        raise SessionStoreUnavailable() from error
    except SessionStoreFull as error:
        raise SessionStoreFullError() from error


def _found(turns: list[Turn] | None) -> list[Turn]:
    if turns is None:
        raise SessionNotFound()
    return turns


def session_create() -> str:
    """Start a session and return its id."""
    with _store_errors():
        return get_session_store().create()


async def session_create_async() -> str:
    """Start a session and return its id."""
    with _store_errors():
        return await get_session_store().acreate()


def session_turns(*, session_id: str) -> list[Turn]:
    """The session's kept turns (raises SessionNotFound)."""
    with _store_errors():
        return _found(get_session_store().turns(session_id))


async def session_turns_async(*, session_id: str) -> list[Turn]:
    """The session's kept turns (raises SessionNotFound)."""
    with _store_errors():
        return _found(await get_session_store().aturns(session_id))


def session_delete(*, session_id: str) -> None:
    """Forget a session (raises SessionNotFound)."""
    with _store_errors():
        if not get_session_store().delete(session_id):
            raise SessionNotFound()


async def session_delete_async(*, session_id: str) -> None:
    """Forget a session (raises SessionNotFound)."""
    with _store_errors():
        if not await get_session_store().adelete(session_id):
            raise SessionNotFound()


def history_from_turns(turns: list[Turn]) -> list[ChatMessage]:
    """The conversation the standalone query is made from: the last CHAT_HISTORY_TURNS turns."""
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


def source_from_document(index: int, document: Document, *, snippet_chars: int | None = SNIPPET_CHARS) -> Source:
    """A numbered source for the reply, from a document given to the generator (``snippet_chars`` None: the
    whole passage)."""
    meta = document.meta
    # Code keeps its fences in chunk text (the answerer must not quote it); a snippet shows just the code.
    text = " ".join(without_fence_lines(document.content or "").split())
    if snippet_chars is not None and len(text) > snippet_chars:
        text = text[: snippet_chars - 1].rstrip() + "…"
    return Source(
        index=index,
        chunk_id=meta.get("chunk_id"),
        document_id=meta.get("document_id"),
        title=meta.get("title", ""),
        reference=meta.get("reference", ""),
        section=meta.get("section", ""),
        url=source_url(reference=meta.get("reference", ""), anchor=meta.get("anchor", "")),
        snippet=text,
        score=round(float(document.score or 0.0), 6),
        kind=meta.get("kind", "chunk"),
    )


def _emit_sources(on_event: EventCallback | None, retrieval: Retrieval) -> None:
    if on_event is not None:
        documents = retrieval.documents
        on_event("sources", {"sources": [source_from_document(i, d).to_dict() for i, d in enumerate(documents, 1)]})


def _token_callback(on_event: EventCallback | None) -> Callable[[str], None] | None:
    if on_event is None:
        return None  # without a listener the generator is called without streaming
    return lambda text: on_event("token", {"text": text})


def _reply(*, session_id: str, message: str, retrieval: Retrieval, answer: Answer, started: float) -> ChatReply:
    timings = {stage: round(ms, 1) for stage, ms in {**retrieval.timings_ms, **answer.timings_ms}.items()}
    timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    reply = ChatReply(
        session_id=session_id,
        answer=answer.text,
        status=str(answer.status),
        sources=[source_from_document(number, retrieval.documents[number - 1]) for number in answer.cited],
        generator=answer.generator,
        timings_ms=timings,
        usage=answer.usage,
        query=retrieval.query,
        page_context=retrieval.page_context,
        answer_id=uuid.uuid4().hex,
    )
    logged_session = session_id or "-"  # "-": an answer without a session (OpenAI-compatible API, MCP)
    if settings.CHAT_LOG_MESSAGES:
        logger.info("chat session=%s status=%s message=%r", logged_session, reply.status, message)
    else:
        logger.info(
            "chat session=%s status=%s generator=%s timings=%s",
            logged_session,
            reply.status,
            reply.generator,
            timings,
        )
    return reply


def _record_kwargs(*, reply: ChatReply, retrieval: Retrieval, message: str, selected_text: str | None) -> dict:
    """What the content loop keeps of an answer (counted always, by answer_tally; its question kept when the book
    had none)."""
    return {
        "answer_id": reply.answer_id,
        "status": reply.status,
        "question": message,
        "selected_text": selected_text,
        "query": retrieval.query,
        "embedding": retrieval.embedding,
    }


def _page_of(turns: list[Turn]) -> Page | None:
    """The page the latest question was asked on, so a follow-up sent without one keeps it."""
    for turn in reversed(turns):
        if turn.role == "user":
            page = turn.data.get("page")
            return Page(url=page["url"], title=page.get("title", "")) if page else None
    return None


def _turns(*, message: str, selected_text: str | None, page: Page | None, reply: ChatReply) -> list[Turn]:
    data: dict[str, Any] = {"selected_text": selected_text} if selected_text else {}
    if page is not None:
        data["page"] = page.to_dict()
    user = Turn(role="user", content=message, data=data)
    assistant = Turn(
        role="assistant",
        content=reply.answer,
        data={
            "status": reply.status,
            "generator": reply.generator,
            "sources": [source.to_dict() for source in reply.sources],
            "answer_id": reply.answer_id,
            "query": reply.query,
        },
    )
    return [user, assistant]


def _respond(
    *,
    message: str,
    history: list[ChatMessage],
    selected_text: str | None,
    page: Page | None,
    on_event: EventCallback | None,
) -> tuple[Retrieval, Answer]:
    """Retrieve and answer, blocking; the sources event goes out between the two."""
    engine = get_chat_engine()
    page_url = page.url if page else None
    retrieval = engine.retrieve(message=message, history=history, selected_text=selected_text, page_url=page_url)
    _emit_sources(on_event, retrieval)
    answer = engine.answer(retrieval=retrieval, question=message, history=history, on_token=_token_callback(on_event))
    return retrieval, answer


def chat_reply(
    *,
    session_id: str,
    message: str,
    selected_text: str | None = None,
    page: Page | None = None,
    on_event: EventCallback | None = None,
) -> ChatReply:
    """Answer one message in a session (blocking). The user turn and the reply are stored together, or not at all."""
    turns = session_turns(session_id=session_id)
    history, page = history_from_turns(turns), page or _page_of(turns)
    started = time.perf_counter()
    kwargs = {"message": message, "history": history, "selected_text": selected_text, "page": page}
    retrieval, answer = _respond(**kwargs, on_event=on_event)
    reply = _reply(session_id=session_id, message=message, retrieval=retrieval, answer=answer, started=started)
    feedback_services.answer_tally(status=reply.status)
    run_later(
        feedback_services.answer_record,
        **_record_kwargs(reply=reply, retrieval=retrieval, message=message, selected_text=selected_text),
    )
    with _store_errors():
        stored = get_session_store().append(
            session_id, _turns(message=message, selected_text=selected_text, page=page, reply=reply)
        )
    if not stored:
        raise SessionNotFound()
    return reply


async def passage_search_async(*, query: str, top_k: int) -> list[Source]:
    """The passages hybrid retrieval finds best for a query, whole, without answering."""
    documents = await get_chat_engine().search_async(query=query, top_k=top_k)
    return [source_from_document(index, document, snippet_chars=None) for index, document in enumerate(documents, 1)]


async def document_summaries_async() -> list[dict[str, Any]]:
    """The knowledge base's documents with their links, for clients that list what the book holds."""
    try:
        summaries = await run_blocking(document_list)
    except DatabaseError as error:
        raise database_failure(error) from error
    return [
        {
            "title": summary.title,
            "url": source_url(reference=summary.reference, anchor=""),
            "status": summary.status,
            "chunks": summary.chunk_count,
        }
        for summary in summaries
    ]


async def question_answer_async(
    *,
    message: str,
    history: list[ChatMessage],
    selected_text: str | None = None,
    page: Page | None = None,
    on_event: EventCallback | None = None,
    max_tokens: int | None = None,
    session_id: str = "",
) -> ChatReply:
    """Answer a question given its conversation so far, storing nothing; every endpoint's answers come from here.

    Retrieval runs in the worker pool; cancelling the task (the reader went away) stops generation.
    """
    engine = get_chat_engine()
    started = time.perf_counter()
    if not engine.pipelines.uses_llm:
        # Offline, every step is CPU or database work: one hop into the worker pool for all of it.
        kwargs = {"message": message, "history": history, "selected_text": selected_text, "page": page}
        retrieval, answer = await run_blocking(_respond, **kwargs, on_event=on_event)
    else:
        retrieval = await engine.retrieve_async(
            message=message, history=history, selected_text=selected_text, page_url=page.url if page else None
        )
        _emit_sources(on_event, retrieval)
        answer = await engine.answer_async(
            retrieval=retrieval,
            question=message,
            history=history,
            on_token=_token_callback(on_event),
            max_tokens=max_tokens,
        )
    reply = _reply(session_id=session_id, message=message, retrieval=retrieval, answer=answer, started=started)
    feedback_services.answer_tally(status=reply.status)
    await run_later_async(
        feedback_services.answer_record,
        **_record_kwargs(reply=reply, retrieval=retrieval, message=message, selected_text=selected_text),
    )
    return reply


async def chat_reply_async(
    *,
    session_id: str,
    message: str,
    selected_text: str | None = None,
    page: Page | None = None,
    on_event: EventCallback | None = None,
) -> ChatReply:
    """Answer one message in a session without holding a thread while the language model talks.

    The user turn and the reply are stored together once the answer is complete; a cancelled answer stores
    nothing. A follow-up sent without a page keeps the page of the question before it.
    """
    turns = await session_turns_async(session_id=session_id)
    history, page = history_from_turns(turns), page or _page_of(turns)
    reply = await question_answer_async(
        message=message,
        history=history,
        selected_text=selected_text,
        page=page,
        on_event=on_event,
        session_id=session_id,
    )
    with _store_errors():
        turns = _turns(message=message, selected_text=selected_text, page=page, reply=reply)
        stored = await get_session_store().aappend(session_id, turns)
    if not stored:
        raise SessionNotFound()
    return reply


def _rated_answer(turns: list[Turn], answer_id: str) -> feedback_services.RatedAnswer:
    for position, turn in enumerate(turns):
        if turn.role == "assistant" and turn.data.get("answer_id") == answer_id:
            asked = turns[position - 1] if position and turns[position - 1].role == "user" else None
            return feedback_services.RatedAnswer(
                answer_id=answer_id,
                question=asked.content if asked else "",
                selected_text=(asked.data.get("selected_text") or "") if asked else "",
                answer=turn.content,
                sources=turn.data.get("sources") or [],
                generator=turn.data.get("generator", ""),
                status=turn.data.get("status", ""),
                query=turn.data.get("query") or (asked.content if asked else ""),
            )
    raise AnswerNotFound()


async def feedback_submit_async(*, session_id: str, answer_id: str, rating: str, comment: str = "") -> Feedback:
    """A reader's thumbs up or down (and comment) on one answer of their session; a second vote changes it."""
    rated = _rated_answer(await session_turns_async(session_id=session_id), answer_id)
    embedding = None
    if rating == Rating.DOWN and settings.CHAT_RECORD_QUESTIONS and rated.query:
        embedding = await get_chat_engine().embed_query_async(rated.query)
    try:
        return await run_blocking(
            feedback_services.feedback_save, rated=rated, rating=rating, comment=comment, embedding=embedding
        )
    except DatabaseError as error:
        raise database_failure(error) from error


def question_status(question: str, selected_text: str = "") -> ReplyStatus:
    """How the current knowledge base answers a question now (answered, no_answer...), recording nothing."""
    retrieval, answer = _respond(
        message=question, history=[], selected_text=selected_text or None, page=None, on_event=None
    )
    return answer.status
