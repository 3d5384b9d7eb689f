"""One contract suite for both session stores (in-memory and a real redis-server), plus memory-only bounds."""

import asyncio
import threading
import time
import uuid

import pytest

from chat.sessions import InMemorySessionStore, RedisSessionStore, SessionStoreError, SessionStoreFull, Turn


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


def test_a_flood_of_new_sessions_never_evicts_a_conversation_in_use():
    clock = FakeClock()
    store = InMemorySessionStore(max_sessions=300, max_turns=10, ttl_seconds=3600, protect_seconds=60, clock=clock)
    reader = store.create()
    store.append(reader, [turn(1), turn(2)])
    idle_reader = store.create()
    store.append(idle_reader, [turn(1)])
    clock.now += 120  # idle for two minutes
    store.exists(reader)  # the reader asks again
    flood = [store.create() for _ in range(1000)]
    assert [t.content for t in store.turns(reader)] == ["message 1", "message 2"]
    assert store.turns(idle_reader) is None  # idle past the protection: it may go
    assert len(store) == 300 and store.exists(flood[-1]) and not store.exists(flood[0])


def test_a_store_full_of_conversations_in_use_refuses_new_sessions():
    clock = FakeClock()
    store = InMemorySessionStore(max_sessions=3, max_turns=10, ttl_seconds=3600, protect_seconds=60, clock=clock)
    readers = [store.create() for _ in range(3)]
    for reader in readers:
        store.append(reader, [turn(1)])
    with pytest.raises(SessionStoreFull):
        store.create()
    assert all(store.exists(reader) for reader in readers)
    clock.now += 61
    store.create()  # the least recently used conversation, idle past the protection, makes room
    assert sum(store.exists(reader) for reader in readers) == 2


def test_memory_is_bounded_in_bytes():
    clock = FakeClock()
    store = InMemorySessionStore(
        max_sessions=1000, max_turns=40, ttl_seconds=3600, max_bytes=200_000, protect_seconds=60, clock=clock
    )
    big = Turn(role="user", content="x" * 60_000, created_at=1.0)
    sessions = []
    for _ in range(10):
        sessions.append(store.create())
        store.append(sessions[-1], [big])
        clock.now += 1
        assert store.size_bytes <= 200_000
    assert store.exists(sessions[-1]) and store.turns(sessions[-1]) == [big]  # the newest stays
    assert not store.exists(sessions[0])  # the least recently used went
    for session in sessions:
        store.delete(session)
    assert store.size_bytes == 0


def test_byte_accounting_survives_trimming_expiry_and_snapshots(tmp_path):
    clock = FakeClock()
    store = InMemorySessionStore(max_sessions=10, max_turns=2, ttl_seconds=60, clock=clock)
    session = store.create()
    for n in range(5):
        store.append(session, [turn(n)])
    expected = store.size_bytes
    assert expected > 0
    path = tmp_path / "sessions.json"
    store.save_snapshot(path)
    restored = InMemorySessionStore(max_sessions=10, max_turns=2, ttl_seconds=60, clock=clock)
    restored.load_snapshot(path)
    assert restored.size_bytes == expected
    clock.now += 61
    assert len(store) == 0 and store.size_bytes == 0


def test_redis_down_raises_a_store_error():
    store = RedisSessionStore(url="redis://127.0.0.1:1/0", max_turns=10, ttl_seconds=60)
    with pytest.raises(SessionStoreError):
        store.create()


