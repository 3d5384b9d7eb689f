"""The ASGI entry point: the sync steps Django runs around an API request's async view stay on the event loop."""

import asyncio
import resource
import threading
import uuid

import httpx
from django.core.signals import request_started

from chatbot_site import asgi
from chatbot_site.asgi import application
from chatbot_site.middleware import CommonMiddleware


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


def test_djangos_middleware_hooks_run_inline_for_an_api_request(settings, monkeypatch):
    """Django's own middleware calls its hooks through sync_to_async; for an async API view our wrappers call
    them directly (Security, CSRF and X-Frame-Options keep Django's classes for `check --deploy`)."""
    settings.CHAT_WORKER_THREADS = 2
    hops, hook_threads = [], set()
    submit = asgi._API_ON_LOOP.submit
    monkeypatch.setattr(asgi._API_ON_LOOP, "submit", lambda fn, *a, **k: hops.append(fn) or submit(fn, *a, **k))
    process_request = CommonMiddleware.process_request

    def record(self, request):
        hook_threads.add(threading.get_ident())
        return process_request(self, request)

    monkeypatch.setattr(CommonMiddleware, "process_request", record)
    status, loop_thread, _ = _serve(f"/api/chat/sessions/{uuid.uuid4()}/")
    assert status == 404
    assert hook_threads == {loop_thread}
    assert 0 < len(hops) <= 10  # 17 when every middleware hook was a hop

    # Elsewhere the wrapped middleware is Django's: its hooks run in the request's thread.
    hook_threads.clear()
    status, loop_thread, _ = _serve("/no-such-page")
    assert status == 404
    assert hook_threads and loop_thread not in hook_threads


def test_the_open_request_limit_leaves_files_for_the_process_unless_set(settings):
    settings.SERVER_MAX_OPEN_REQUESTS = 0
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = asgi.open_request_limit()
    # Each open request may hold two files (its connection and one to the model); some stay for the process.
    assert 1 <= limit and 2 * limit + 128 <= soft
    settings.SERVER_MAX_OPEN_REQUESTS = 7
    assert asgi.open_request_limit() == 7


def test_a_body_refused_before_django_still_carries_the_cors_headers(settings):
    # A widget on the book's site reads the 413 (and a 503 server_busy) like any API error, not a network failure.
    settings.CORS_ALLOWED_ORIGINS = ["https://book.example.org"]
    settings.API_MAX_BODY_BYTES = 10

    async def post(origin: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post("/api/chat/", json={"message": "far too long"}, headers={"Origin": origin})

    allowed = asyncio.run(post("https://book.example.org"))
    assert allowed.status_code == 413 and allowed.json()["error"]["code"] == "request_too_large"
    assert allowed.headers["access-control-allow-origin"] == "https://book.example.org"
    assert "retry-after" in allowed.headers["access-control-expose-headers"]
    other = asyncio.run(post("https://elsewhere.example"))
    assert other.status_code == 413 and "access-control-allow-origin" not in other.headers


def test_a_body_outside_the_api_is_bounded_with_or_without_its_length(settings):
    # The admin's uploads: a declared length over SERVER_MAX_BODY_BYTES is refused at once; a chunked body is
    # counted as Django reads it and refused once past the limit; within the limit Django answers as usual.
    settings.SERVER_MAX_BODY_BYTES = 1000

    async def post(content) -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post("/admin/login/", content=content, headers={"Content-Type": "text/plain"})

    async def chunks(count: int):
        for _ in range(count):
            yield b"x" * 400

    for content in (b"x" * 1001, chunks(3)):
        refused = asyncio.run(post(content))
        assert refused.status_code == 413, refused.text
        assert refused.headers["content-type"].startswith("text/plain")
        assert "SERVER_MAX_BODY_BYTES" in refused.text
    for content in (b"x" * 999, chunks(2)):
        assert asyncio.run(post(content)).status_code == 403  # read whole, then Django's CSRF check refuses it
