"""Blocking work (query embedding, SQL, extractive answering) off the event loop, in one bounded thread pool.

Each pool thread keeps its own database connection, so the connections a process opens are bounded by the
pool's size however many streams are open: a stream waiting on the language model holds no thread at all.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

T = TypeVar("T")

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
    """Stop the pool (process exit, tests that change its size)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


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