def test_async_api_keeps_the_same_contract(store):
    async def scenario() -> None:
        session = await store.acreate()
        assert uuid.UUID(session).version == 4
        assert await store.aturns(session) == []
        assert await store.aappend(session, [turn(1), Turn(role="assistant", content="a1", data={"status": "x"})])
        assert [t.content for t in await store.aturns(session)] == ["message 1", "a1"]
        assert store.turns(session)[1].data == {"status": "x"}  # the sync view of the same session
        for i in range(10):
            await store.aappend(session, [turn(i)])
        assert len(await store.aturns(session)) == 6
        unknown = str(uuid.uuid4())
        assert await store.aturns(unknown) is None
        assert await store.aappend(unknown, [turn(1)]) is False
        assert await store.adelete(session) is True
        assert await store.adelete(session) is False

    asyncio.run(scenario())
    asyncio.run(scenario())  # a second event loop: the asyncio Redis client is made per loop


def test_concurrent_async_appends_lose_nothing(store):
    store.max_turns = 10_000
    session = store.create()

    async def scenario() -> None:
        async def worker(n: int) -> None:
            for i in range(10):
                await store.aappend(
                    session, [Turn(role="user", content=f"{n}:{i}"), Turn(role="assistant", content="")]
                )

        await asyncio.gather(*(worker(n) for n in range(20)))

    asyncio.run(scenario())
    assert len(store.turns(session)) == 20 * 10 * 2


def test_redis_down_raises_a_store_error_from_the_async_api_too():
    store = RedisSessionStore(url="redis://127.0.0.1:1/0", max_turns=10, ttl_seconds=60)
    with pytest.raises(SessionStoreError):
        asyncio.run(store.acreate())


def snapshot_store(clock: FakeClock, **limits) -> InMemorySessionStore:
    options = {"max_sessions": 10, "max_turns": 10, "ttl_seconds": 3600, **limits}
    return InMemorySessionStore(**options, clock=clock)


def test_snapshot_round_trip_keeps_turns_order_and_idle_time(tmp_path):
    clock = FakeClock()
    old = snapshot_store(clock)
    first, second = old.create(), old.create()
    old.append(first, [turn(1), Turn(role="assistant", content="a1", data={"sources": [{"index": 1}]})])
    clock.now += 100
    old.append(second, [turn(2)])
    path = tmp_path / "sessions.json"
    assert old.save_snapshot(path) == 2
    assert path.stat().st_mode & 0o777 == 0o600

    new_clock = FakeClock()
    new = snapshot_store(new_clock)
    assert new.load_snapshot(path) == 2
    assert not path.exists()  # read once: a crash later brings nothing stale back
    assert new.turns(first)[1].data == {"sources": [{"index": 1}]}
    assert [t.content for t in new.turns(second)] == ["message 2"]
    third = new.create()
    new.max_sessions = 3
    new_clock.now += 61  # past the protection of conversations in use
    new.create()  # full: the least recently used goes first, and that is still `first` (idle 100 s longer)
    assert new.turns(first) is None and new.turns(second) is not None and new.turns(third) is not None


def test_snapshot_drops_sessions_that_expired_while_the_server_was_down(tmp_path, monkeypatch):
    clock = FakeClock()
    old = snapshot_store(clock, ttl_seconds=60)
    stale, fresh = old.create(), old.create()
    clock.now += 50
    old.turns(fresh)  # touched: idle 0 s, while `stale` is idle 50 s
    path = tmp_path / "sessions.json"
    old.save_snapshot(path)
    real_time = time.time()
    monkeypatch.setattr(time, "time", lambda: real_time + 20)  # the restart took 20 s
    new = snapshot_store(FakeClock(), ttl_seconds=60)
    assert new.load_snapshot(path) == 1
    assert new.turns(stale) is None and new.turns(fresh) == []


@pytest.mark.parametrize(
    "content", ["{not json", '{"version": 99, "sessions": []}', '{"version": 1, "sessions": [{}]}']
)
def test_a_corrupt_or_foreign_snapshot_starts_empty(tmp_path, content):
    path = tmp_path / "sessions.json"
    path.write_text(content)
    store = snapshot_store(FakeClock())
    assert store.load_snapshot(path) == 0
    assert len(store) == 0
    assert not path.exists()
    assert store.load_snapshot(tmp_path / "missing.json") == 0
