"""The OpenAI-compatible generator's streaming, through the real openai client against a local server, on the
serving loop (aiohttp transport) and on any other loop (httpx)."""

import asyncio
import time

import openai
import pytest
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

from chat import generation
from chat.generation import ClosingOpenAIChatGenerator, serve_on_running_loop

QUESTION = [ChatMessage.from_system("Answer from the sources."), ChatMessage.from_user("What do snowy owls hunt?")]


@pytest.fixture(params=["serving loop", "other loop"])
def loop_kind(request, monkeypatch) -> str:
    monkeypatch.setattr(generation, "_serving_loop", None)  # forgotten after the test
    return request.param


@pytest.fixture
def model(openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    openai_server.state.reset()
    yield openai_server
    openai_server.state.reset()


def make_generator(model, *, timeout: float = 5.0) -> ClosingOpenAIChatGenerator:
    return ClosingOpenAIChatGenerator(
        api_key=Secret.from_env_var("OPENAI_API_KEY"),
        model="test-model",
        api_base_url=model.base_url,
        timeout=timeout,
        max_retries=0,
    )


def run_streaming(model, loop_kind: str, *, timeout: float = 5.0, until: int | None = None) -> dict:
    """Stream one answer on a fresh loop; with ``until``, cancel the run after that many pieces."""
    pieces: list[str] = []

    async def scenario() -> dict:
        if loop_kind == "serving loop":
            serve_on_running_loop()
        generator = make_generator(model, timeout=timeout)
        got_enough = asyncio.Event()

        async def on_chunk(chunk) -> None:
            pieces.append(chunk.content)
            if until is not None and len(pieces) >= until:
                got_enough.set()

        run = asyncio.create_task(generator.run_async(messages=QUESTION, streaming_callback=on_chunk))
        try:
            if until is None:
                return {"result": await run, "client": generator.async_client}
            await got_enough.wait()
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            return {"client": generator.async_client}
        finally:
            await generator.close_async()

    outcome = asyncio.run(scenario())
    return {**outcome, "pieces": pieces}


def test_the_answer_streams_piece_by_piece_with_its_usage(model, loop_kind):
    model.state.reply = "Snowy owls hunt lemmings and voles [1]."
    outcome = run_streaming(model, loop_kind)
    assert "".join(outcome["pieces"]) == model.state.reply
    assert len(outcome["pieces"]) == len(model.state.reply.split(" "))
    reply = outcome["result"]["replies"][0]
    assert reply.text == model.state.reply
    assert reply.meta["finish_reason"] == "stop"
    assert reply.meta["model"] == "test-model"
    assert reply.meta["usage"]["total_tokens"] == 49
    sent = model.state.requests[-1]
    assert sent["stream"] is True
    assert sent["messages"][1] == {"role": "user", "content": "What do snowy owls hunt?"}
    expected = openai.DefaultAioHttpClient if loop_kind == "serving loop" else openai.DefaultAsyncHttpxClient
    assert isinstance(outcome["client"]._client, expected)


@pytest.mark.parametrize(
    ("mode", "error"),
    [("stream_error", openai.APIError), ("stream_malformed", ValueError)],
)
def test_a_failure_in_the_middle_of_the_stream_is_raised(model, loop_kind, mode, error):
    model.state.mode = mode
    with pytest.raises(error) as raised:
        run_streaming(model, loop_kind)
    if mode == "stream_error":
        assert "overloaded" in str(raised.value)


def test_a_model_that_goes_quiet_times_out(model, loop_kind):
    model.state.token_delay = 2.0
    with pytest.raises(openai.APITimeoutError):
        run_streaming(model, loop_kind, timeout=0.5)


def test_cancelling_the_run_closes_the_connection_to_the_model(model, loop_kind):
    model.state.reply = " ".join(["word"] * 50)
    model.state.token_delay = 0.05
    outcome = run_streaming(model, loop_kind, until=3)
    assert 3 <= len(outcome["pieces"]) < 50
    deadline = time.monotonic() + 5
    while model.state.streams_aborted == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert model.state.streams_aborted == 1
    assert model.state.streams_finished == 0
