"""The OpenAI-compatible generator: it streams without a model object per chunk and closes its HTTP stream
when the reader goes away, sync or async."""

import asyncio
import logging
from typing import Any

from django.conf import settings
from haystack import component
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage, StreamingCallbackT, StreamingChunk, select_streaming_callback
from haystack.tools import ToolsType
from haystack.utils import Secret
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient

logger = logging.getLogger(__name__)

_serving_loop: asyncio.AbstractEventLoop | None = None


def serve_on_running_loop() -> None:
    """Mark the running event loop as the one the server answers on for the process's life.

    Async model clients made on it use aiohttp, which streams at a fraction of httpx's event-loop time but
    must be closed on its own loop (close_async() at shutdown). A client made on any other loop (a test's, a
    command's asyncio.run) uses httpx, which needs no closing when its short-lived loop ends.
    """
    global _serving_loop
    _serving_loop = asyncio.get_running_loop()


@component
class ClosingOpenAIChatGenerator(OpenAIChatGenerator):
    """OpenAIChatGenerator that streams cheaply on the event loop and closes the HTTP stream when streaming
    stops early, so the LLM server stops generating instead of filling a socket nobody reads.

    A streamed async answer is read through the openai client's own event stream (its SSE decoding, error
    events, timeouts and status errors) as plain JSON, on the serving loop over the client's aiohttp
    transport. The SDK's default, a pydantic object per chunk over httpx converted to Haystack's chunk, costs
    the event loop about 2.5 times as much per answer, and the loop is what limits how many readers one
    process holds (docs/benchmarks.md). Other calls (sync, not streamed, tools) are Haystack's own.

    The async client belongs to the event loop that made it, so a run on another loop (a test's, a command's)
    gets its own client instead of one bound to a loop that is gone.
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
        if self.async_client is not None and self._client_loop is loop:
            return
        # A client made on another loop cannot be reused: its connections belong to that loop.
        self._client_loop = loop
        self.async_client = None
        if loop is _serving_loop:
            self.async_client = AsyncOpenAI(http_client=DefaultAioHttpClient(), **self._client_kwargs())
        else:
            await OpenAIChatGenerator.warm_up_async(self)  # Haystack's own client (httpx)

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self,
        messages: list[ChatMessage] | str,
        streaming_callback: StreamingCallbackT | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        *,
        tools: ToolsType | None = None,
        tools_strict: bool | None = None,
    ) -> dict[str, list[ChatMessage]]:
        """As OpenAIChatGenerator.run_async; a streamed answer without tools is read as plain JSON events."""
        callback = select_streaming_callback(
            init_callback=self.streaming_callback, runtime_callback=streaming_callback, requires_async=True
        )
        structured = {**self.generation_kwargs, **(generation_kwargs or {})}.get("response_format")
        if callback is None or tools or self.tools or structured:
            return await OpenAIChatGenerator.run_async(
                self, messages, streaming_callback, generation_kwargs, tools=tools, tools_strict=tools_strict
            )
        await self.warm_up_async()
        if isinstance(messages, str):
            messages = [ChatMessage.from_user(messages)]
        body = self._prepare_api_call(
            messages=messages, streaming_callback=callback, generation_kwargs=generation_kwargs
        )
        body.pop("openai_endpoint")  # Haystack's note of which SDK method to call
        stream = await self.async_client.post(
            "/chat/completions", body=body, cast_to=object, stream=True, stream_cls=AsyncStream[object]
        )
        try:
            reply = await _read_stream(stream, callback=callback, model=self.model)
        finally:
            # Also when the reader went away (cancelled): closing the connection stops the model.
            await asyncio.shield(stream.close())
        return {"replies": [reply]}


async def _read_stream(stream: AsyncStream, *, callback: StreamingCallbackT, model: str) -> ChatMessage:
    """Pass each piece of text to ``callback``; the whole reply with its model, finish reason and usage."""
    parts: list[str] = []
    meta: dict[str, Any] = {"model": model, "index": 0, "finish_reason": None, "usage": None}
    async for event in stream:
        if not isinstance(event, dict):
            raise ValueError(f"unexpected stream event: {event!r:.200}")
        meta["model"] = event.get("model") or meta["model"]
        if event.get("usage"):
            meta["usage"] = event["usage"]
        choices = event.get("choices")
        if not choices:
            continue  # the usage event, or a keep-alive
        choice = choices[0]  # one answer is asked for (n=1)
        meta["finish_reason"] = choice.get("finish_reason") or meta["finish_reason"]
        text = (choice.get("delta") or {}).get("content")
        if text:
            parts.append(text)
            result = callback(StreamingChunk(content=text, index=0, start=len(parts) == 1))
            if result is not None:
                await result
    if meta["finish_reason"] in {"length", "content_filter"}:
        logger.warning("the model's answer was cut short (%s)", meta["finish_reason"])
    return ChatMessage.from_assistant(text="".join(parts), meta=meta)


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
