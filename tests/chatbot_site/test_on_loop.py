"""Running Django's sync steps on the event loop: the executor and the marker the middleware reads."""

import asyncio
import threading

import pytest

from chatbot_site.on_loop import OnTheLoop, runs_on_loop, steps_on_loop


def test_the_executor_runs_a_call_at_once_on_the_loop_without_waking_it():
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        wakeups = []
        call_soon_threadsafe = loop.call_soon_threadsafe
        loop.call_soon_threadsafe = lambda *args, **kwargs: (
            wakeups.append(args) or call_soon_threadsafe(*args, **kwargs)
        )
        value = await loop.run_in_executor(OnTheLoop(), threading.get_ident)
        return value, threading.get_ident(), len(wakeups)

    ran_in, loop_thread, wakeups = asyncio.run(main())
    assert ran_in == loop_thread
    assert wakeups == 0  # a concurrent.futures.Future would be completed through call_soon_threadsafe


def test_the_executor_hands_an_error_to_the_awaiting_caller():
    def fail() -> None:
        raise ValueError("no")

    async def main() -> None:
        await asyncio.get_running_loop().run_in_executor(OnTheLoop(), fail)

    with pytest.raises(ValueError, match="no"):
        asyncio.run(main())


def test_the_marker_holds_inside_the_block_and_in_tasks_started_there():
    async def marked() -> bool:
        return runs_on_loop()

    async def main() -> dict[str, bool]:
        seen = {"before": runs_on_loop()}
        with steps_on_loop():
            seen["inside"] = runs_on_loop()
            seen["in a task"] = await asyncio.create_task(marked())
            with steps_on_loop(False):
                seen["switched off"] = runs_on_loop()
        seen["after"] = runs_on_loop()
        return seen

    assert asyncio.run(main()) == {
        "before": False,
        "inside": True,
        "in a task": True,
        "switched off": False,
        "after": False,
    }
