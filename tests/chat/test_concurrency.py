"""The worker pool: started and connected before traffic, one warm-up per thread."""

import logging
import threading

import pytest
from django.db import connection

from chat import lifecycle
from chat.concurrency import shutdown_worker_pool, warm_worker_pool, worker_pool
from chat.engine import ChatEngine, get_chat_engine
from chat.exceptions import DatabaseUnavailable


@pytest.fixture
def pool_of(settings):
    def make(size: int) -> None:
        settings.CHAT_WORKER_THREADS = size
        settings.CHAT_SESSION_SNAPSHOT = False
        shutdown_worker_pool()

    yield make
    shutdown_worker_pool()


def on_each_worker(fn) -> list:
    """``fn``'s result on each pool thread (they are all started by now)."""
    results, lock = [], threading.Lock()

    def record() -> None:
        with lock:
            results.append(fn())

    warm_worker_pool(record)
    return results


def test_each_thread_of_the_pool_runs_the_warm_up_once(pool_of):
    pool_of(3)
    threads = on_each_worker(threading.get_ident)
    assert len(threads) == len(set(threads)) == 3
    assert warm_worker_pool(lambda: None) == 3


def test_without_a_pool_there_is_nothing_to_warm(pool_of):
    pool_of(0)
    assert warm_worker_pool(lambda: None) == 0
    assert worker_pool() is None


@pytest.mark.django_db(transaction=True)
def test_a_start_connects_every_worker_and_prepares_the_search(pool_of, knowledge):
    pool_of(2)
    lifecycle.server_starting()

    def prepared() -> int | None:
        if connection.connection is None:
            return None  # this thread was never connected
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%WITH terms%%'")
            return cursor.fetchone()[0]

    assert on_each_worker(prepared) == [1, 1]
    # The chat's own search then runs the statement the warm-up prepared, not a second one.
    engine = get_chat_engine()
    on_each_worker(lambda: engine.retrieve(message="When did the Golden Gate Bridge open?", history=[]))
    assert on_each_worker(prepared) == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_a_start_with_the_database_down_still_serves_and_says_why(pool_of, monkeypatch, caplog):
    pool_of(2)

    def down(self, **_):
        raise DatabaseUnavailable()

    monkeypatch.setattr(ChatEngine, "search", down)
    with caplog.at_level(logging.WARNING, logger="chat.lifecycle"):
        lifecycle.server_starting()
    assert caplog.text.count("worker warm-up search failed") == 2
