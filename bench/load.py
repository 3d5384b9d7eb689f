"""Load, integrity and memory against the server as `make run` starts it (uvicorn, 1 process).

1. 50 concurrent sessions x 20 turns; then every session is fetched and checked: no turn lost, duplicated or
   misordered. Throughput, p95 and the server's RSS before and after.
2. A burst beyond the default throttle: 429 with Retry-After, never 5xx.
3. 100,000 sessions against the in-memory store: RSS stays bounded (least recently used sessions are evicted), and
   a reader asking every 20 s meanwhile keeps the whole conversation (it is never evicted for a new session).

All traffic goes to 127.0.0.1, with fixed request counts.

    .venv/bin/python bench/load.py [--sessions 50] [--turns 20] [--memory-sessions 100000]
"""

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _http import Client, percentile
from _setup import GUIDE_QUESTIONS, UNTHROTTLED, guide_database, setup, table

QUESTIONS = GUIDE_QUESTIONS
OPEN = UNTHROTTLED


def conversation_phase(server, sessions: int, turns: int) -> dict:
    rss_before = server.rss_mb()
    latencies, errors, sent = [], [], {}
    lock = threading.Lock()

    def run_session(n: int) -> None:
        client = Client(server.url)
        status, body, _, _ = client.request("POST", "/api/chat/sessions/")
        session_id = body["session_id"]
        mine = []
        for turn in range(turns):
            message = f"{QUESTIONS[(n + turn) % len(QUESTIONS)]} (s{n} t{turn})"
            status, body, _, seconds = client.request(
                "POST", f"/api/chat/sessions/{session_id}/messages/", {"message": message}
            )
            with lock:
                latencies.append(seconds)
                if status != 200:
                    errors.append(status)
            if status == 200:
                mine.append(message)
        with lock:
            sent[session_id] = mine

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        list(pool.map(run_session, range(sessions)))
    wall = time.perf_counter() - started
    rss_after = server.rss_mb()
    lost = duplicated = misordered = 0
    checker = Client(server.url)
    for session_id, messages in sent.items():
        _, body, _, _ = checker.request("GET", f"/api/chat/sessions/{session_id}/")
        users = [t["content"] for t in body["turns"] if t["role"] == "user"]
        roles = [t["role"] for t in body["turns"]]
        lost += len(set(messages) - set(users))
        duplicated += len(users) - len(set(users))
        misordered += int(users != messages[-len(users) :] or roles != ["user", "assistant"] * len(users))
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "throughput": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "lost": lost,
        "duplicated": duplicated,
        "misordered": misordered,
    }


