"""Chat fixtures: fresh session stores and pipelines, real redis-server, a local OpenAI-compatible server."""

import json

import pytest
from rest_framework.test import APIClient

from chat.engine import reset_chat_engine
from chat.sessions import reset_session_store
from tests.servers import RedisServer


@pytest.fixture(autouse=True)
def fresh_chat_state():
    reset_session_store()
    reset_chat_engine()
    yield
    reset_session_store()
    reset_chat_engine()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(directory=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def llm(openai_server, settings, monkeypatch):
    """Answers come from the local OpenAI-compatible server, through the real openai client."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.CHAT_MODEL = "test-model"
    settings.OPENAI_TIMEOUT_SECONDS = 1.0
    settings.OPENAI_MAX_RETRIES = 0
    reset_chat_engine()
    return openai_server.state


def streamed_body(response) -> bytes:
    """The whole body of a streaming response (the chat streams are async iterators, read on a loop)."""
    from asgiref.sync import async_to_sync

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)()


def parse_sse(content: bytes) -> list[tuple[str, dict]]:
    """Parse an SSE body into (event, data) pairs."""
    events = []
    for block in content.decode().split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
        if name:
            events.append((name, data))
    return events
