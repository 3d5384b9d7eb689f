"""Many readers at once: the threaded server before async serving against the ASGI server, side by side.

Both serve one process with the default in-memory sessions, the demo guide as knowledge, and a model that
streams a 20-token answer (bench/slow_model.py, a separate process on 127.0.0.1):

- burst: 1, 8, 64 and 256 readers ask at the same moment, 2-second model, every client streaming;
- sustained: 100 new questions a second for 10 seconds, 5-second model (about 500 streams open at once);
- offline: the extractive answerer (no model), 1, 4 and 16 clients asking back to back: throughput.

"Before" is the code at --baseline (a git worktree) served as its `make run` did (by default b74b1cc: gunicorn,
1 process, 8 threads; a later baseline with chatbot_site.server: uvicorn); "after" is this tree as `make run`
serves it (uvicorn, chatbot_site.server). `--baseline ""` serves this tree on both sides, and `--before-env
KEY=VALUE` (repeatable) sets variables for the before side alone: its server, and an index of the demo guide
ingested with them (another embedding runtime is another model id). A request that has
not finished 30 s after it was sent counts as not done. Server memory is the resident set before and at its
peak during each run; CPU per answer is the server's (its event loop and threads) and its embedding process's
over each run, from /proc.

    .venv/bin/python bench/concurrency.py [--baseline REV] [--before-env KEY=VALUE] [--quick] [--logs DIR]
        [--repeat N]

With --repeat N both servers are measured N times, alternating which goes first (this machine's speed drifts by
more than some of the differences measured); the table gives the medians and lists each run's first-token p95.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from _http import Client, percentile
from _setup import ROOT, baseline_guide_database, baseline_python, guide_database, setup, table, worktree

BASELINE = "b74b1cc"  # main before async serving: gunicorn, one process, 8 threads
DEADLINE = 30.0
QUESTIONS = [
    "How do I add a document?",
    "What formats can I upload?",
    "How does streaming work?",
    "When should I switch to Redis?",
    "How are documents split?",
    "How do I use my own PostgreSQL server?",
]


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process(
    command: list[str], *, cwd: Path, env: dict, ready_url: str | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen]:
    """A child process, waited on until ``ready_url`` answers 200, stopped with SIGTERM after the block. Its
    output goes to ``log`` (appended) or nowhere."""
    output = log.open("ab") if log else subprocess.DEVNULL
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 120
        while ready_url and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(ready_url, timeout=60) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            if ready_url:
                raise RuntimeError(f"{command[:3]} did not become ready")
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        if log:
            output.close()


def server_command(code: Path, port: int) -> list[str]:
    """The server as the tree's `make run` starts it: uvicorn where chatbot_site.server exists, else gunicorn;
    with the packages the tree's requirements name."""
    python = baseline_python(code)
    if not (code / "chatbot_site" / "server.py").exists():
        return [python, "-m", "gunicorn", "chatbot_site.wsgi", "--bind", f"127.0.0.1:{port}"] + [
            "--workers", "1", "--threads", "8", "--timeout", "120",
        ]  # fmt: skip
    return [python, "-m", "chatbot_site.server", "--host", "127.0.0.1", "--port", str(port)]


def rss_mb_of(pid: int) -> float:
    """Resident memory of the server and its children (the embedding process), in MB."""
    from tests.servers import rss_mb_of as of  # noqa: PLC0415 - importable after setup()

    return of(pid)


def cpu_seconds_of(pid: int) -> tuple[float, float]:
    """CPU seconds (user and system) a process has used so far, and those its live children (the embedding
    process) have."""
    tick = os.sysconf("SC_CLK_TCK")

    def own(process: int) -> float:
        fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    from tests.servers import child_pids_of  # noqa: PLC0415 - importable after setup()

    return own(pid), sum(own(child) for child in child_pids_of(pid))


