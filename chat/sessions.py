"""Conversation turns per session_id: a bounded in-memory store (default) and a Redis store.

Both keep the same contract: a session exists from create() until delete() or idle expiry; append() stores
several turns at once or none; each session keeps at most ``max_turns`` turns (oldest dropped).
"""

import asyncio
import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1


class SessionStoreError(RuntimeError):
    """The session store cannot be reached (Redis down)."""


class SessionStoreFull(RuntimeError):
    """No session can be started now: every kept session was active in the last moments."""


@dataclass(frozen=True)
class Turn:
    """One message in a conversation."""

    role: str  # "user" or "assistant"
    content: str
    created_at: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)  # assistant extras: status, sources, generator

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Turn":
        """Rebuild a turn from to_dict() output."""
        return cls(role=raw["role"], content=raw["content"], created_at=raw["created_at"], data=raw.get("data", {}))


class SessionStore(Protocol):
    """What the chat service needs from a session store."""

    def create(self) -> str: ...

    def exists(self, session_id: str) -> bool: ...

    def turns(self, session_id: str) -> list[Turn] | None: ...

    def append(self, session_id: str, turns: list[Turn]) -> bool: ...

    def delete(self, session_id: str) -> bool: ...

    def ping(self) -> bool: ...

    async def acreate(self) -> str: ...

    async def aturns(self, session_id: str) -> list[Turn] | None: ...

    async def aappend(self, session_id: str, turns: list[Turn]) -> bool: ...

    async def adelete(self, session_id: str) -> bool: ...


def new_session_id() -> str:
    """A random UUID4, the only handle to a session."""
    return str(uuid.uuid4())


def canonical_session_id(raw: object) -> str | None:
    """The id, lower-cased, if it is a UUID4 written as new_session_id() writes it; else None.

    Other spellings are refused rather than normalised: ``uuid.UUID(raw, version=4)`` rewrites the version and
    variant bits, so dozens of spellings would reach one session, each with its own throttle budget.
    """
    if not isinstance(raw, str):
        return None
    try:
        parsed = uuid.UUID(raw)
    except ValueError:
        return None
    canonical = str(parsed)
    return canonical if canonical == raw.lower() and parsed.version == 4 and parsed.variant == uuid.RFC_4122 else None


@dataclass
class _Session:
    turns: list[Turn]
    last_used: float
    size: int = 0  # bytes of its turns' text and data, as JSON


def _turn_bytes(turn: Turn) -> int:
    return len(turn.content.encode()) + len(json.dumps(turn.data, ensure_ascii=False).encode()) + 64


