"""ASGI entry point (what `make run` serves with uvicorn): Django, plus the ASGI lifespan around it.

Django does not speak the lifespan protocol, so this wrapper does: on startup the chat engine loads its models
and the sessions of the last graceful stop come back, before the server accepts a connection; on shutdown
the in-memory sessions are written out.
"""

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
django_application = get_asgi_application()

logger = logging.getLogger(__name__)

# Django runs each request's sync bits (the request_started/finished signals, response.close) in a thread made
# for that request: a thread start and three hops, about 10 ms an API request. The async API has no sync view,
# so those bits share one long-lived thread instead. Other paths (the admin's sync views) keep their own.
_API_SYNC_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-sync")


async def _lifespan(receive, send) -> None:
    from chat import lifecycle  # noqa: PLC0415 - after Django is set up

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await asyncio.to_thread(lifecycle.server_starting)
                await lifecycle.server_starting_on_loop()
            except Exception as error:  # noqa: BLE001 - the server refuses to start, and says why
                logger.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": type(error).__name__})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await asyncio.to_thread(lifecycle.server_stopping)
            except Exception:  # noqa: BLE001 - a failed snapshot must not hang the stop
                logger.exception("shutdown step failed")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    """The ASGI application."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "http" and scope.get("path", "").startswith("/api/"):
        async with ThreadSensitiveContext(executor=_API_SYNC_THREAD):
            await django_application(scope, receive, send)
        return
    await django_application(scope, receive, send)
