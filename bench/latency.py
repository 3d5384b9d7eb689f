"""End-to-end latency of POST /api/chat/ on the server as `make run` starts it, against the floor.

The floor, measured in the same run: one query embedding plus one raw SQL HNSW query (a prepared statement). At
one client, floor samples and requests alternate, so both see the same machine state. Our latency excluding
answer generation (HTTP time minus the reply's own `generate` time) is reported as a ratio to it; the target is
at most 1.5x at one client. Then throughput and p50/p95/p99 at 1, 4 and 16 concurrent clients.

    .venv/bin/python bench/latency.py [--requests 48]
"""

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
from _http import Client, percentile
from _setup import ROOT, setup, table
from load import OPEN, QUESTIONS


def measure(
    server, clients: int, per_client: int, between: Callable[[], None] | None = None
) -> tuple[list[float], list[float], int, float]:
    """(latencies ms, latencies minus generation ms, errors, wall seconds) for `clients` concurrent clients.

    ``between`` runs before each request (one client only)."""
    latencies, excluding_generation, errors = [], [], []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = Client(server.url)
        for i in range(per_client):
            if between is not None:
                between()
            status, body, _, seconds = client.request(
                "POST", "/api/chat/", {"message": QUESTIONS[(n + i) % len(QUESTIONS)]}
            )
            with lock:
                if status != 200:
                    errors.append(status)
                    continue
                latencies.append(seconds * 1000)
                excluding_generation.append(seconds * 1000 - body["timings_ms"].get("generate", 0.0))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(run, range(clients)))
    return latencies, excluding_generation, len(errors), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    args = parser.parse_args()
    setup()
    from django.core.management import call_command
    from django.db import connection

    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_text_embedder
    from tests.servers import AppServer

    with isolated_database(suffix="bench_latency") as database:
        call_command("ingest", str(ROOT / "docs" / "guide"), "--no-progress")
        embedder = shared_text_embedder()
        floors = []

        def floor_sample() -> None:
            question = QUESTIONS[len(floors) % len(QUESTIONS)]
            started = time.perf_counter()
            vector = embedder.run(text=question)["embedding"]
            connection.ensure_connection()  # each client thread has its own connection
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(
                    "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 5",
                    ["[" + ",".join(map(str, vector)) + "]"],
                    prepare=True,
                )
                cursor.fetchall()
            floors.append((time.perf_counter() - started) * 1000)

        for _ in range(len(QUESTIONS)):  # warm-up
            floor_sample()
        floors.clear()
        server = AppServer(database=database, env=OPEN)
        server.start()
        rows, ratio = [], None
        try:
            Client(server.url).request("POST", "/api/chat/", {"message": "warm up"})
            for clients in (1, 4, 16):
                latencies, excluding_generation, errors, wall = measure(
                    server, clients, max(args.requests // clients, 1), floor_sample if clients == 1 else None
                )
                without = statistics.median(excluding_generation)
                if clients == 1:
                    floor = statistics.median(floors)
                    ratio = without / floor
                rows.append(
                    [
                        clients,
                        len(latencies),
                        errors,
                        f"{len(latencies) / wall:.1f}",
                        f"{percentile(latencies, 50):.0f}",
                        f"{percentile(latencies, 95):.0f}",
                        f"{percentile(latencies, 99):.0f}",
                        f"{without:.1f}",
                        f"{without / floor:.2f}",
                    ]
                )
        finally:
            server.stop()
    print(f"\nfloor (query embedding + raw HNSW SQL, median): {floor:.1f} ms")
    print(
        table(
            [
                "clients",
                "requests",
                "errors",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "p50 excl. generation ms",
                "excl. generation / floor",
            ],
            rows,
        )
    )
    print(f"\none client, excluding answer generation: {ratio:.2f}x the floor (target <= 1.5x)")


if __name__ == "__main__":
    main()
