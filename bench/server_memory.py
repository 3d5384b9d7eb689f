"""RSS of the server process (as `make run` starts it): when it starts listening (the model is loaded by then),
after a first answer, and with sessions.

Sessions of 20 turns are created through the real API with the offline answerer. The growth after them mixes
the sessions with warm-up (per-thread allocator arenas, torch buffers, caches), so the sessions' own share is
measured separately, in process, by bench/session_memory.py.

    .venv/bin/python bench/server_memory.py [--sessions 300]
"""

import argparse
from concurrent.futures import ThreadPoolExecutor

from _http import Client
from _setup import guide_database, setup, table
from load import OPEN, QUESTIONS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    setup()
    from tests.servers import AppServer

    with (
        guide_database(suffix="bench_memory") as database,
        AppServer(database=database, env=OPEN).running(ready_path="/healthz") as server,
    ):
        at_rest = server.rss_mb()
        Client(server.url).request("POST", "/api/chat/", {"message": "How do I add a document?"})
        with_model = server.rss_mb()

        def converse(n: int) -> None:
            client = Client(server.url)
            _, body, _, _ = client.request("POST", "/api/chat/sessions/")
            for turn in range(args.turns // 2):
                message = QUESTIONS[(n + turn) % len(QUESTIONS)]
                client.request("POST", f"/api/chat/sessions/{body['session_id']}/messages/", {"message": message})

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(converse, range(args.sessions)))
        with_sessions = server.rss_mb()
    per_session_kb = (with_sessions - with_model) * 1024 / args.sessions
    print(
        table(
            [
                "at rest MiB",
                "after model MiB",
                f"with {args.sessions} sessions MiB",
                "KiB per session",
                "10,000 sessions (extrapolated) MiB",
            ],
            [
                [
                    f"{at_rest:.0f}",
                    f"{with_model:.0f}",
                    f"{with_sessions:.0f}",
                    f"{per_session_kb:.1f}",
                    f"{with_model + per_session_kb * 10_000 / 1024:.0f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
