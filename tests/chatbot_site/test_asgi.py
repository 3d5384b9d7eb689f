"""The ASGI entry point: the sync steps Django runs around an API request's async view stay on the event loop."""

import asyncio
import threading
import uuid

import httpx
from django.core.signals import request_started

from chatbot_site.asgi import application


def _serve(path: str) -> tuple[int, int, set[int]]:
    """(status, the event loop's thread, the threads Django's request_started receivers ran in) for one GET."""
    threads: set[int] = set()

    def record(**kwargs) -> None:
        threads.add(threading.get_ident())

    async def get() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(path)
        return response.status_code, threading.get_ident()

    request_started.connect(record, dispatch_uid="test_asgi")
    try:
        status, loop_thread = asyncio.run(get())
    finally:
        request_started.disconnect(dispatch_uid="test_asgi")
    return status, loop_thread, threads


def test_an_api_request_runs_djangos_sync_steps_on_the_loop(settings):
    settings.CHAT_WORKER_THREADS = 2  # as served
    status, loop_thread, threads = _serve(f"/api/chat/sessions/{uuid.uuid4()}/")
    assert status == 404  # an unknown session: served to the end, in the API's error shape
    assert threads == {loop_thread}


def test_sync_views_other_paths_and_the_tests_setting_keep_a_thread(settings):
    settings.CHAT_WORKER_THREADS = 2
    for path, expected in (("/api/schema/", 200), ("/api/no-such-thing/", 404), ("/no-such-page", 404)):
        status, loop_thread, threads = _serve(path)
        assert status == expected
        assert threads and loop_thread not in threads, path

    # With no worker pool the chat's own blocking work is a thread-sensitive step, so none runs on the loop.
    settings.CHAT_WORKER_THREADS = 0
    status, loop_thread, threads = _serve(f"/api/chat/sessions/{uuid.uuid4()}/")
    assert status == 404
    assert threads and loop_thread not in threads
