"""ASGI entry point (what `make run` serves with uvicorn): Django, plus the ASGI lifespan around it.

Django does not speak the lifespan protocol, so this wrapper does: on startup the chat engine loads its models
and the sessions of the last graceful stop come back, before the server accepts a connection; on shutdown
the in-memory sessions are written out.
"""

import asyncio
import contextlib
import logging
import os
import resource
from concurrent.futures import Executor, ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.urls import Resolver404, resolve

from chatbot_site.on_loop import OnTheLoop, steps_on_loop
from chatbot_site.protocol import RefusalLog

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
django_application = get_asgi_application()

logger = logging.getLogger(__name__)


# For an API request whose view is async, Django's sync steps run on the loop (chatbot_site.on_loop says why).
# A sync view (the OpenAPI schema and its page) keeps a thread, and so does everything with
# CHAT_WORKER_THREADS=0 (the tests' setting), where the chat's own work is a thread-sensitive step too.
# Other paths (the admin) keep a thread of their own for each request, as Django does.
_API_ON_LOOP = OnTheLoop()
_API_SYNC_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-sync")


def _api_executor(path: str) -> Executor:
    """Where Django's sync steps for an API request run: on the loop when its view is async (see above)."""
    if settings.CHAT_WORKER_THREADS > 0:
        try:
            if iscoroutinefunction(resolve(path).func):
                return _API_ON_LOOP
        except Resolver404:
            pass
    return _API_SYNC_THREAD


# The MCP server's streamable HTTP app at /mcp, made at startup; its session manager runs for the server's life.
_mcp_app = None


async def _start_mcp(stack: contextlib.AsyncExitStack) -> None:
    global _mcp_app
    from chat.mcp_server import build_mcp_http_app, build_mcp_server  # noqa: PLC0415 - after Django is set up

    server = build_mcp_server()
    app = build_mcp_http_app(server)
    await stack.enter_async_context(server.session_manager.run())
    _mcp_app = app


async def _lifespan(receive, send) -> None:
    from chat import lifecycle  # noqa: PLC0415 - after Django is set up

    async with contextlib.AsyncExitStack() as stack:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.to_thread(lifecycle.server_starting)
                    await lifecycle.server_starting_on_loop()
                    await _start_mcp(stack)
                except Exception as error:  # noqa: BLE001 - the server refuses to start, and says why
                    logger.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": type(error).__name__})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                steps = (lifecycle.server_stopping_on_loop, lambda: asyncio.to_thread(lifecycle.server_stopping))
                for step in steps:
                    try:
                        await step()
                    except Exception:  # noqa: BLE001 - one failed step must not skip the next or hang the stop
                        logger.exception("shutdown step failed")
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _mcp_unavailable(scope, receive, send) -> None:
    # Served without the ASGI lifespan (the MCP session manager never started).
    from django.http import JsonResponse  # noqa: PLC0415

    from chat.exceptions import error_body  # noqa: PLC0415

    body = JsonResponse(error_body(code="mcp_unavailable", message="MCP needs the server's ASGI lifespan.")).content
    await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key.lower() == name), None)