class Peak:
    """Samples a process's resident memory in the background; the highest value seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_mb_of(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_mb_of(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


async def stream_once(port: int, question: str) -> dict:
    """One streaming question over its own connection: first token and whole answer times, and whether it
    ended with `done` within the deadline."""
    started = time.perf_counter()
    first = None
    buffer = b""
    failure = None
    try:
        async with asyncio.timeout(DEADLINE):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            body = json.dumps({"message": question}).encode()
            writer.write(
                b"POST /api/chat/?stream=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + b"Accept: text/event-stream\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            while chunk := await reader.read(65536):
                buffer += chunk
                if first is None and b"event: token" in buffer:
                    first = time.perf_counter() - started
            writer.close()
    except (TimeoutError, OSError) as error:
        failure = type(error).__name__
    whole = time.perf_counter() - started
    done = b"event: done" in buffer
    if not done and failure is None:
        # Why a stream ended without `done`: the code of its error event, or the status line.
        code = re.search(rb'"code": ?"([a-z_]+)"', buffer)
        failure = code.group(1).decode() if code else buffer.split(b"\r\n", 1)[0].decode(errors="replace") or "empty"
    return {
        "first": first if first is not None else DEADLINE,
        "whole": whole if done else DEADLINE,
        "done": done,
        "answered": b'"status": "answered"' in buffer,
        "failure": failure if not done else None,
    }


async def burst(port: int, readers: int) -> list[dict]:
    return await asyncio.gather(*(stream_once(port, QUESTIONS[i % len(QUESTIONS)]) for i in range(readers)))


async def sustained(port: int, rate: int, seconds: int) -> list[dict]:
    tasks = []
    started = time.perf_counter()
    for index in range(rate * seconds):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(stream_once(port, QUESTIONS[index % len(QUESTIONS)])))
    return await asyncio.gather(*tasks)


def summary(results: list[dict], before_mb: float, peak_mb: float, cpu: tuple[float, float]) -> dict:
    """``cpu``: the server's and its children's CPU seconds over the run."""
    firsts, wholes = [r["first"] for r in results], [r["whole"] for r in results]
    return {
        "cpu_server_ms": cpu[0] * 1000 / max(len(results), 1),
        "cpu_children_ms": cpu[1] * 1000 / max(len(results), 1),
        "first_p50": percentile(firsts, 50),
        "first_p95": percentile(firsts, 95),
        "whole_p50": percentile(wholes, 50),
        "whole_p95": percentile(wholes, 95),
        "done": sum(r["done"] for r in results),
        "answered": sum(r["answered"] for r in results),
        "n": len(results),
        "failures": dict(Counter(r["failure"] for r in results if r["failure"])),
        "rss_before": before_mb,
        "rss_peak": peak_mb,
    }


def combined(runs: list[dict]) -> dict:
    """One server's repeated runs as one: the median of each time, rate and memory figure; streams added up."""
    result: dict = {}
    for name in runs[0]:
        rows = [run[name] for run in runs]
        result[name] = {
            key: statistics.median(row[key] for row in rows)
            for key in rows[0]
            if key not in {"done", "answered", "n", "failures"}
        }
        if "n" in rows[0]:
            for key in ("done", "answered", "n"):
                result[name][key] = sum(row[key] for row in rows)
            result[name]["failures"] = dict(sum((Counter(row["failures"]) for row in rows), Counter()))
    return result


def throughput(url: str, clients: int, seconds: float) -> float:
    """Answers per second with ``clients`` asking back to back over keep-alive connections (JSON replies)."""
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def run(slot: int) -> None:
        client = Client(url)
        while time.perf_counter() < stop:
            status, _, _, _ = client.request("POST", "/api/chat/", {"message": QUESTIONS[slot % len(QUESTIONS)]})
            counts[slot] += status == 200

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def measure(
    kind: str, code: Path, database: str, *, quick: bool, logs: Path | None = None, env: dict | None = None
) -> dict:
    """Every phase against one server kind (with ``env`` added to its environment); a fresh server (and model
    server) per phase. With ``logs``, each server's output (tracebacks of failed streams included) goes to
    ``logs/<kind>.log``."""
    log = logs / f"{kind}.log" if logs else None
    from django.conf import settings  # noqa: PLC0415

    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot_site.settings",
        "EMBEDDED_POSTGRES_DB": database,
        "EMBEDDED_POSTGRES_DIR": str(settings.EMBEDDED_POSTGRES_DIR),
        # One exported model graph for both trees: a baseline's worktree would otherwise export its own at start.
        "MODEL_CACHE_DIR": str(settings.MODEL_CACHE_DIR),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "0",
        "CHAT_THROTTLE_IP": "1000000/min",
        "CHAT_THROTTLE_SESSION": "1000000/min",
        "CHAT_THROTTLE_SESSION_CREATE": "1000000/min",
        "CHAT_SESSION_SNAPSHOT": "0",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    phases = [("burst", 1, 2.0), ("burst", 8, 2.0), ("burst", 64, 2.0), ("burst", 256, 2.0)]
    phases.append(("sustained", 20 if quick else 100, 5.0))
    results: dict = {}
    for phase, size, model_seconds in phases:
        model_port, port = free_port(), free_port()
        env = {
            **base_env,
            "OPENAI_API_KEY": "sk-bench-not-a-real-key",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{model_port}/v1",
            "CHAT_MODEL": "bench-model",
            "OPENAI_TIMEOUT_SECONDS": "60",
        }
        model = [sys.executable, str(ROOT / "bench" / "slow_model.py"), "--port", str(model_port)]
        with (
            process([*model, "--seconds", str(model_seconds)], cwd=ROOT, env=base_env),
            process(
                server_command(code, port), cwd=code, env=env, ready_url=f"http://127.0.0.1:{port}/readyz", log=log
            ) as app,
        ):
            asyncio.run(burst(port, 2))  # one warm-up pair, as a reader who came earlier
            before, cpu_before = rss_mb_of(app.pid), cpu_seconds_of(app.pid)
            peak = Peak(app.pid)
            if phase == "burst":
                outcome = asyncio.run(burst(port, size))
            else:
                outcome = asyncio.run(sustained(port, size, 10))
            cpu = tuple(b - a for a, b in zip(cpu_before, cpu_seconds_of(app.pid), strict=True))
            results[f"{phase} {size}"] = summary(outcome, before, peak.stop(), cpu)
        print(f"  {kind} {phase} {size}: {results[f'{phase} {size}']}", file=sys.stderr)
    port = free_port()
    with process(
        server_command(code, port), cwd=code, env=base_env, ready_url=f"http://127.0.0.1:{port}/readyz", log=log
    ):
        url = f"http://127.0.0.1:{port}"
        throughput(url, 1, 2)  # warm-up
        for clients in (1, 4, 16):
            results[f"offline {clients}"] = {"rps": throughput(url, clients, 5 if quick else 15)}
            print(f"  {kind} offline {clients}: {results[f'offline {clients}']}", file=sys.stderr)
    return results


