"""Event-loop CPU per streamed answer with Haystack's copy of pipeline values against ours (knowledge.pipeline_copies).

Streamed chat answers go through the ASGI application in this process (the whole request: Django, the chat
engine's pipelines, the model's stream, the SSE response) on the demo guide, against bench/slow_model.py on
127.0.0.1 streaming a 20-token answer over 0.4 s. ANSWERS answers run CONCURRENT at a time with each copy
installed, in alternation, ROUNDS times; the table gives the loop thread's CPU per answer (``time.thread_time``),
the part of it spent copying values between components, and the ratios to Haystack's copy.

    .venv/bin/python bench/pipeline_copies.py
"""

import asyncio
import json
import os
import statistics
import sys
import time

from _setup import GUIDE_QUESTIONS, ROOT, UNTHROTTLED, guide_database, setup, table

ANSWERS, CONCURRENT, ROUNDS = 300, 20, 5


def request_scope(body: bytes) -> dict:
    path = "/api/chat/"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8000),
    }


async def stream_answer(application, question: str) -> None:
    body = json.dumps({"message": question}).encode()
    sent: list[bytes] = []
    received = False

    async def receive() -> dict:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer ends

    async def send(message: dict) -> None:
        sent.append(message.get("body", b""))

    await application(request_scope(body), receive, send)
    assert b"event: done" in b"".join(sent), b"".join(sent)[-300:]


async def answer_all(application) -> None:
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(index: int) -> None:
        async with gate:
            await stream_answer(application, GUIDE_QUESTIONS[index % len(GUIDE_QUESTIONS)])

    await asyncio.gather(*(one(index) for index in range(ANSWERS)))


async def measure() -> dict[str, dict[str, list[float]]]:
    from haystack.core.pipeline import base, pipeline, utils  # noqa: PLC0415 - after setup()

    from chat.engine import get_chat_engine  # noqa: PLC0415
    from chatbot_site.asgi import application  # noqa: PLC0415
    from knowledge import pipeline_copies  # noqa: PLC0415

    copying = {"seconds": 0.0}

    def timed(copy):
        def run(value):
            started = time.thread_time()
            try:
                return copy(value)
            finally:
                copying["seconds"] += time.thread_time() - started

        return run

    variants = {
        "Haystack's copy": pipeline_copies._HAYSTACK_COPY,
        "ours (copy_pipeline_value)": pipeline_copies.copy_pipeline_value,
    }
    await get_chat_engine().warm_up_async()
    results: dict[str, dict[str, list[float]]] = {name: {"loop": [], "copy": []} for name in variants}
    for round_number in range(ROUNDS + 1):
        for name, copy in variants.items():
            # Timed where the pipeline calls it; Haystack's copy calls itself through utils, untimed.
            utils._deepcopy_with_exceptions = copy
            base._deepcopy_with_exceptions = pipeline._deepcopy_with_exceptions = timed(copy)
            copying["seconds"] = 0.0
            started = time.thread_time()
            await answer_all(application)
            if round_number:  # the first round warms connections and caches
                results[name]["loop"].append((time.thread_time() - started) * 1000 / ANSWERS)
                results[name]["copy"].append(copying["seconds"] * 1000 / ANSWERS)
    return results


def main() -> None:
    from concurrency import free_port, process  # noqa: PLC0415

    port = free_port()
    os.environ.update(
        {
            **UNTHROTTLED,
            "OPENAI_API_KEY": "sk-bench-not-a-real-key",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "CHAT_MODEL": "bench-model",
            "CHAT_SESSION_SNAPSHOT": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    setup()
    model = [sys.executable, str(ROOT / "bench" / "slow_model.py"), "--port", str(port), "--seconds", "0.4"]
    with process(model, cwd=ROOT, env={}), guide_database(suffix="copies"):
        results = asyncio.run(measure())
    base_loop = statistics.median(results["Haystack's copy"]["loop"])
    base_copy = statistics.median(results["Haystack's copy"]["copy"])
    rows = []
    for name, measured in results.items():
        loop, copy = statistics.median(measured["loop"]), statistics.median(measured["copy"])
        rows.append(
            [
                name,
                " / ".join(f"{value:.2f}" for value in measured["loop"]),
                f"{loop:.2f}",
                f"{copy:.2f}",
                f"{loop / base_loop:.2f}x",
                f"{copy / base_copy:.2f}x",
            ]
        )
    headers = ["copy", "loop CPU ms per answer (rounds)", "median", "copying ms", "loop vs Haystack's", "copying vs"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
