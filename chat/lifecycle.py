"""What the server does as it starts and stops: load the models first, keep sessions across a graceful restart."""

import gc
import logging
import time
from functools import partial
from typing import Any

from django.conf import settings

from .concurrency import drain_background, shutdown_worker_pool, warm_worker_pool
from .engine import ChatEngine, get_chat_engine
from .feedback_services import answer_counts_write
from .sessions import InMemorySessionStore, get_session_store

logger = logging.getLogger(__name__)

# What each worker thread searches for as the server starts (any text: the search is what is warmed).
WARM_UP_QUERY = "warm-up"


def _memory_store() -> InMemorySessionStore | None:
    store = get_session_store()
    return store if isinstance(store, InMemorySessionStore) and settings.CHAT_SESSION_SNAPSHOT else None


def server_starting() -> None:
    """Before the server accepts traffic: restore the sessions of a graceful stop, load and run the models, and
    connect every worker thread to the database."""
    store = _memory_store()
    if store is not None:
        restored = store.load_snapshot(settings.CHAT_SESSION_SNAPSHOT_PATH)
        if restored:
            logger.info("restored %d chat sessions from the last graceful stop", restored)
    started = time.perf_counter()
    engine = get_chat_engine()
    engine.warm_up()
    warmed = warm_worker_pool(partial(_search_once, engine=engine, embedding=engine.embed_query(WARM_UP_QUERY)))
    logger.info("chat engine ready in %.1f s (%d worker threads connected)", time.perf_counter() - started, warmed)


def _search_once(*, engine: ChatEngine, embedding: Any) -> None:
    """One search on this worker thread, as the chat searches: its database connection opened and the search
    statement prepared, so the first burst of readers after a start does not wait for either. The query is
    embedded once for all threads (a hosted embedding model is asked once). A database that is down is left to
    /readyz to report."""
    try:
        engine.search(query=WARM_UP_QUERY, embedding=embedding)
    except Exception as error:  # noqa: BLE001 - the server starts anyway; readiness says what is wrong
        logger.warning("worker warm-up search failed: %s", error)


async def server_starting_on_loop() -> None:
    """On the serving event loop, before traffic, after server_starting(): the async model clients, then the
    garbage collector settled for serving."""
    await get_chat_engine().warm_up_async()
    settle_garbage_collector()


# Allocations between young collections once the server runs: ten times Python's default (700).
YOUNG_COLLECTION_THRESHOLD = 7000


def settle_garbage_collector() -> None:
    """Keep the garbage collector's pauses off the event loop's back once everything is loaded.

    The objects made so far (Django, the models and their libraries: over 600,000) live as long as the
    process; frozen, a full collection no longer walks them. Under load every open stream keeps thousands of
    objects alive for seconds, and at Python's default thresholds full collections over them took a fifth of
    the loop's time at 500 open streams; with young collections ten times rarer, most request objects are freed
    by their reference counts before a collection ever sees them (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


async def server_stopping_on_loop() -> None:
    """On the serving event loop, as the server stops: close the model clients' connections."""
    await get_chat_engine().close_async()


def server_stopping() -> None:
    """On a graceful stop (SIGTERM, Ctrl-C), after the open requests finished: write the live sessions out."""
    store = _memory_store()
    if store is not None:
        saved = store.save_snapshot(settings.CHAT_SESSION_SNAPSHOT_PATH)
        logger.info("saved %d chat sessions for the next start", saved)
    try:
        drain_background()  # answers already given are still counted and their questions kept
    except TimeoutError:
        logger.warning("stopped before every answer was recorded")
    shutdown_worker_pool()
    # Counts a failed write gave back (the database was down) get a last chance.
    answer_counts_write()
