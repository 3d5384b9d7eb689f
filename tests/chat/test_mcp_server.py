"""The MCP server in process (the official client's in-process connection): what its settings change.

stdio and streamable HTTP, with the real transports, are in tests/e2e/test_mcp.py.
"""

import pytest
from asgiref.sync import async_to_sync
from mcp import Client

from chat.mcp_server import _check, build_mcp_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_tools_say_what_the_book_is_and_links_use_the_book_site(knowledge, settings):
    settings.BOOK_DESCRIPTION = "the Field Guide to Northern Forests"
    settings.BOOK_SITE_URL = "https://guide.example.org/"
    bridges = knowledge["Bridges"]
    bridges.reference = "/bridges/"
    bridges.save(update_fields=["reference"])

    async def visit() -> tuple:
        async with Client(build_mcp_server()) as client:
            tools = (await client.list_tools()).tools
            found = await client.call_tool("search_book", {"query": "Who was the Golden Gate's chief engineer?"})
            return tools, found

    # async_to_sync, as Django's test client does: database work runs in this thread, on the test's connection.
    tools, found = async_to_sync(visit)()
    assert all("the Field Guide to Northern Forests" in tool.description for tool in tools)
    top = found.structured_content["passages"][0]
    assert top["url"] == "https://guide.example.org/bridges/#golden-gate"


def test_host_and_origin_follow_djangos_allow_lists(settings):
    settings.ALLOWED_HOSTS = ["book.example.org", ".example.net"]
    settings.CORS_ALLOWED_ORIGINS = ["https://reader.example.org"]

    def status(host: str, origin: str | None = None) -> int | None:
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        refusal = _check({"type": "http", "headers": headers, "client": ("127.0.0.1", 5000)})
        return refusal.status_code if refusal is not None else None

    assert status("book.example.org") is None
    assert status("docs.example.net:8443") is None
    assert status("evil.example.com") == 400  # DNS rebinding: a name we do not serve
    assert status("book.example.org", "https://reader.example.org") is None
    assert status("book.example.org", "https://book.example.org") is None
    assert status("book.example.org", "https://evil.example.com") == 403


def test_wrong_keys_to_mcp_are_throttled_per_address(settings):
    settings.CHAT_API_KEYS = ["right-key"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "chat_failed_key": "2/min"},
    }

    def status(key: str) -> int | None:
        headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode())]
        refusal = _check({"type": "http", "headers": headers, "client": ("127.0.0.1", 5000)})
        return refusal.status_code if refusal is not None else None

    assert [status("wrong") for _ in range(3)] == [401, 401, 429]
    assert status("right-key") == 429
