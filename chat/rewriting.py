"""Standalone queries: a follow-up message joined with, or rewritten from, the conversation before it."""

import logging
import re
from typing import Any

from haystack import component
from haystack.dataclasses import ChatMessage

from .text import content_words

logger = logging.getLogger(__name__)

FOLLOW_UP_WORDS = frozenset(
    "it its they them their he him his she her that this those these there then one ones former latter".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


def _has_stand_in(message: str) -> bool:
    return any(word.lower() in FOLLOW_UP_WORDS for word in _WORD.findall(message))


def is_follow_up(message: str) -> bool:
    """A message that leans on earlier turns: few content words, or a pronoun standing in for a topic."""
    return len(content_words(message)) <= 3 or _has_stand_in(message)


def stands_alone(message: str) -> bool:
    """An earlier question that names its own topic ("What is the default embedding model?"): no pronoun
    standing in for one, and two content words or more. Joining stops there: a short question is joined with
    the one before it when asked, but what came before it is another topic."""
    return len(content_words(message)) >= 2 and not _has_stand_in(message)


@component
class QueryRewriter:
    """Offline standalone-query builder: a follow-up is joined with the user questions before it, back to the
    last one that stood alone ("Can I use a local one?" after "How do I change it?" after "What is the default
    chat model?" keeps the chat model), at most ``MAX_JOINED`` of them."""

    MAX_JOINED = 3

    @component.output_types(query=str)
    def run(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """Return the text to retrieve with."""
        if not is_follow_up(message):
            return {"query": message}
        previous = [turn.text for turn in (history or []) if turn.is_from("user") and turn.text]
        joined = [message]
        for earlier in reversed(previous[-self.MAX_JOINED :]):
            joined.append(earlier)
            if stands_alone(earlier):
                break
        return {"query": " ".join(joined)}

    @component.output_types(query=str)
    async def run_async(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """As run(), on the event loop."""
        return self.run(message=message, history=history)


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

    def warm_up(self) -> None:
        """Make the generator's client."""
        self.generator.warm_up()

    async def warm_up_async(self) -> None:
        """Make the generator's async client on the running loop."""
        await self.generator.warm_up_async()

    async def close_async(self) -> None:
        """Close the generator's async client (on the loop that made it)."""
        await self.generator.close_async()

    def _messages(self, message: str, history: list[ChatMessage]) -> list[ChatMessage]:
        transcript = "\n".join(f"{turn.role.value}: {turn.text}" for turn in history[-6:] if turn.text)
        return [
            ChatMessage.from_system(self.PROMPT),
            ChatMessage.from_user(
                f"<conversation>\n{transcript}\n</conversation>\n<last_message>\n{message}\n</last_message>"
            ),
        ]

    @staticmethod
    def _query(reply: str, message: str) -> dict[str, str]:
        reply = reply.strip().strip('"')
        return {"query": reply if 0 < len(reply) <= 1000 else message}

    @component.output_types(query=str)
    def run(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """Return the text to retrieve with."""
        if not history:
            return {"query": message}
        try:
            reply = self.generator.run(messages=self._messages(message, history))["replies"][0].text or ""
        except Exception as error:  # noqa: BLE001 - a failed rewrite must not fail the answer
            logger.warning("query rewrite failed, using the offline rules: %s", type(error).__name__)
            return self.fallback.run(message=message, history=history)
        return self._query(reply, message)

    @component.output_types(query=str)
    async def run_async(self, message: str, history: list[ChatMessage] | None = None) -> dict[str, str]:
        """As run(), awaiting the model instead of holding a thread for it."""
        if not history:
            return {"query": message}
        try:
            replies = (await self.generator.run_async(messages=self._messages(message, history)))["replies"]
            reply = replies[0].text or ""
        except Exception as error:  # noqa: BLE001 - a failed rewrite must not fail the answer
            logger.warning("query rewrite failed, using the offline rules: %s", type(error).__name__)
            return self.fallback.run(message=message, history=history)
        return self._query(reply, message)
