"""The answer's data and checks: prompt data with delimiters neutralised, and citation validation."""

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from haystack import Document, component
from haystack.dataclasses import ChatMessage

from knowledge.markdown import fence_roles

from .extractive import NO_ANSWER_MARKER, SELECTION_MARKER


class ReplyStatus(StrEnum):
    """What a reply is: an answer, the book's not covering it, or an answer from beside a selection."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    SELECTION_ONLY = "selection_only"


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")  # captured, so that splitting keeps the spans


_DELIMITERS = re.compile(r"</?\s*(knowledge|source|selected_passage|question|conversation)\b", re.IGNORECASE)


def neutralise_delimiters(text: str) -> str:
    """Keep data from closing or opening our prompt's data tags."""
    return _DELIMITERS.sub(lambda match: match.group(0).replace("<", "‹"), text)


def _attribute(value: Any) -> str:
    return str(value or "").replace('"', "'")


def _source_block(number: int, document: Document) -> str:
    meta = document.meta
    flags = (
        (' selected="true"' if meta.get("kind") == "selection" else "")
        + (' context="true"' if meta.get("role") == "context" else "")
        + (' page="true"' if meta.get("on_page") else "")
    )
    return (
        f'<source id="{number}" title="{_attribute(meta.get("title"))}" section="{_attribute(meta.get("section"))}"'
        f"{flags}>\n{neutralise_delimiters(document.content or '')}\n</source>\n"
    )


@component
class PromptBuilder:
    """The chat prompt: the rules, the conversation so far, then the sources and the question as delimited data.

    Built in Python rather than with Haystack's ChatPromptBuilder, which compiles its Jinja template again on
    every run (a sixth of the CPU a streamed answer costs the server). Delimiter look-alikes in the data are
    neutralised so no text can close or open a block.
    """

    def __init__(self, *, system_prompt: str) -> None:
        self.system_prompt = system_prompt

    @component.output_types(prompt=list[ChatMessage])
    def run(
        self, documents: list[Document], question: str, history: list[ChatMessage] | None = None
    ) -> dict[str, list[ChatMessage]]:
        """The messages for the model."""
        sources = "".join(_source_block(number, doc) for number, doc in enumerate(documents, start=1))
        user = f"<knowledge>\n{sources}</knowledge>\n<question>\n{neutralise_delimiters(question)}\n</question>"
        system = ChatMessage.from_system(self.system_prompt)
        return {"prompt": [system, *(history or []), ChatMessage.from_user(user)]}

    @component.output_types(prompt=list[ChatMessage])
    async def run_async(
        self, documents: list[Document], question: str, history: list[ChatMessage] | None = None
    ) -> dict[str, list[ChatMessage]]:
        """As run(); microseconds of work, so it runs on the event loop instead of a thread."""
        return self.run(documents=documents, question=question, history=history)


def in_prose(text: str, change: Callable[[str], str]) -> str:
    """The text with ``change`` made to its prose alone: fenced code blocks and inline code spans stay as written,
    so quoted code keeps its indentation and its ``ranges[0]`` is no citation."""
    lines = text.split("\n")
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            parts = _INLINE_CODE.split("\n".join(prose))
            out.append("".join(part if index % 2 else change(part) for index, part in enumerate(parts)))
            prose.clear()

    for index, role in fence_roles(lines):
        if role == "text":
            prose.append(lines[index])
        else:
            flush()
            out.append(lines[index])
    flush()
    return "\n".join(out)


@component
class CitationValidator:
    """Keep only citations that point at a given source; read the answer's status from its markers."""

    @component.output_types(answer=str, status=str, cited=list[int], usage=dict, model=str)
    def run(self, replies: list[ChatMessage], source_count: int) -> dict[str, Any]:
        """Return the cleaned answer, its status and the 1-based source numbers (1..source_count) it cites."""
        if replies and replies[0].meta.get("status") == ReplyStatus.NO_ANSWER:
            return {"answer": "", "status": ReplyStatus.NO_ANSWER, "cited": [], "usage": {}, "model": ""}
        if not replies or replies[0].text is None or not replies[0].text.strip():
            raise MalformedReply("The language model returned no text.")
        reply = replies[0]
        text = reply.text.strip()
        usage = dict(reply.meta.get("usage") or {})
        model = str(reply.meta.get("model") or "")
        # Our own answerer says what its reply is; an LLM's reply is read for the markers the prompt asks for.
        status = ReplyStatus(reply.meta["status"]) if reply.meta.get("status") else ReplyStatus.ANSWERED
        if "status" not in reply.meta and (text.strip(" .") == NO_ANSWER_MARKER or text.startswith(NO_ANSWER_MARKER)):
            status = ReplyStatus.NO_ANSWER
        if status == ReplyStatus.NO_ANSWER:
            return {"answer": "", "status": status, "cited": [], "usage": usage, "model": model}
        if "status" not in reply.meta and text.startswith(SELECTION_MARKER):
            status, text = ReplyStatus.SELECTION_ONLY, text[len(SELECTION_MARKER) :].strip()
        cited: list[int] = []

        def keep_valid(match: re.Match) -> str:
            numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
            valid = [n for n in numbers if 1 <= n <= source_count]
            cited.extend(n for n in valid if n not in cited)
            return "".join(f"[{n}]" for n in valid)

        def cleaned(prose: str) -> str:
            prose = _CITATION.sub(keep_valid, prose)
            # Tidy the gaps dropped citations leave ("it [9]." -> "it ."), without touching ".md"-like text.
            return re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", re.sub(r"[ \t]{2,}", " ", prose))

        text = in_prose(text, cleaned).strip()
        return {"answer": text, "status": status, "cited": cited, "usage": usage, "model": model}

    @component.output_types(answer=str, status=str, cited=list[int], usage=dict, model=str)
    async def run_async(self, replies: list[ChatMessage], source_count: int) -> dict[str, Any]:
        """As run(), on the event loop."""
        return self.run(replies=replies, source_count=source_count)


class MalformedReply(ValueError):
    """The generator's output cannot be used."""
