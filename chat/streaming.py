"""Server-Sent Events for chat replies: the reply runs as a task on the event loop and feeds the response."""

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer

from .exceptions import error_body

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15

# Receives ("sources", {...}) once retrieval is done and ("token", {"text": ...}) while the answer is generated.
# It may be called from a worker thread.
EventCallback = Callable[[str, dict[str, Any]], None]


class StreamCancelled(Exception):
    """The client went away; stop generating."""


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for text/event-stream; errors raised before streaming become one `error` event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        name = "error" if isinstance(data, dict) and "error" in data else "message"
        return format_event(name, data).encode()


def format_event(name: str, data: Any) -> str:
    """One SSE event."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# Turns one event (name, data) into the text sent for it: our SSE events, or another protocol's chunks.
EventEncoder = Callable[[str, Any], str]


_KEEPALIVE = object()  # queued when the stream has been quiet for KEEPALIVE_SECONDS


async def _events(work: Callable[[EventCallback], Awaitable[Any]], encode: EventEncoder) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    queue: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()

    def put(item: tuple[str, Any] | None) -> None:
        # In call order, so `done` never overtakes a token sent from a worker thread: a worker's event is queued
        # by a loop callback scheduled before the one that resumes the work after it.
        if threading.get_ident() == loop_thread:
            queue.put_nowait(item)  # on the loop already: no wake-up call needed
        else:
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def on_event(name: str, data: dict) -> None:
        # Called on the loop (LLM tokens) or from a worker thread (retrieval, extractive answers).
        if cancelled.is_set():
            raise StreamCancelled()
        put((name, data))

    async def run() -> None:
        try:
            put(("done", await work(on_event)))
        except StreamCancelled:
            logger.info("stream cancelled by the client; nothing stored")
        except APIException as error:
            code = getattr(error, "default_code", "error")
            put(("error", error_body(code=code, message=str(error.detail))))
        except Exception:  # noqa: BLE001 - the client gets an error event, the log gets the traceback
            logger.exception("streaming chat reply failed")
            put(("error", error_body(code="internal_error", message="Something went wrong. Try again.")))
        finally:
            put(None)

    last_sent = loop.time()

    def keep_alive() -> None:
        nonlocal timer
        quiet = loop.time() - last_sent
        if quiet >= KEEPALIVE_SECONDS:
            queue.put_nowait(_KEEPALIVE)
            quiet = 0.0
        timer = loop.call_later(KEEPALIVE_SECONDS - quiet, keep_alive)

    timer = loop.call_later(KEEPALIVE_SECONDS, keep_alive)
    task = asyncio.create_task(run())
    try:
        finished = False
        while not finished:
            # Whatever queued up while the loop was busy goes out in one write.
            parts: list[str] = []
            item = await queue.get()
            while True:
                if item is None:
                    finished = True
                    break
                parts.append(": keep-alive\n\n" if item is _KEEPALIVE else encode(*item))
                if queue.empty():
                    break
                item = queue.get_nowait()
            if parts:
                yield "".join(parts).encode()  # bytes: Django re-reads the charset for every str it sends
                last_sent = loop.time()
    finally:
        # The client went away (Django cancels the response) or the stream ended: stop the work, store nothing.
        timer.cancel()
        cancelled.set()
        if not task.done():
            task.cancel()
            logger.info("stream closed by the client; generation cancelled, nothing stored")


def stream_reply(
    work: Callable[[EventCallback], Awaitable[Any]], *, encode: EventEncoder = format_event
) -> StreamingHttpResponse:
    """Stream ``await work(on_event)``'s events, then `done` with its result, or one `error` event, each
    written by ``encode``.

    A turn is stored only when its answer was generated in full: if the client disconnects, the work is
    cancelled before it stores anything.
    """
    response = StreamingHttpResponse(_events(work, encode), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
