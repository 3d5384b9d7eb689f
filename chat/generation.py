"""The OpenAI-compatible generator: it closes its HTTP stream when the reader goes away, sync or async."""

import asyncio
from typing import Any

from django.conf import settings
from haystack import component
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.utils import Secret


@component
class ClosingOpenAIChatGenerator(OpenAIChatGenerator):
    """OpenAIChatGenerator that closes the HTTP stream when streaming stops early, so the LLM server stops
    generating instead of filling a socket nobody reads.

    Cancelling an async run closes the stream (Haystack does that); a sync run closes it in ``finally``. The
    async client belongs to the event loop that made it, so a run on another loop (a test's, a command's) gets
    its own client instead of one bound to a loop that is gone.
    """

    _client_loop: Any = None

    def _handle_stream_response(self, chat_completion, callback):
        try:
            return OpenAIChatGenerator._handle_stream_response(self, chat_completion, callback)
        finally:
            close = getattr(chat_completion, "close", None)
            if close is not None:
                close()

    async def warm_up_async(self) -> None:
        loop = asyncio.get_running_loop()
        if self.async_client is not None and self._client_loop is not loop:
            self.async_client = None  # made on a loop that is gone; its connections cannot be reused
        self._client_loop = loop
        await OpenAIChatGenerator.warm_up_async(self)


def build_llm_generator(*, max_tokens: int | None = None) -> ClosingOpenAIChatGenerator:
    """The OpenAI-compatible chat generator configured by settings."""
    generation_kwargs: dict[str, Any] = {"temperature": 0.1}
    if max_tokens:
        generation_kwargs["max_tokens"] = max_tokens
    return ClosingOpenAIChatGenerator(
        api_key=Secret.from_env_var("OPENAI_API_KEY"),
        model=settings.CHAT_MODEL,
        api_base_url=settings.OPENAI_BASE_URL,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=settings.OPENAI_MAX_RETRIES,
        generation_kwargs=generation_kwargs,
    )
