"""Servers shared by the end-to-end tests of the OpenAI-compatible API and the MCP server.

Each starts once (loading the models takes seconds) and reads the test database live; every test ingests
the knowledge it needs, and the fake model server is reset between tests.
"""

import time
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


def _busy_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state IN ('active', 'idle in transaction')"
        )
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def recordings_settled(request):
    """The shared servers outlive each test and record its answers after replying: the test database is flushed
    only once they have been quiet for a moment (a flush racing a recording deadlocks in PostgreSQL)."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("transactional_db")  # torn down after this fixture: the flush waits for the check
    yield
    deadline, quiet_since = time.monotonic() + 10, None
    while time.monotonic() < deadline:
        if _busy_connections():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 0.3:
            return
        time.sleep(0.05)