def burst_phase(server, requests: int) -> dict:
    statuses, retry_after = [], []
    lock = threading.Lock()

    def fire(_: int) -> None:
        status, _, headers, _ = Client(server.url).request("POST", "/api/chat/sessions/")
        with lock:
            statuses.append(status)
            if status == 429:
                retry_after.append(headers.get("Retry-After"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(fire, range(requests)))
    return {
        "requests": requests,
        "201": statuses.count(201),
        "429": statuses.count(429),
        "5xx": sum(s >= 500 for s in statuses),
        "retry_after_missing": sum(not value for value in retry_after),
    }


def memory_phase(server, sessions: int) -> dict:
    rss_before = server.rss_mb()
    counter = iter(range(sessions))
    lock = threading.Lock()
    failures = []

    def worker() -> None:
        client = Client(server.url)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            status, _, _, _ = client.request("POST", "/api/chat/sessions/")
            if status != 201:
                failures.append(status)

    done = threading.Event()
    reader = {"asked": 0, "answered": 0}

    def reader_loop() -> None:
        # A reader in a conversation, asking every 20 s (active within the last minute) while the flood runs.
        client = Client(server.url)
        session_id = client.request("POST", "/api/chat/sessions/")[1]["session_id"]
        reader["session_id"] = session_id
        while True:
            status, _, _, _ = client.request(
                "POST", f"/api/chat/sessions/{session_id}/messages/", {"message": QUESTIONS[reader["asked"] % 8]}
            )
            reader["asked"] += 1
            reader["answered"] += status == 200
            if done.wait(20):
                return

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    watcher = threading.Thread(target=reader_loop)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    status, body, _, _ = Client(server.url).request("GET", f"/api/chat/sessions/{reader['session_id']}/")
    kept = len(body.get("turns", [])) // 2 if status == 200 else 0
    return {
        "reader": f"{reader['answered']}/{reader['asked']} answered, {kept} kept",
        # The store keeps a session's last CHAT_SESSION_MAX_TURNS (40) turns: 20 exchanges at most.
        "reader_ok": reader["answered"] == reader["asked"] and kept == min(reader["asked"], 20),
        "sessions": sessions,
        "seconds": time.perf_counter() - started,
        "failures": len(failures),
        "rss_before": rss_before,
        "rss_after": server.rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--memory-sessions", type=int, default=100_000)
    args = parser.parse_args()
    setup()
    from tests.servers import AppServer

    with guide_database(suffix="bench_load") as database:
        with AppServer(database=database, env=OPEN).running() as server:
            load = conversation_phase(server, args.sessions, args.turns)
        memory = {}
        # The same 100k sessions with the default bound, and with a bound too high to evict (the baseline).
        for label, bound in (("bounded (default 10,000)", "10000"), ("unbounded baseline", "100000000")):
            with AppServer(database=database, env={**OPEN, "CHAT_SESSION_MAX_SESSIONS": bound}).running() as server:
                memory[label] = memory_phase(server, args.memory_sessions)
        with AppServer(database=database).running() as limited:  # the default throttles
            burst = burst_phase(limited, args.burst)

    print(f"\n1. {args.sessions} concurrent sessions x {args.turns} turns (offline answerer)")
    print(
        table(
            [
                "requests",
                "errors",
                "req/s",
                "p50 ms",
                "p95 ms",
                "RSS before MiB",
                "RSS after MiB",
                "lost",
                "duplicated",
                "misordered sessions",
            ],
            [
                [
                    load["requests"],
                    load["errors"],
                    f"{load['throughput']:.1f}",
                    f"{load['p50']:.0f}",
                    f"{load['p95']:.0f}",
                    f"{load['rss_before']:.0f}",
                    f"{load['rss_after']:.0f}",
                    load["lost"],
                    load["duplicated"],
                    load["misordered"],
                ]
            ],
        )
    )
    print(f"\n2. burst of {args.burst} session creations at the default throttle")
    print(
        table(
            ["requests", "201", "429", "5xx", "429 without Retry-After"],
            [[burst["requests"], burst["201"], burst["429"], burst["5xx"], burst["retry_after_missing"]]],
        )
    )
    print(f"\n3. {args.memory_sessions:,} sessions against the in-memory store (bound: CHAT_SESSION_MAX_SESSIONS)")
    rows = [
        [
            label,
            m["sessions"],
            f"{m['seconds']:.0f}",
            m["failures"],
            f"{m['rss_before']:.0f}",
            f"{m['rss_after']:.0f}",
            f"{m['rss_after'] - m['rss_before']:.1f}",
            m["reader"],
        ]
        for label, m in memory.items()
    ]
    headers = ["store", "sessions", "seconds", "failures", "RSS before MiB", "RSS after MiB", "growth MiB"]
    print(table([*headers, "a reader asking every 20 s"], rows))
    bounded, unbounded = memory.values()
    growth = [m["rss_after"] - m["rss_before"] for m in (bounded, unbounded)]
    print(f"growth bounded / unbounded: {growth[0] / max(growth[1], 0.1):.2f}")
    ok = (
        load["errors"] == 0
        and not load["lost"] + load["duplicated"] + load["misordered"]
        and burst["5xx"] == 0
        and burst["429"] > 0
        and burst["retry_after_missing"] == 0
        and not any(m["failures"] for m in memory.values())
        and all(m["reader_ok"] for m in memory.values())
    )
    print("\nresult:", "PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
