"""One contract suite for both session stores (in-memory and a real redis-server), plus memory-only bounds."""

import threading
import time
import uuid

import pytest

from chat.sessions import InMemorySessionStore, RedisSessionStore, SessionStoreError, Turn


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return InMemorySessionStore(max_sessions=1000, max_turns=6, ttl_seconds=3600)
    server = request.getfixturevalue("redis_server")
    redis_store = RedisSessionStore(url=server.url, max_turns=6, ttl_seconds=3600, prefix=f"t{uuid.uuid4().hex}:")
    return redis_store


def turn(i: int, role: str = "user") -> Turn:
    return Turn(role=role, content=f"message {i}")


def test_create_returns_a_random_uuid4(store):
    first, second = store.create(), store.create()
    assert uuid.UUID(first).version == 4
    assert first != second
    assert store.exists(first)
    assert store.turns(first) == []


def test_unknown_sessions(store):
    unknown = str(uuid.uuid4())
    assert not store.exists(unknown)
    assert store.turns(unknown) is None
    assert store.append(unknown, [turn(1)]) is False
    assert store.delete(unknown) is False
    assert not store.exists(unknown)  # append on an unknown session creates nothing


def test_append_keeps_order_and_data(store):
    session = store.create()
    assert store.append(session, [turn(1), Turn(role="assistant", content="a1", data={"status": "answered"})])
    turns = store.turns(session)
    assert [t.content for t in turns] == ["message 1", "a1"]
    assert turns[1].data == {"status": "answered"}


def test_turns_are_bounded_oldest_dropped(store):
    session = store.create()
    for i in range(10):
        store.append(session, [turn(i)])
    assert [t.content for t in store.turns(session)] == [f"message {i}" for i in range(4, 10)]


def test_delete(store):
    session = store.create()
    store.append(session, [turn(1)])
    assert store.delete(session)
    assert store.turns(session) is None


def test_concurrent_appends_lose_nothing(store):
    store.max_turns = 10_000
    session = store.create()
    threads, per_thread = 16, 25

    def worker(n: int) -> None:
        for i in range(per_thread):
            assert store.append(
                session, [Turn(role="user", content=f"{n}:{i}"), Turn(role="assistant", content=f"{n}:{i}")]
            )

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    turns = store.turns(session)
    assert len(turns) == threads * per_thread * 2
    # Pairs stay together: every user turn is followed by its assistant turn.
    for user, assistant in zip(turns[::2], turns[1::2], strict=True):
        assert user.role == "user" and assistant.role == "assistant" and user.content == assistant.content
    for n in range(threads):
        mine = [int(t.content.split(":")[1]) for t in turns[::2] if t.content.startswith(f"{n}:")]
        assert mine == list(range(per_thread))


def test_memory_idle_ttl_expires_sessions():
    clock = FakeClock()
    store = InMemorySessionStore(max_sessions=10, max_turns=10, ttl_seconds=60, clock=clock)
    active, idle = store.create(), store.create()
    clock.now += 50
    assert store.exists(active)  # touching keeps it alive
    clock.now += 50
    assert store.exists(active)
    assert not store.exists(idle)
    assert store.turns(idle) is None
    assert len(store) == 1


def test_redis_idle_ttl_expires_sessions(redis_server):
    store = RedisSessionStore(url=redis_server.url, max_turns=10, ttl_seconds=1, prefix=f"t{uuid.uuid4().hex}:")
    session = store.create()
    store.append(session, [turn(1)])
    time.sleep(2.2)
    assert store.turns(session) is None
    assert store.append(session, [turn(2)]) is False


def test_memory_evicts_least_recently_used():
    store = InMemorySessionStore(max_sessions=3, max_turns=10, ttl_seconds=3600)
    first, second, third = store.create(), store.create(), store.create()
    store.exists(first)  # first is now more recent than second
    fourth = store.create()
    assert len(store) == 3
    assert not store.exists(second)
    assert all(store.exists(s) for s in (first, third, fourth))


def test_redis_down_raises_a_store_error():
    store = RedisSessionStore(url="redis://127.0.0.1:1/0", max_turns=10, ttl_seconds=60)
    with pytest.raises(SessionStoreError):
        store.create()
