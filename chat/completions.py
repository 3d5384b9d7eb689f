"""The book as an OpenAI-compatible model: chat completions answered by the same chat service as the REST API.

The messages array is the conversation (no server-side session): the last user message is the question, the
earlier turns are its history. Answers keep their [n] citations and end with a short list of the sources.
"""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from django.conf import settings

from knowledge.markdown import section_heading

from .exceptions import ModelNotFound, openai_error_body
from .services import ChatReply, Page, history_from_turns, question_answer_async
from .sessions import Turn
from .streaming import EventCallback

SOURCES_HEADING = "Sources:"


@dataclass(frozen=True)
class CompletionRequest:
    """A validated chat completion request, as the chat service needs it."""

    model: str
    question: str
    history: list[tuple[str, str]]
    selected_text: str | None = None
    page: Page | None = None
    max_tokens: int | None = None
    include_usage: bool = False

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> "CompletionRequest":
        """From ChatCompletionRequestSerializer's validated data (raises ModelNotFound for another model)."""
        if data["model"] != settings.COMPLETIONS_MODEL_ID:
            raise ModelNotFound()
        return cls(
            model=data["model"],
            question=data["question"],
            history=data["history"],
            selected_text=data.get("selected_text") or None,
            page=data.get("page"),
            max_tokens=data.get("max_tokens"),
            include_usage=data["include_usage"],
        )


def model_list() -> dict[str, Any]:
    """The models this server offers: the book."""
    return {"object": "list", "data": [_model()]}


def _model() -> dict[str, Any]:
    return {"id": settings.COMPLETIONS_MODEL_ID, "object": "model", "created": 0, "owned_by": "chatbot"}


def _without_sources(text: str) -> str:
    # Our earlier answers come back in the history with their sources list; the query rewriter needs only the text.
    return text.split(f"\n\n{SOURCES_HEADING}\n", 1)[0]


async def completion_answer_async(*, request: CompletionRequest, on_event: EventCallback | None = None) -> ChatReply:
    """Answer the request's question with its conversation as history; nothing is stored."""
    turns = [
        Turn(role=role, content=_without_sources(content) if role == "assistant" else content)
        for role, content in request.history
    ]
    return await question_answer_async(
        message=request.question,
        history=history_from_turns(turns),
        selected_text=request.selected_text,
        page=request.page,
        on_event=on_event,
        max_tokens=request.max_tokens,
    )


def absolute_url(url: str, *, base: str) -> str:
    """A citation link that works outside the book's pages: relative links resolve against BOOK_SITE_URL (or
    ``base``, this server's address)."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return urljoin(settings.BOOK_SITE_URL or base, url)


def linked_sources(reply: ChatReply, *, base: str) -> list[dict[str, Any]]:
    """The reply's sources as dicts, with absolute links."""
    return [{**source.to_dict(), "url": absolute_url(source.url, base=base)} for source in reply.sources]


def sources_text(sources: list[dict[str, Any]]) -> str:
    """The short sources list that ends an answer's text (empty when nothing is cited)."""
    if not sources:
        return ""
    lines = []
    for source in sources:
        heading = section_heading(source["section"])
        name = f"{source['title']} > {heading}" if heading and heading != source["title"] else source["title"]
        lines.append(f"[{source['index']}] {name}" + (f": <{source['url']}>" if source["url"] else ""))
    return f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines)


def _usage(reply: ChatReply) -> dict[str, int] | None:
    usage = reply.usage or {}
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    if not all(isinstance(usage.get(key), int) for key in keys):
        return None  # the extractive answerer counts no tokens
    return {key: usage[key] for key in keys}


def _extras(reply: ChatReply, sources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sources": sources,
        "status": reply.status,
        "generator": reply.generator,
        "timings_ms": reply.timings_ms,
        "page_context": reply.page_context,
    }


def completion_body(*, reply: ChatReply, request: CompletionRequest, base: str) -> dict[str, Any]:
    """A chat.completion object for the reply; `sources` (and how it was answered) ride beside the choices."""
    sources = linked_sources(reply, base=base)
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.answer + sources_text(sources)},
                "finish_reason": "stop",
            }
        ],
        **_extras(reply, sources),
    }
    usage = _usage(reply)
    if usage is not None:
        body["usage"] = usage
    return body


def _data(payload: Any) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def chunk_encoder(*, request: CompletionRequest, base: str) -> Callable[[str, Any], str]:
    """Writes the chat service's events as OpenAI's chat.completion.chunk stream, ending with `data: [DONE]`.

    The role goes out as soon as retrieval is done, then the answer's text as it is generated; the last chunk
    carries the sources list (in its text and as `sources`). A failure mid-stream is an `error` payload, which
    the openai SDK raises as an APIError.
    """
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time())}
    head["model"] = request.model

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return _data({**head, "choices": [choice], **extra})

    def encode(name: str, data: Any) -> str:
        if name == "sources":
            return chunk({"role": "assistant", "content": ""})
        if name == "token":
            return chunk({"content": data["text"]})
        if name == "done":
            reply: ChatReply = data
            sources = linked_sources(reply, base=base)
            text = chunk({"content": sources_text(sources)}, "stop", **_extras(reply, sources))
            usage = _usage(reply)
            if request.include_usage:
                text += _data({**head, "choices": [], "usage": usage})
            return text + "data: [DONE]\n\n"
        if name == "error":
            error = data["error"]
            return _data(openai_error_body(status_code=500, code=error["code"], message=error["message"]))
        return ""

    return encode