class InMemorySessionStore:
    """A module-level store for one process: thread-safe, bounded in sessions and in bytes, with per-session turn
    limits and idle TTL.

    When it is full, the least recently used session goes, but never one that holds a conversation and was used
    in the last ``protect_seconds``: a flood of new sessions evicts other new (empty) sessions and idle ones, not
    readers in the middle of a conversation. If there is nothing it may evict, starting a session fails
    (SessionStoreFull) until there is.
    """

    def __init__(
        self,
        *,
        max_sessions: int,
        max_turns: int,
        ttl_seconds: float,
        max_bytes: int | None = None,
        protect_seconds: float = 60.0,
        clock=time.monotonic,
    ) -> None:
        self.max_sessions = max_sessions
        self.max_turns = max_turns
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self.protect_seconds = protect_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._sessions)

    @property
    def size_bytes(self) -> int:
        """Bytes the kept turns hold (their text and data as JSON)."""
        with self._lock:
            return self._bytes

    def ping(self) -> bool:
        """Readiness: the store answers (it touches no session)."""
        with self._lock:
            self._expire()
        return True

    def _drop(self, session_id: str) -> _Session | None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self._bytes -= session.size
        return session

    def _evictable(self, session: _Session, now: float) -> bool:
        return not session.turns or now - session.last_used > self.protect_seconds

    def _evict_one(self, *, keep: str | None = None) -> bool:
        """Drop the least recently used session that may go; False when none may."""
        now = self._clock()
        for session_id, session in self._sessions.items():  # least recently used first
            if session_id != keep and self._evictable(session, now):
                self._drop(session_id)
                return True
        return False

    def create(self) -> str:
        """Start an empty session, evicting another when full (raises SessionStoreFull when none may go)."""
        session_id = new_session_id()
        with self._lock:
            self._expire()
            while len(self._sessions) >= self.max_sessions:
                if not self._evict_one():
                    raise SessionStoreFull()
            self._sessions[session_id] = _Session(turns=[], last_used=self._clock())
        return session_id

    def _get(self, session_id: str) -> _Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_used > self.ttl_seconds:
            self._drop(session_id)
            return None
        session.last_used = now
        self._sessions.move_to_end(session_id)
        return session

    def _expire(self) -> None:
        # Sessions are kept in least-recently-used order, so expired ones are at the front.
        cutoff = self._clock() - self.ttl_seconds
        while self._sessions:
            oldest_id, oldest = next(iter(self._sessions.items()))
            if oldest.last_used >= cutoff:
                break
            self._drop(oldest_id)

    def exists(self, session_id: str) -> bool:
        """Whether the session is alive (and touch it)."""
        with self._lock:
            return self._get(session_id) is not None

    def turns(self, session_id: str) -> list[Turn] | None:
        """The kept turns, oldest first, or None for an unknown or expired session."""
        with self._lock:
            session = self._get(session_id)
            return list(session.turns) if session else None

    def _set_turns(self, session: _Session, turns: list[Turn]) -> None:
        size = sum(_turn_bytes(turn) for turn in turns)
        self._bytes += size - session.size
        session.turns, session.size = turns, size

    def append(self, session_id: str, turns: list[Turn]) -> bool:
        """Add turns together; False when the session is gone. Past max_bytes, other sessions are evicted
        (least recently used first; if only recent conversations are left, the least recently used of those)."""
        with self._lock:
            session = self._get(session_id)
            if session is None:
                return False
            self._set_turns(session, [*session.turns, *turns][-self.max_turns :])
            while self.max_bytes is not None and self._bytes > self.max_bytes and len(self._sessions) > 1:
                if not self._evict_one(keep=session_id):
                    # Only recent conversations are left: the bound on memory wins over recency.
                    self._drop(next(sid for sid in self._sessions if sid != session_id))
            return True

    def delete(self, session_id: str) -> bool:
        """Forget a session; False when it did not exist."""
        with self._lock:
            return self._drop(session_id) is not None

    def clear(self) -> None:
        """Forget every session (tests)."""
        with self._lock:
            self._sessions.clear()
            self._bytes = 0

    # The async API is the sync one: each call holds the lock for microseconds, never across a wait.
    async def acreate(self) -> str:
        """As create()."""
        return self.create()

    async def aturns(self, session_id: str) -> list[Turn] | None:
        """As turns()."""
        return self.turns(session_id)

    async def aappend(self, session_id: str, turns: list[Turn]) -> bool:
        """As append()."""
        return self.append(session_id, turns)

    async def adelete(self, session_id: str) -> bool:
        """As delete()."""
        return self.delete(session_id)

    def save_snapshot(self, path: Path) -> int:
        """Write the live sessions to ``path`` (atomically, owner-only) and return how many were written."""
        with self._lock:
            self._expire()
            now = self._clock()
            sessions = [
                {"id": sid, "idle": now - s.last_used, "turns": [t.to_dict() for t in s.turns]}
                for sid, s in self._sessions.items()
            ]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            json.dump({"version": SNAPSHOT_VERSION, "saved_at": time.time(), "sessions": sessions}, out)
        os.replace(partial, path)
        return len(sessions)

    def load_snapshot(self, path: Path) -> int:
        """Restore sessions from a snapshot (expired ones dropped), then delete it; return how many came back.

        The file is deleted once read, so a crash later never brings back conversations from before it.
        """
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as error:
            logger.warning("session snapshot %s is unreadable (%s); starting with no sessions", path.name, error)
            path.unlink(missing_ok=True)
            return 0
        path.unlink(missing_ok=True)
        if not isinstance(raw, dict) or raw.get("version") != SNAPSHOT_VERSION:
            return 0
        downtime = max(time.time() - float(raw.get("saved_at", 0)), 0.0)
        restored = 0
        with self._lock:
            now = self._clock()
            # Least recently used first, as the store keeps them; the newest sessions win when it is full.
            for item in sorted(raw.get("sessions", []), key=lambda item: -float(item.get("idle", 0))):
                idle = float(item.get("idle", 0)) + downtime
                if idle > self.ttl_seconds:
                    continue
                try:
                    turns = [Turn.from_dict(turn) for turn in item["turns"]][-self.max_turns :]
                    session_id = str(uuid.UUID(str(item["id"])))
                except (KeyError, TypeError, ValueError):
                    continue
                while len(self._sessions) >= self.max_sessions:
                    self._drop(next(iter(self._sessions)))
                session = self._sessions[session_id] = _Session(turns=[], last_used=now - idle)
                self._set_turns(session, turns)
                restored += 1
        return restored


