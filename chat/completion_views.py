"""The OpenAI-compatible API (/v1/models, /v1/chat/completions): validate, one service call, OpenAI's shapes.

Same API keys (`Authorization: Bearer`), throttles and error statuses as the chat API; errors are in OpenAI's
shape so its SDKs raise their own exception classes.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .completions import CompletionRequest, chunk_encoder, completion_answer_async, completion_body, model_list
from .dispatch import OnLoopAPIView
from .exceptions import openai_exception_handler
from .serializers import ChatCompletionRequestSerializer, ChatCompletionSerializer, ModelListSerializer
from .streaming import stream_reply

OPENAI_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": "string", "nullable": True},
                "code": {"type": "string", "description": "Our stable error code."},
            },
        }
    },
}
ERRORS = {
    status: OpenApiResponse(OPENAI_ERROR, description=text)
    for status, text in {
        400: "Invalid request.",
        401: "An API key is required or not valid (only when the server sets CHAT_API_KEYS).",
        404: "No such model.",
        413: "The request body is too large.",
        429: "Too many requests; see Retry-After.",
        502: "The language model returned an unusable answer.",
        503: "A backing service (database, language model) is unavailable, or the server is busy (server_busy).",
        504: "The language model timed out.",
    }.items()
}
CHUNK_STREAM = {
    "type": "string",
    "description": "`data: {chat.completion.chunk}` lines; the last chunk carries `sources`; then `data: [DONE]`.",
}


class _OpenAIView(OnLoopAPIView):
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return openai_exception_handler


class ModelListView(_OpenAIView):
    """The models this server offers (the book)."""

    @extend_schema(responses={200: ModelListSerializer, 401: ERRORS[401]}, summary="List models", tags=["openai"])
    async def get(self, request: Request) -> Response:
        return Response(model_list())


class ChatCompletionView(_OpenAIView):
    """Answer the conversation's last question from the book, as OpenAI's chat completions do."""

    @extend_schema(
        request=ChatCompletionRequestSerializer,
        responses={
            (200, "application/json"): OpenApiResponse(ChatCompletionSerializer, description="The completion."),
            (200, "text/event-stream"): OpenApiResponse(CHUNK_STREAM, description="With `stream: true`."),
            **ERRORS,
        },
        summary="Create a chat completion",
        tags=["openai"],
    )
    async def post(self, request: Request) -> Response:
        serializer = ChatCompletionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        completion = CompletionRequest.from_validated(serializer.validated_data)
        base = request.build_absolute_uri("/")
        if serializer.validated_data["stream"]:

            async def work(on_event):
                return await completion_answer_async(request=completion, on_event=on_event)

            return stream_reply(work, encode=chunk_encoder(request=completion, base=base))
        reply = await completion_answer_async(request=completion)
        return Response(completion_body(reply=reply, request=completion, base=base))
