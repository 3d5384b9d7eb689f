"""Event-loop CPU per streamed answer: Haystack's OpenAIChatGenerator against ours, on the same loop and model.

The model is bench/slow_model.py on 127.0.0.1 (a separate process), streaming a 20-token answer over 0.2 s, so
every token is its own read. ANSWERS answers run CONCURRENT at a time through each generator, in alternation,
ROUNDS times; the table gives the loop thread's CPU per answer (``time.thread_time``) and its ratio to
Haystack's generator. "ours, any loop" is how commands and tests run (httpx); "ours, serving loop" is the server
(aiohttp).

    .venv/bin/python bench/generator.py
"""

import asyncio
import statistics
import sys
import time

from _setup import ROOT, setup, table

ANSWERS, CONCURRENT, ROUNDS = 400, 20, 3


async def answer_all(run) -> None:
    gate = asyncio.Semaphore(CONCURRENT)

    async def one() -> None:
        async with gate:
            await run()

    await asyncio.gather(*(one() for _ in range(ANSWERS)))


async def measure(base_url: str) -> dict[str, list[float]]:
    from haystack.components.generators.chat import OpenAIChatGenerator  # noqa: PLC0415 - after setup()
    from haystack.dataclasses import ChatMessage  # noqa: PLC0415
    from haystack.utils import Secret  # noqa: PLC0415

    from chat import generation  # noqa: PLC0415

    messages = [ChatMessage.from_system("Answer from the sources. " * 40), ChatMessage.from_user("What is it?")]
    options = {"api_key": Secret.from_token("sk-bench"), "model": "bench-model", "api_base_url": base_url}
    haystack = OpenAIChatGenerator(**options)
    ours_any = generation.ClosingOpenAIChatGenerator(**options)
    await ours_any.warm_up_async()  # before the loop is marked as the server's: httpx
    generation.serve_on_running_loop()
    ours_serving = generation.ClosingOpenAIChatGenerator(**options)
    pieces: list[str] = []

    async def on_chunk(chunk) -> None:
        pieces.append(chunk.content)

    def runner(generator):
        async def run() -> None:
            reply = (await generator.run_async(messages=messages, streaming_callback=on_chunk))["replies"][0]
            assert reply.text.endswith("[1]."), reply.text

        return run

    variants = {
        "Haystack's OpenAIChatGenerator": runner(haystack),
        "ours, any loop (httpx)": runner(ours_any),
        "ours, serving loop (aiohttp)": runner(ours_serving),
    }
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        await answer_all(run)  # connections and caches warm
    for _ in range(ROUNDS):
        for name, run in variants.items():
            started = time.thread_time()
            await answer_all(run)
            cpu[name].append((time.thread_time() - started) * 1000 / ANSWERS)
    for generator in (haystack, ours_any, ours_serving):
        await generator.close_async()
    return cpu


def main() -> None:
    setup()
    from concurrency import free_port, process  # noqa: PLC0415 - after setup()

    port = free_port()
    model = [sys.executable, str(ROOT / "bench" / "slow_model.py"), "--port", str(port), "--seconds", "0.2"]
    with process(model, cwd=ROOT, env={}):
        time.sleep(1.0)
        cpu = asyncio.run(measure(f"http://127.0.0.1:{port}/v1"))
    baseline = statistics.median(cpu["Haystack's OpenAIChatGenerator"])
    rows = [
        [
            name,
            " / ".join(f"{value:.2f}" for value in values),
            f"{statistics.median(values):.2f}",
            f"{baseline / statistics.median(values):.2f}x",
        ]
        for name, values in cpu.items()
    ]
    print(
        table(
            ["generator", "loop CPU ms per answer (each round)", "median", "less loop time than Haystack's"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
