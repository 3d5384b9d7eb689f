"""The book as an MCP server, through the official MCP client: stdio (`manage.py mcp`) and streamable HTTP."""

import asyncio
import json
import sys

import httpx2
import pytest
from django.db import connection
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from chat.engine import NO_ANSWER_MESSAGE
from tests.e2e.conftest import API_KEY
from tests.servers import PROJECT_ROOT, free_port, project_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GOLDEN_GATE = "Who was the chief engineer of the Golden Gate Bridge?"
SELECTION = "Its chief engineer was Joseph Strauss, and its colour is called International Orange."


def stdio(env: dict[str, str] | None = None) -> Client:
    """`manage.py mcp` as a desktop agent launches it, on the test database."""
    environment = project_env(database=connection.settings_dict["NAME"], env=env)
    params = StdioServerParameters(
        command=sys.executable, args=["manage.py", "mcp"], cwd=str(PROJECT_ROOT), env=environment
    )
    return Client(params, read_timeout_seconds=60)


def http(app, *, key: str | None = API_KEY) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client(streamable_http_client(f"{app.url}/mcp", http_client=httpx2.AsyncClient(headers=headers)))


async def tour(client: Client) -> dict:
    """List the tools and resources, search, ask, and read the documents, as an agent would."""
    async with client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        search = await client.call_tool("search_book", {"query": "Golden Gate Bridge engineer", "top_k": 2})
        answer = await client.call_tool("ask_book", {"question": GOLDEN_GATE})
        absent = await client.call_tool("ask_book", {"question": "What is the boiling point of mercury in kelvin?"})
        selected = await client.call_tool(
            "ask_book",
            {"question": "Who was the chief engineer?", "selected_text": SELECTION},
        )
        bad = await client.call_tool("search_book", {"query": "bridges", "top_k": 500})
        missing = await client.call_tool("ask_book", {})
        resources = (await client.list_resources()).resources
        documents = await client.read_resource("book://documents")
    return {
        "tools": tools,
        "search": search,
        "answer": answer,
        "absent": absent,
        "selected": selected,
        "bad": bad,
        "missing": missing,
        "resources": resources,
        "documents": json.loads(documents.contents[0].text)["documents"],
    }


def check_tour(seen: dict, *, link_base: str) -> None:
    """What the tour saw; passage links are relative over stdio and absolute on this server over HTTP."""
    assert set(seen["tools"]) == {"search_book", "ask_book"}
    assert "the book in this server's knowledge base" in seen["tools"]["ask_book"].description

    search = seen["search"].structured_content
    assert len(search["passages"]) == 2
    first = search["passages"][0]
    assert (first["title"], first["section"]) == ("Bridges", "Bridges > Golden Gate")
    assert "Joseph Strauss" in first["text"] and first["score"] > 0
    assert first["url"] == f"{link_base}/book/bridges/#golden-gate"

    answer = seen["answer"].structured_content
    assert answer["status"] == "answered" and "[1]" in answer["answer"]
    assert answer["sources"][0]["section"] == "Bridges > Golden Gate"

    absent = seen["absent"].structured_content
    assert absent == {**absent, "status": "no_answer", "answer": NO_ANSWER_MESSAGE, "sources": []}

    selected = seen["selected"].structured_content
    assert selected["status"] == "answered" and selected["sources"][0]["section"] == "Bridges > Golden Gate"

    assert seen["bad"].is_error and "top_k" in seen["bad"].content[0].text
    assert seen["missing"].is_error and "question" in seen["missing"].content[0].text

    assert [resource.uri for resource in seen["resources"]] == ["book://documents"]
    listed = {document["title"]: document for document in seen["documents"]}
    assert set(listed) == {"Bridges", "Cheese", "Telescopes"}
    assert listed["Bridges"]["status"] == "ready" and listed["Bridges"]["chunks"] >= 2
    assert listed["Bridges"]["url"] == "/book/bridges/"  # BOOK_SITE_URL is not set
    assert listed["Cheese"]["url"] == ""  # no reference, no link


def test_stdio_server_as_a_desktop_agent_launches_it(linked_knowledge):
    seen = asyncio.run(tour(stdio()))
    check_tour(seen, link_base="")
    assert seen["answer"].structured_content["generator"] == "extractive"


def test_stdio_tools_report_a_database_that_is_down(knowledge):
    # Nothing listens on this port: every query fails to connect.
    down = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/chatbot", "DATABASE_CONNECT_TIMEOUT": "2"}

    async def call() -> tuple:
        async with stdio(down) as client:
            search = await client.call_tool("search_book", {"query": "Golden Gate Bridge"})
            ask = await client.call_tool("ask_book", {"question": "Who built the Golden Gate Bridge?"})
            return search, ask

    search, ask = asyncio.run(call())
    for result in (search, ask):
        assert result.is_error
        assert "database_unavailable" in result.content[0].text
        assert "Traceback" not in result.content[0].text


def test_streamable_http_on_the_web_server_with_the_api_key(linked_knowledge, llm_app, model):
    model.reply = "Joseph Strauss was the chief engineer [1]."
    seen = asyncio.run(tour(http(llm_app)))
    check_tour(seen, link_base=llm_app.url)
    answer = seen["answer"].structured_content
    assert answer["generator"] == "openai:test-model"
    assert answer["answer"] == "Joseph Strauss was the chief engineer [1]."


def test_streamable_http_refuses_a_missing_or_wrong_key(llm_app):
    for key in (None, "not-the-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        response = httpx2.post(f"{llm_app.url}/mcp", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == ("invalid_api_key" if key else "missing_api_key")

        async def connect(key=key) -> None:
            async with http(llm_app, key=key) as client:
                await client.list_tools()

        with pytest.raises(Exception):  # noqa: B017 - the SDK's error for a refused connection varies by step
            asyncio.run(connect())
