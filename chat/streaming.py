"""Server-Sent Events for chat replies: the pipeline runs in a worker thread and feeds the response."""

import contextvars
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.db import close_old_connections, connections
from django.http import StreamingHttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer

from .exceptions import error_body

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15


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


def stream_reply(work: Callable[[Callable[[str, dict], None]], dict]) -> StreamingHttpResponse:
    """Run ``work(on_event)`` in a thread and stream its events, then `done` with its result, or `error`.

    If the client disconnects, the next event raises StreamCancelled inside the work, which stops
    generation before the turn is stored: a turn is stored only when its answer was generated in full.
    """
    events: queue.Queue = queue.Queue()
    cancelled = threading.Event()

    def on_event(name: str, data: dict) -> None:
        if cancelled.is_set():
            raise StreamCancelled()
        events.put((name, data))

    def run() -> None:
        try:
            events.put(("done", work(on_event)))
        except StreamCancelled:
            logger.info("stream cancelled by the client; nothing stored")
        except APIException as error:
            code = getattr(error, "default_code", "error")
            events.put(("error", error_body(code=code, message=str(error.detail))))
        except Exception:  # noqa: BLE001 - the client gets an error event, the log gets the traceback
            logger.exception("streaming chat reply failed")
            events.put(
                ("error", error_body(code="internal_error", message="Something went wrong. Try again.")["error"])
            )
        finally:
            events.put(None)
            connections.close_all()

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True, name="chat-stream")

    def body() -> Iterator[str]:
        close_old_connections()
        thread.start()
        try:
            while True:
                try:
                    item = events.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield format_event(*item)
        finally:
            cancelled.set()

    response = StreamingHttpResponse(body(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
