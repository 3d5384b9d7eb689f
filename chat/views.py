"""The chat API: one async ViewSet; each action validates, makes one service call and serializes."""

from adrf.viewsets import ViewSet as AsyncViewSet
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from . import services
from .book import book_page, book_pages
from .dispatch import OnLoopDispatch
from .exceptions import InvalidSessionId
from .serializers import (
    SESSION_ID_SCHEMA,
    ConverseRequestSerializer,
    ErrorSerializer,
    FeedbackRequestSerializer,
    FeedbackSerializer,
    MessageRequestSerializer,
    ReplySerializer,
    SessionDetailSerializer,
    SessionSerializer,
)
from .sessions import canonical_session_id
from .streaming import EventStreamRenderer, stream_reply

SESSION_ID = OpenApiParameter(
    "id", SESSION_ID_SCHEMA, OpenApiParameter.PATH, description="The session id (a UUID4 from session creation)."
)
STREAM_PARAMETER = OpenApiParameter(
    "stream",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description="Stream Server-Sent Events (`sources`, `token`..., `done` or `error`). "
    "Sending `Accept: text/event-stream` does the same.",
)
ERROR_DESCRIPTIONS = {
    400: "Invalid request (stable `error.code`).",
    401: "An API key is required or not valid (only when the server sets CHAT_API_KEYS).",
    404: "Unknown or expired session: start a new one.",
    413: "The request body is too large.",
    429: "Too many requests; see Retry-After.",
    502: "The language model returned an unusable answer.",
    503: "A backing service (database, session store, language model) is unavailable, or the server is busy "
    "(server_busy; see Retry-After).",
    504: "The language model timed out.",
}
# An SSE event as clients parse it: its `data` is JSON (sources, a token, the reply, or the error object).
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["sources", "token", "done", "error"]},
        "data": {"type": "string", "description": "JSON: {sources}, {text}, the reply, or {error: {code, message}}."},
    },
}
ERRORS = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in ERROR_DESCRIPTIONS.items()}
REPLY_RESPONSES = {
    (200, "application/json"): OpenApiResponse(ReplySerializer, description="The reply."),
    (200, "text/event-stream"): OpenApiResponse(SSE_EVENT, description="Streamed: sources, token..., done."),
    **{(code, "application/json"): response for code, response in ERRORS.items()},
    **{
        (code, "text/event-stream"): OpenApiResponse(SSE_EVENT, description=f"{text} One `error` event.")
        for code, text in ERROR_DESCRIPTIONS.items()
    },
}


def _session_id(raw: str) -> str:
    session_id = canonical_session_id(raw)
    if session_id is None:
        raise InvalidSessionId()
    return session_id


def _wants_stream(request: Request) -> bool:
    raw = request.query_params.get("stream")
    if raw is not None:
        value = raw.strip().lower()
        if value not in {"1", "true", "yes", "0", "false", "no"}:
            raise ValidationError({"stream": ["Use stream=true or stream=false."]})
        if value in {"1", "true", "yes"}:
            return True
    return "text/event-stream" in request.headers.get("Accept", "")


class ChatViewSet(OnLoopDispatch, AsyncViewSet):
    """Chat sessions and messages, served on the event loop: a reader waiting for the model holds no thread."""

    lookup_value_regex = "[^/]+"
    renderer_classes = [JSONRenderer]

    def get_renderers(self):
        # Only the message actions can answer as an event stream.
        if self.action in {"messages", "converse"}:
            return [JSONRenderer(), EventStreamRenderer()]
        return super().get_renderers()

    @extend_schema(request=None, responses={201: SessionSerializer, **ERRORS}, summary="Start a session")
    async def create(self, request: Request) -> Response:
        session_id = await services.session_create_async()
        return Response({"session_id": session_id}, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: SessionDetailSerializer, **ERRORS}, parameters=[SESSION_ID], summary="Get a session's turns"
    )
    async def retrieve(self, request: Request, pk: str) -> Response:
        session_id = _session_id(pk)
        turns = await services.session_turns_async(session_id=session_id)
        data = {"session_id": session_id, "turns": [turn.to_dict() for turn in turns]}
        return Response(SessionDetailSerializer(data).data)

    @extend_schema(request=None, responses={204: None, **ERRORS}, parameters=[SESSION_ID], summary="Forget a session")
    async def destroy(self, request: Request, pk: str) -> Response:
        await services.session_delete_async(session_id=_session_id(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=MessageRequestSerializer,
        responses=REPLY_RESPONSES,
        parameters=[SESSION_ID, STREAM_PARAMETER],
        summary="Ask a question in a session",
    )
    @action(detail=True, methods=["post"])
    async def messages(self, request: Request, pk: str) -> Response:
        session_id = _session_id(pk)
        serializer = MessageRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return await self._reply(request, session_id=session_id, data=serializer.validated_data)

    @extend_schema(
        request=FeedbackRequestSerializer,
        responses={200: FeedbackSerializer, **ERRORS},
        parameters=[SESSION_ID],
        summary="Rate an answer (thumbs up or down, optional comment)",
        description="404 `answer_not_found` when the session holds no answer with that id. The rating is kept "
        "for the book's admins without the session id or the reader's address.",
    )
    @action(detail=True, methods=["post"])
    async def feedback(self, request: Request, pk: str) -> Response:
        session_id = _session_id(pk)
        serializer = FeedbackRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        feedback = await services.feedback_submit_async(
            session_id=session_id, answer_id=data["answer_id"], rating=data["rating"], comment=data.get("comment") or ""
        )
        return Response({"answer_id": feedback.answer_id, "rating": feedback.rating, "comment": feedback.comment})

    @extend_schema(
        request=ConverseRequestSerializer,
        responses=REPLY_RESPONSES,
        parameters=[STREAM_PARAMETER],
        summary="Ask a question, starting a session when none is given",
    )
    async def converse(self, request: Request) -> Response:
        serializer = ConverseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data.get("session_id")
        if given:
            session_id = str(given)
            await services.session_turns_async(session_id=session_id)  # 404 for unknown or expired sessions
        else:
            session_id = await services.session_create_async()
        return await self._reply(request, session_id=session_id, data=serializer.validated_data)

    async def _reply(self, request: Request, *, session_id: str, data: dict) -> Response:
        kwargs = {
            "session_id": session_id,
            "message": data["message"],
            "selected_text": data.get("selected_text"),
            "page": data.get("page"),
        }
        if _wants_stream(request):
            # Fail fast with a status code (and an `error` event) before the stream starts.
            await services.session_turns_async(session_id=session_id)

            async def work(on_event) -> dict:
                return (await services.chat_reply_async(**kwargs, on_event=on_event)).to_dict()

            return stream_reply(work)
        reply = await services.chat_reply_async(**kwargs)
        # ReplySerializer documents this shape; the dict is already JSON-ready.
        return Response(reply.to_dict())


def book_index(request: HttpRequest) -> HttpResponse:
    """The demo book opens at its first chapter."""
    pages = book_pages()
    if not pages:
        raise Http404("The book has no chapters.")
    return redirect("book-page", name=pages[0].name)


# The book page shares its origin with the admin: only our own scripts, styles and API may run or be reached.
BOOK_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def book_chapter(request: HttpRequest, name: str) -> HttpResponse:
    """One chapter of the demo book, with the chat widget embedded."""
    page = book_page(name)
    if page is None:
        raise Http404("No such chapter.")
    response = render(
        request, "chat/book.html", {"page": page, "pages": book_pages(), "prefix": settings.BOOK_REFERENCE_PREFIX}
    )
    response["Content-Security-Policy"] = BOOK_CSP
    return response