async def _send_refusal(response, scope, send, *extra_headers: tuple[bytes, bytes]) -> None:
    """Send a Django response made before (or instead of) Django handling the request, with its CORS headers."""
    from chatbot_site.middleware import with_cors  # noqa: PLC0415 - after Django is set up

    response = with_cors(response, scope)
    headers = [(key.lower().encode(), value.encode()) for key, value in response.items()]
    headers += [(b"content-length", str(len(response.content)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


async def _refuse_too_large(scope, send) -> None:
    from chatbot_site.middleware import too_large_response  # noqa: PLC0415 - after Django is set up

    # The rest of the body is never read, so the connection cannot carry another request: say so.
    await _send_refusal(too_large_response(scope["path"]), scope, send, (b"connection", b"close"))


async def _bounded_api(scope, receive, send) -> None:
    """An API request with its body bounded before Django reads it.

    A declared Content-Length over the limit is refused at once. A body sent without one (chunked) is read here,
    up to the limit, and handed on with its length: DRF reads a body without Content-Length as empty.
    """
    from chatbot_site.middleware import body_limit  # noqa: PLC0415 - after Django is set up

    path = scope["path"]
    limit = body_limit(path)
    declared = _header(scope, b"content-length")
    if declared is not None:
        if declared.isdigit() and int(declared) > limit:
            await _refuse_too_large(scope, send)
            return
        await django_application(scope, receive, send)
        return
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away before its body arrived
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            await _refuse_too_large(scope, send)
            return
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    headers = [(key, value) for key, value in scope["headers"] if key.lower() != b"transfer-encoding"]
    scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: http.disconnect, which ends a stream early

    await django_application(scope, replay, send)


# Files the process keeps open whatever it serves (modules, pipes to the embedding process, database
# connections, the listening socket), with room to spare.
_FILES_KEPT = 256
_open_requests = 0  # counted on the event loop only
_busy = RefusalLog(message="API requests refused with 503 server_busy (at the open-request limit): %d")


def open_request_limit() -> int:
    """How many API requests (streams included) may be open at once: SERVER_MAX_OPEN_REQUESTS, or by default as
    many as the open-files limit leaves room for (each holds its connection and one to the model, and the
    process keeps some files for itself)."""
    if settings.SERVER_MAX_OPEN_REQUESTS > 0:
        return settings.SERVER_MAX_OPEN_REQUESTS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    return max((soft - _FILES_KEPT) // 2, 1)


async def _refuse_busy(scope, send) -> None:
    from chatbot_site.middleware import api_error_response  # noqa: PLC0415 - after Django is set up

    _busy.add()
    message = "The server is answering as many readers as it can. Try again in a few seconds."
    response = api_error_response(scope["path"], status=503, code="server_busy", message=message)
    await _send_refusal(response, scope, send, (b"retry-after", b"2"))


async def _admitted(app, scope, receive, send) -> None:
    """Serve an API request, or refuse it with 503 server_busy when open_request_limit() are open already: a
    clear answer the client can retry, instead of connections refused once the process runs out of files."""
    global _open_requests
    if _open_requests >= open_request_limit():
        await _refuse_busy(scope, send)
        return
    _open_requests += 1
    try:
        await app(scope, receive, send)
    finally:
        _open_requests -= 1


async def _api(scope, receive, send) -> None:
    executor = _api_executor(scope["path"])
    with steps_on_loop(executor is _API_ON_LOOP):
        async with ThreadSensitiveContext(executor=executor):
            await _bounded_api(scope, receive, send)


async def _bounded(scope, receive, send) -> None:
    """A request outside the APIs (the admin, the book's pages) with its body bounded by SERVER_MAX_BODY_BYTES.

    A declared Content-Length over the limit is refused at once. A body sent without one (chunked) is counted as
    Django reads it, which spools it to disk rather than memory: past the limit Django is told the client left,
    so it stops reading and answers nothing, and the 413 is sent here.
    """
    from chatbot_site.middleware import body_limit  # noqa: PLC0415 - after Django is set up

    limit = body_limit(scope["path"])
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await _refuse_too_large(scope, send)
        return
    received = 0
    over = started = False

    async def counted():
        nonlocal received, over
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                over = True
                return {"type": "http.disconnect"}
        return message

    async def watched(message):
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    await django_application(scope, counted, watched)
    if over and not started:
        await _refuse_too_large(scope, send)


async def application(scope, receive, send) -> None:
    """The ASGI application."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "http" and scope.get("path", "").rstrip("/") == "/mcp":
        await _admitted(_mcp_app or _mcp_unavailable, scope, receive, send)
        return
    if scope["type"] == "http" and scope.get("path", "").startswith(("/api/", "/v1/")):
        await _admitted(_api, scope, receive, send)
        return
    if scope["type"] == "http":
        await _bounded(scope, receive, send)
        return
    await django_application(scope, receive, send)
