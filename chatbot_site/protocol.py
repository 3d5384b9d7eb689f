"""uvicorn's HTTP protocol with time limits on reading a request, so that a client that sends part of a request
and stops (a slowloris attack, or a dead mobile link) does not hold a connection for ever.

uvicorn times out only an idle connection between requests (its keep-alive timeout); a connection that sends a
byte, or a body's first kilobyte, and then nothing, stays open until the client goes. Each costs a file
descriptor and, once its headers are in, a request task waiting for the body. The limits, in the spirit of
Apache's mod_reqtimeout:

- the request line and headers must arrive within SERVER_HEADER_TIMEOUT_SECONDS of the connection opening (or
  of the request's first byte, on a reused connection);
- the body must arrive within SERVER_BODY_TIMEOUT_SECONDS, plus a second for every
  SERVER_BODY_MIN_BYTES_PER_SECOND bytes received: a steady slow upload keeps going, a stalled one does not.

A late request gets a 408 JSON error with the stable code ``request_timeout`` (in OpenAI's shape under
``/v1/``) and the connection is closed; a connection that never sent a byte is closed without a reply. Nothing
reached a view, so nothing is stored.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)


class RefusalLog:
    """Counts refusals of one kind and logs them at most once a period: a flood of them (an attack, a crowd)
    writes a line a minute with how many there were, not a line each."""

    def __init__(self, *, message: str, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        """``message`` is logged with one argument, the number of refusals since the previous line."""
        self.message = message
        self.every = every
        self.clock = clock
        self.pending = 0
        self.logged_at: float | None = None

    def add(self) -> None:
        """Count one refusal, and log the count when the last line is a period old (or there was none)."""
        self.pending += 1
        now = self.clock()
        if self.logged_at is None or now - self.logged_at >= self.every:
            logger.warning(self.message, self.pending)
            self.pending, self.logged_at = 0, now


_late_requests = RefusalLog(message="requests refused with 408 request_timeout (too slow to arrive): %d")


class TimedRequestProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses requests whose head or body arrive too slowly (see the module's text)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._head_pending = False  # a request has begun and its headers are not all in
        self._body_started = 0.0
        self._body_received = 0

    # Connection and parser callbacks (uvicorn's, extended).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(settings.SERVER_HEADER_TIMEOUT_SECONDS, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True
        if self._timer is None:  # a reused connection's next request; a new one's first is timed already
            self._arm(settings.SERVER_HEADER_TIMEOUT_SECONDS, self._head_late)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_pending = False
        super().on_headers_complete()
        self._body_started, self._body_received = self.loop.time(), 0
        self._arm(settings.SERVER_BODY_TIMEOUT_SECONDS, self._body_late)  # disarmed at once when there is none

    def on_body(self, body: bytes) -> None:
        self._body_received += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # The limits.
    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        self._timer = self.loop.call_later(max(seconds, 0.0), callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request is late while the one before it is still answered: close after that answer.
            self.cycle.keep_alive = False
            return
        if not self._head_pending:
            self.transport.close()  # connected and sent nothing: no request to answer
            return
        self._refuse("The request's headers did not arrive in time.")

    def _body_late(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.cycle is None or self.cycle.response_complete:
            return
        now = self.loop.time()
        allowed = settings.SERVER_BODY_TIMEOUT_SECONDS + self._body_received / max(
            settings.SERVER_BODY_MIN_BYTES_PER_SECOND, 1
        )
        if self.flow.read_paused or now < self._body_started + allowed:
            # Still within its allowance, or the server stopped reading (the app is behind, not the client).
            self._arm(max(self._body_started + allowed - now, 0.1), self._body_late)
            return
        if self.cycle.response_started:
            self.cycle.keep_alive = False  # answered without the rest of the body: just do not reuse it
            return
        self._refuse("The request's body did not arrive in time.")

    def _refuse(self, message: str) -> None:
        from .middleware import api_error_response, with_cors  # noqa: PLC0415 - after Django is set up

        # Before its headers are in, the request's path is what has arrived of its URL.
        path = (self.scope or {}).get("path") or (self.url or b"").decode("latin-1")
        _late_requests.add()
        response = api_error_response(path, status=408, code="request_timeout", message=message)
        if "method" in (self.scope or {}):  # its headers are in: a browser's Origin can be answered
            response = with_cors(response, self.scope)
        head = [b"HTTP/1.1 408 Request Timeout\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [f"{key.lower()}: {value}\r\n".encode("latin-1") for key, value in response.items()]
        head += [f"content-length: {len(response.content)}\r\n".encode(), b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + response.content)
        if self.cycle is not None:
            # The request's task is waiting for the body: it sees the client gone and answers nothing itself.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
