"""Servers shared by the end-to-end tests of the OpenAI-compatible API and the MCP server.

Each starts once (loading the models takes seconds) and reads the test database live; every test ingests
the knowledge it needs, and the fake model server is reset between tests.
"""

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.servers import AppServer, FakeOpenAI, OpenAIServer, llm_env

API_KEY = "test-key-for-the-book"


@pytest.fixture(scope="session")
def shared_model_server() -> Iterator[OpenAIServer]:
    with OpenAIServer().running() as server:
        yield server


@pytest.fixture
def model(shared_model_server) -> FakeOpenAI:
    """The fake model behind llm_app, answering normally with nothing recorded."""
    shared_model_server.state.reset()
    yield shared_model_server.state
    shared_model_server.state.reset()


@pytest.fixture(scope="session")
def llm_app(django_db_setup, shared_model_server, tmp_path_factory) -> Iterator[AppServer]:
    """Answers from the (fake) language model; the API needs a key."""
    env = {**llm_env(shared_model_server), "CHAT_API_KEYS": API_KEY, "OPENAI_TIMEOUT_SECONDS": "1"}
    log = tmp_path_factory.mktemp("llm-app") / "server.log"
    with AppServer(database=connection.settings_dict["NAME"], env=env, log=log).running() as app:
        yield app


@pytest.fixture(scope="session")
def offline_app(django_db_setup, tmp_path_factory) -> Iterator[AppServer]:
    """Answers from the offline extractive answerer; no key; 60 requests a minute per client address."""
    log = tmp_path_factory.mktemp("offline-app") / "server.log"
    env = {"CHAT_THROTTLE_IP": "60/min"}
    with AppServer(database=connection.settings_dict["NAME"], env=env, log=log).running() as app:
        yield app


@pytest.fixture
def linked_knowledge(knowledge):
    """The chat corpus, with the Bridges chapter at a relative link on the book's site."""
    bridges = knowledge["Bridges"]
    bridges.reference = "/book/bridges/"
    bridges.save(update_fields=["reference"])
    return knowledge
