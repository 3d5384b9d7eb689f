"""Blocking work (query embedding, SQL, extractive answering) off the event loop, in one bounded thread pool.

Each pool thread keeps its own database connection, so the connections a process opens are bounded by the
pool's size however many streams are open: a stream waiting on the language model holds no thread at all.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

T = TypeVar("T")

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_pool() -> ThreadPoolExecutor | None:
    """The process's pool of CHAT_WORKER_THREADS threads, or None when that is 0."""
    global _pool
    with _pool_lock:
        if _pool is None and settings.CHAT_WORKER_THREADS > 0:
            _pool = ThreadPoolExecutor(max_workers=settings.CHAT_WORKER_THREADS, thread_name_prefix="chat-worker")
        return _pool


def shutdown_worker_pool() -> None:
    """Stop the pool and the background thread (process exit, tests that change its size)."""
    global _pool, _background
    with _pool_lock:
        pool, _pool = _pool, None
        background, _background = _background, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
    if background is not None:
        # Its queued jobs run first (shutdown waits for them); then it hands back its database connection.
        background.submit(connections.close_all)
        background.shutdown(wait=True)


def warm_worker_pool(fn: Callable[[], Any], *, timeout: float = 60.0) -> int:
    """Start every thread of the worker pool and run ``fn`` once on each (the server, before it takes traffic:
    each thread opens its database connection then, not while the first readers wait). How many threads ran it.

    ``fn`` handles its own errors. Each job waits at a barrier until all have started, so no thread takes two.
    """
    pool = worker_pool()
    if pool is None:
        return 0
    size = settings.CHAT_WORKER_THREADS
    barrier = threading.Barrier(size, timeout=timeout)

    def job() -> None:
        barrier.wait()
        _in_worker(fn)()

    for future in [pool.submit(job) for _ in range(size)]:
        future.result(timeout=timeout)
    return size


def _in_worker(fn: Callable[..., T]) -> Callable[..., T]:
    def run(*args: Any, **kwargs: Any) -> T:
        # No request signals fire in a pool thread: drop a connection past its age or one that failed, here.
        close_old_connections()
        return fn(*args, **kwargs)

    return run


async def run_blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in the worker pool (with the caller's context variables) and await its result.

    With CHAT_WORKER_THREADS=0 it runs in Django's thread for the request instead: the test suite does this,
    so the work sees the test's open transaction.
    """
    pool = worker_pool()
    if pool is None:
        return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)
    return await sync_to_async(_in_worker(fn), thread_sensitive=False, executor=pool)(*args, **kwargs)


# Bookkeeping that must never delay a reply (recording questions and answer counts) runs on one background
# thread, in order. At most this many jobs wait; past that they are dropped with a warning, not queued without end.
MAX_BACKGROUND_JOBS = 1000

_background: ThreadPoolExecutor | None = None
_background_slots = threading.BoundedSemaphore(MAX_BACKGROUND_JOBS)


def _background_pool() -> ThreadPoolExecutor | None:
    global _background
    with _pool_lock:
        if _background is None and settings.CHAT_WORKER_THREADS > 0:
            _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-background")
        return _background


def run_later(fn: Callable[..., Any], /, **kwargs: Any) -> None:
    """Run ``fn`` on the background thread and return at once; ``fn`` handles its own errors.

    With CHAT_WORKER_THREADS=0 (the test suite) it runs now, in the caller's thread and transaction.
    """
    pool = _background_pool()
    if pool is None:
        fn(**kwargs)
        return
    if not _background_slots.acquire(blocking=False):
        logger.warning("background queue full: dropped %s", getattr(fn, "__name__", fn))
        return

    def job() -> None:
        try:
            close_old_connections()
            fn(**kwargs)
        except Exception:  # noqa: BLE001 - a background job must not kill its thread
            logger.exception("background job %s failed", getattr(fn, "__name__", fn))
        finally:
            _background_slots.release()

    pool.submit(job)


def run_after(fn: Callable[..., Any], /, *, seconds: float, **kwargs: Any) -> threading.Timer | None:
    """Run ``fn`` on the background thread ``seconds`` from now (cancel() the timer returned to drop the run).

    With CHAT_WORKER_THREADS=0 it runs now, as run_later() does, and there is nothing to cancel.
    """
    if _background_pool() is None:
        fn(**kwargs)
        return None
    timer = threading.Timer(seconds, run_later, args=(fn,), kwargs=kwargs)
    timer.daemon = True  # a stop writes what is left itself (chat.lifecycle)
    timer.start()
    return timer


async def run_later_async(fn: Callable[..., Any], /, **kwargs: Any) -> None:
    """As run_later(), from the event loop (inline work goes where run_blocking puts it: Django's thread)."""
    if _background_pool() is None:
        await run_blocking(fn, **kwargs)
    else:
        run_later(fn, **kwargs)


def drain_background(*, timeout: float = 30.0) -> None:
    """Wait until the background jobs queued so far have run (graceful stop, benchmarks, tests)."""
    with _pool_lock:
        pool = _background
    if pool is not None:
        pool.submit(lambda: None).result(timeout=timeout)
