"""The book as an MCP server (the official `mcp` SDK): search it, ask it, list its documents.

The same server runs over stdio (`manage.py mcp`, what desktop agents launch) and over streamable HTTP at
`/mcp` on the web server (chatbot_site.asgi), and its tools call the same chat services as the REST API.
"""

import contextlib
import json
import math
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from rest_framework.exceptions import APIException, Throttled
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from .completions import absolute_url
from .exceptions import error_body
from .security import ApiKeyAuthentication, ClientIpThrottle, MissingApiKey
from .services import Source, document_summaries_async, passage_search_async, question_answer_async

MAX_TOP_K = 20


class Passage(BaseModel):
    """A passage of the book with where it is."""

    index: int = Field(description="The number [n] an answer cites it by.")
    title: str
    section: str
    url: str = Field(description="Link to the passage's section on the book's site (empty if it has none).")
    text: str
    score: float = Field(description="Retrieval score (higher is better).")


class SearchResult(BaseModel):
    query: str
    passages: list[Passage]


class AskResult(BaseModel):
    status: str = Field(description="answered, no_answer (the book does not cover it) or selection_only.")
    answer: str = Field(description="The answer with [n] citations, or the not-covered message.")
    sources: list[Passage]
    generator: str


def _base_url(context: Context | None) -> str:
    # Over HTTP, relative links resolve against this server (the demo book); over stdio there is no request.
    request = getattr(context.request_context, "request", None) if context is not None else None
    return str(request.base_url) if request is not None else ""


def _passage(source: Source, *, base: str) -> Passage:
    return Passage(
        index=source.index,
        title=source.title,
        section=source.section,
        url=absolute_url(source.url, base=base),
        text=source.snippet,
        score=source.score,
    )


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Our API errors (database down, language model unavailable) as tool errors the agent reads."""
    try:
        yield
    except APIException as error:
        raise ToolError(f"{error.default_code}: {error.detail}") from error


def build_mcp_server() -> MCPServer:
    """The MCP server: tools search_book and ask_book, and the resource book://documents."""
    book = settings.BOOK_DESCRIPTION
    server = MCPServer(
        "book",
        title="Ask the book",
        instructions=f"Answers questions about {book}, citing its passages. Use search_book to find passages, "
        "ask_book for a cited answer; an answer with status no_answer means the book does not cover it.",
    )

    @server.tool(
        description=f"Search {book} for passages about a query (hybrid semantic and keyword retrieval, no "
        "answer generated). Returns the best passages with title, section, link and score."
    )
    async def search_book(
        query: Annotated[str, Field(min_length=1, max_length=settings.CHAT_MAX_MESSAGE_CHARS)],
        top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, description="How many passages.")] = 5,
        ctx: Context | None = None,
    ) -> SearchResult:
        with _tool_errors():
            sources = await passage_search_async(query=query, top_k=top_k)
        base = _base_url(ctx)
        return SearchResult(query=query, passages=[_passage(source, base=base) for source in sources])

    @server.tool(
        description=f"Ask {book} a question. Returns an answer with [n] citations and its sources, or status "
        "no_answer when the book does not cover it. Pass selected_text to ask about a specific passage."
    )
    async def ask_book(
        question: Annotated[str, Field(min_length=1, max_length=settings.CHAT_MAX_MESSAGE_CHARS)],
        selected_text: Annotated[str | None, Field(max_length=settings.CHAT_MAX_SELECTION_CHARS)] = None,
        ctx: Context | None = None,
    ) -> AskResult:
        if not question.strip():
            raise ToolError("empty_message: The question is empty. Ask a question.")
        with _tool_errors():
            reply = await question_answer_async(message=question, history=[], selected_text=selected_text or None)
        base = _base_url(ctx)
        return AskResult(
            status=reply.status,
            answer=reply.answer,
            sources=[_passage(source, base=base) for source in reply.sources],
            generator=reply.generator,
        )

    @server.resource(
        "book://documents",
        name="documents",
        description=f"The documents of {book}: title, link and indexing status.",
        mime_type="application/json",
    )
    async def documents() -> str:
        with _tool_errors():
            summaries = await document_summaries_async()
        for summary in summaries:
            # The SDK gives static resources no request: links resolve against BOOK_SITE_URL when it is set.
            summary["url"] = absolute_url(summary["url"], base="")
        return json.dumps({"documents": summaries}, ensure_ascii=False)

    return server


def build_mcp_http_app(server: MCPServer) -> Any:
    """The streamable HTTP transport at /mcp (stateless, so any process of several can answer any request),
    behind the API key check and the throttle. Serve it inside ``server.session_manager.run()``."""
    # Host and Origin are checked in the guard, with Django's own rules (the SDK's take no `.example.org` patterns).
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, transport_security=security
    )
    return guarded(app)


class _Caller:
    """What the API key check and DRF's throttles read of a request (headers, address), from an ASGI scope."""

    def __init__(self, scope: dict) -> None:
        self.headers = Headers(scope=scope)
        self.META = {"REMOTE_ADDR": (scope.get("client") or ("", 0))[0]}


def _refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code=code, message=message), status_code=status, headers=headers)


def guarded(app: Any) -> Any:
    """The MCP HTTP app behind the chat API's key check (CHAT_API_KEYS) and its per-address throttle."""

    async def guard(scope, receive, send) -> None:
        if scope["type"] == "http":
            refusal = _check(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await app(scope, receive, send)

    return guard


def _origin_allowed(origin: str, host: str) -> bool:
    # Browsers send Origin on cross-site requests: only our own pages and the CORS allow-list may call (as for /api/).
    return origin in settings.CORS_ALLOWED_ORIGINS or urlsplit(origin).netloc == host


def _check(scope: dict) -> JSONResponse | None:
    headers = Headers(scope=scope)
    host = headers.get("host", "")
    if not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return _refusal(400, "invalid_host", "This host name is not served here (DJANGO_ALLOWED_HOSTS).")
    origin = headers.get("origin")
    if origin and not _origin_allowed(origin, host):
        return _refusal(403, "origin_not_allowed", "This origin may not call the server (CORS_ALLOWED_ORIGINS).")
    caller = _Caller(scope)
    try:
        # The chat API's own authentication: the same keys and the same count of wrong ones per address.
        if ApiKeyAuthentication().authenticate(caller) is None:
            raise MissingApiKey()
    except Throttled as error:
        return _too_many(error.wait)
    except APIException as error:
        code = MissingApiKey.default_code if isinstance(error, MissingApiKey) else "invalid_api_key"
        return _refusal(401, code, str(error.detail), {"WWW-Authenticate": 'Bearer realm="chat"'})
    throttle = ClientIpThrottle()
    if not throttle.allow_request(caller, None):
        return _too_many(throttle.wait())
    return None


def _too_many(wait: float | None) -> JSONResponse:
    seconds = math.ceil(wait or 1)
    message = f"Too many requests. Try again in {seconds} seconds."
    return _refusal(429, "rate_limited", message, {"Retry-After": str(seconds)})
