"""Memory of the in-memory session store: 10,000 sessions of 20 turns, against the raw turn payload.

.venv/bin/python bench/session_memory.py [--sessions 10000] [--turns 20]
"""

import argparse
import gc
import json
import resource
import time
import tracemalloc

from _setup import setup, table


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1_048_576


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    setup()
    from chat.sessions import InMemorySessionStore, Turn

    source = {
        "index": 1,
        "chunk_id": 123,
        "document_id": 7,
        "title": "Getting started",
        "reference": "/docs/guide/x.md",
        "section": "Getting started > Add a document",
        "snippet": "s" * 300,
        "score": 0.0328,
        "kind": "chunk",
    }

    def pair(i: int) -> list[Turn]:
        user = Turn(role="user", content=f"How do I add document number {i} to the knowledge base?")
        answer = Turn(
            role="assistant",
            content="“In the admin, open Knowledge base, then Source documents, then Add.” [1] " + "a" * 150,
            data={"status": "answered", "generator": "extractive", "sources": [dict(source), dict(source)]},
        )
        return [user, answer]

    def fill() -> tuple[InMemorySessionStore, float]:
        store = InMemorySessionStore(max_sessions=args.sessions, max_turns=args.turns, ttl_seconds=3600)
        started = time.perf_counter()
        for _ in range(args.sessions):
            session = store.create()
            for i in range(args.turns // 2):
                store.append(session, pair(i))
        return store, time.perf_counter() - started

    gc.collect()
    rss_before = rss_mb()
    first, seconds = fill()  # RSS without tracemalloc's own overhead
    rss_after = rss_mb()
    tracemalloc.start()
    second, _ = fill()
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(first) == len(second) == args.sessions
    payload = sum(len(json.dumps(t.to_dict())) for t in pair(0)) * (args.turns // 2) * args.sessions
    print(
        table(
            [
                "sessions",
                "turns each",
                "store MiB (tracemalloc)",
                "RSS growth MiB",
                "JSON payload MiB",
                "store / payload",
                "fill s",
            ],
            [
                [
                    args.sessions,
                    args.turns,
                    f"{current / 1_048_576:.0f}",
                    f"{rss_after - rss_before:.0f}",
                    f"{payload / 1_048_576:.0f}",
                    f"{current / payload:.2f}",
                    f"{seconds:.1f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