class RedisSessionStore:
    """Sessions in Redis, for several processes or machines: a list per session, trimmed and expired."""

    def __init__(self, *, url: str, max_turns: int, ttl_seconds: int, prefix: str = "chat:session:") -> None:
        import redis  # noqa: PLC0415

        self.max_turns = max_turns
        self.ttl_seconds = int(ttl_seconds)
        self.prefix = prefix
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self._watch_error = redis.exceptions.WatchError
        options = {
            "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT,
        }
        self._redis = redis.Redis.from_url(url, **options)
        self._url, self._options = url, options
        # An asyncio client belongs to the event loop it was made on: one per loop.
        self._async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _keys(self, session_id: str) -> tuple[str, str]:
        # A marker key makes empty sessions exist: Redis deletes empty lists.
        return f"{self.prefix}{session_id}", f"{self.prefix}{session_id}:turns"

    def _call(self, fn):
        try:
            return fn()
        except self._errors as error:
            raise SessionStoreError("The session store (Redis) is unavailable.") from error

    def create(self) -> str:
        """Start an empty session."""
        session_id = new_session_id()
        marker, _ = self._keys(session_id)
        self._call(lambda: self._redis.set(marker, "1", ex=self.ttl_seconds))
        return session_id

    def _touch(self, pipe, session_id: str) -> None:
        marker, turns = self._keys(session_id)
        pipe.expire(marker, self.ttl_seconds)
        pipe.expire(turns, self.ttl_seconds)

    # The commands are queued the same way on the sync and the asyncio client's pipelines.
    def _queue_read(self, pipe, session_id: str) -> None:
        marker, key = self._keys(session_id)
        pipe.exists(marker)
        pipe.lrange(key, 0, -1)
        self._touch(pipe, session_id)

    @staticmethod
    def _read_result(results: list) -> list[Turn] | None:
        alive, raw, *_ = results
        return [Turn.from_dict(json.loads(item)) for item in raw] if alive else None

    def _queue_append(self, pipe, session_id: str, payload: list[str]) -> None:
        _, key = self._keys(session_id)
        pipe.rpush(key, *payload)
        pipe.ltrim(key, -self.max_turns, -1)
        self._touch(pipe, session_id)

    def exists(self, session_id: str) -> bool:
        """Whether the session is alive (and touch it)."""

        def run() -> bool:
            pipe = self._redis.pipeline()
            self._touch(pipe, session_id)
            return bool(pipe.execute()[0])

        return self._call(run)

    def turns(self, session_id: str) -> list[Turn] | None:
        """The kept turns, oldest first, or None for an unknown or expired session."""

        def run() -> list[Turn] | None:
            pipe = self._redis.pipeline()
            self._queue_read(pipe, session_id)
            return self._read_result(pipe.execute())

        return self._call(run)

    def append(self, session_id: str, turns: list[Turn]) -> bool:
        """Add turns together (one MULTI/EXEC); False when the session is gone."""
        marker, _ = self._keys(session_id)
        payload = [json.dumps(turn.to_dict()) for turn in turns]

        def run() -> bool:
            with self._redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(marker)
                        if not pipe.exists(marker):
                            pipe.reset()
                            return False
                        pipe.multi()
                        self._queue_append(pipe, session_id, payload)
                        pipe.execute()
                        return True
                    except self._watch_error:
                        continue

        return self._call(run)

    def delete(self, session_id: str) -> bool:
        """Forget a session; False when it did not exist."""
        return bool(self._call(lambda: self._redis.delete(*self._keys(session_id))))

    def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(self._call(self._redis.ping))

    def _aredis(self):
        import redis.asyncio  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = redis.asyncio.Redis.from_url(self._url, **self._options)
        return client

    async def _acall(self, fn):
        try:
            return await fn(self._aredis())
        except self._errors as error:
            raise SessionStoreError("The session store (Redis) is unavailable.") from error

    async def acreate(self) -> str:
        """As create(), with redis-py's asyncio client."""
        session_id = new_session_id()
        marker, _ = self._keys(session_id)
        await self._acall(lambda client: client.set(marker, "1", ex=self.ttl_seconds))
        return session_id

    async def aturns(self, session_id: str) -> list[Turn] | None:
        """As turns()."""

        async def run(client) -> list[Turn] | None:
            pipe = client.pipeline()
            self._queue_read(pipe, session_id)
            return self._read_result(await pipe.execute())

        return await self._acall(run)

    async def aappend(self, session_id: str, turns: list[Turn]) -> bool:
        """As append() (one MULTI/EXEC under WATCH)."""
        marker, _ = self._keys(session_id)
        payload = [json.dumps(turn.to_dict()) for turn in turns]

        async def run(client) -> bool:
            async with client.pipeline() as pipe:
                while True:
                    try:
                        await pipe.watch(marker)
                        if not await pipe.exists(marker):
                            await pipe.reset()
                            return False
                        pipe.multi()
                        self._queue_append(pipe, session_id, payload)
                        await pipe.execute()
                        return True
                    except self._watch_error:
                        continue

        return await self._acall(run)

    async def adelete(self, session_id: str) -> bool:
        """As delete()."""
        return bool(await self._acall(lambda client: client.delete(*self._keys(session_id))))


_store: SessionStore | None = None
_store_lock = threading.Lock()


def build_session_store() -> SessionStore:
    """The store chosen by SESSION_BACKEND."""
    if settings.SESSION_BACKEND == "redis":
        return RedisSessionStore(
            url=settings.REDIS_URL,
            max_turns=settings.CHAT_SESSION_MAX_TURNS,
            ttl_seconds=settings.CHAT_SESSION_TTL_SECONDS,
        )
    return InMemorySessionStore(
        max_sessions=settings.CHAT_SESSION_MAX_SESSIONS,
        max_turns=settings.CHAT_SESSION_MAX_TURNS,
        ttl_seconds=settings.CHAT_SESSION_TTL_SECONDS,
        max_bytes=settings.CHAT_SESSION_MAX_BYTES or None,
        protect_seconds=settings.CHAT_SESSION_PROTECT_SECONDS,
    )


def get_session_store() -> SessionStore:
    """The process-wide store (module level, per the architecture decision)."""
    global _store
    with _store_lock:
        if _store is None:
            _store = build_session_store()
        return _store


def reset_session_store() -> None:
    """Drop the process-wide store so the next call rebuilds it from settings (tests)."""
    global _store
    with _store_lock:
        _store = None