def seconds(value: float) -> str:
    return f">={DEADLINE:.0f}" if value >= DEADLINE else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the threaded server")
    parser.add_argument("--quick", action="store_true", help="a shorter sustained run and offline phase")
    parser.add_argument("--logs", type=Path, help="a folder for the servers' output (before.log, after.log)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure both servers this many times, alternating which goes first"
    )
    parser.add_argument(
        "--before-env", action="append", default=[], metavar="KEY=VALUE", help="a variable for the before side only"
    )
    args = parser.parse_args()
    before_env = dict(pair.split("=", 1) for pair in args.before_env)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    setup()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(guide_database(suffix="concurrency"))
        tree = stack.enter_context(worktree(args.baseline)) if args.baseline else ROOT
        if args.baseline:  # its own schema, as its own code migrates it
            before_database = stack.enter_context(
                baseline_guide_database(tree, suffix="concurrency_before", env=before_env)
            )
        elif before_env:
            before_database = stack.enter_context(guide_database(suffix="concurrency_before", env=before_env))
        else:
            before_database = database
        for index in range(max(args.repeat, 1)):
            sides = [("after", ROOT, database, {}), ("before", tree, before_database, before_env)]
            for kind, code, db, env in sides if index % 2 == 0 else sides[::-1]:
                runs[kind].append(measure(kind, code, db, quick=args.quick, logs=args.logs, env=env))
    before, after = combined(runs["before"]), combined(runs["after"])
    if args.repeat > 1:
        print(f"Medians of {args.repeat} runs of each server, alternating which went first.\n")
    rows = []
    for name, old in before.items():
        new = after[name]
        if "rps" in old:
            ratio = f"{new['rps'] / old['rps']:.2f}x throughput"
            rows.append([name, f"{old['rps']:.1f}/s", "", "", f"{new['rps']:.1f}/s", "", "", ratio])
            continue
        rows.append(
            [
                name,
                f"{seconds(old['first_p50'])} / {seconds(old['first_p95'])}",
                f"{seconds(old['whole_p50'])} / {seconds(old['whole_p95'])}",
                f"{old['done']}/{old['n']}",
                f"{seconds(new['first_p50'])} / {seconds(new['first_p95'])}",
                f"{seconds(new['whole_p50'])} / {seconds(new['whole_p95'])}",
                f"{new['done']}/{new['n']} ({new['answered']} answered)",
                f"{old['first_p95'] / new['first_p95']:.1f}x / {old['whole_p95'] / new['whole_p95']:.1f}x",
            ]
        )
    headers = ["run", "before: first p50/p95 s", "whole p50/p95 s", "done"]
    headers += ["after: first p50/p95 s", "whole p50/p95 s", "done", "p95 ratio (first/whole)"]
    print(table(headers, rows))
    memory = [[name, f"{before[name]['rss_before']:.0f} -> {before[name]['rss_peak']:.0f}",
               f"{after[name]['rss_before']:.0f} -> {after[name]['rss_peak']:.0f}"]
              for name in before if "rss_before" in before[name]]  # fmt: skip
    print()
    print(table(["run", "before: RSS MB (start -> peak)", "after: RSS MB (start -> peak)"], memory))
    cpu = [[name, *(f"{side[name]['cpu_server_ms']:.1f} / {side[name]['cpu_children_ms']:.1f}"
                    for side in (before, after))]
           for name in before if "cpu_server_ms" in before[name]]  # fmt: skip
    print()
    headers = ["run", "before: CPU ms per answer, server / embedding process", "after: server / embedding process"]
    print(table(headers, cpu))
    failed = [[name, side, ", ".join(f"{reason} x{count}" for reason, count in runs[name]["failures"].items())]
              for side, runs in (("before", before), ("after", after))
              for name in runs if runs[name].get("failures")]  # fmt: skip
    if failed:
        print()
        print(table(["run", "server", "streams not done: why"], failed))
    if args.repeat > 1:
        spread = [[name, " / ".join(seconds(run[name]["first_p95"]) for run in runs["before"]),
                   " / ".join(seconds(run[name]["first_p95"]) for run in runs["after"])]
                  for name in before if "first_p95" in before[name]]  # fmt: skip
        print()
        headers = ["run", "before: first token p95 of each run (s)", "after: first token p95 of each run (s)"]
        print(table(headers, spread))


if __name__ == "__main__":
    main()
