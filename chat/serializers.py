"""Request and reply shapes of the chat API (plain serializers; requests and replies kept apart)."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Feedback
from .services import Page
from .sessions import canonical_session_id

# Control characters, and the invisible format characters that make a message look empty or reorder what an admin
# reads (zero-width space, word joiner, byte-order mark, bidirectional overrides and isolates).
_INVISIBLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_INVISIBLE}]")


class _ChatText(serializers.CharField):
    """Text with control characters removed and limits checked before any model runs."""

    def run_validation(self, data=serializers.empty):
        # Strip control characters first, so a message of only control characters counts as empty.
        if isinstance(data, str):
            data = _CONTROL.sub("", data)
        elif data is not serializers.empty and data is not None:
            raise serializers.ValidationError("Must be a string.", code="invalid_type")
        return super().run_validation(data)


# Published in the schema as the pattern a message must match: at least one visible character. (Blank and
# control-only messages are refused before this runs, with code `empty_message`.)
_VISIBLE = RegexValidator(
    r"[^\s\x00-\x1f\x7f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]",
    message="The message is empty. Type a question.",
    code="blank",
)


MAX_PAGE_URL_CHARS = 2000
FEEDBACK_COMMENT_CHARS = Feedback._meta.get_field("comment").max_length


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "url": {"type": "string", "description": "The page's address (location.href); http(s) only."},
            "title": {"type": "string", "description": "The page's title (document.title)."},
        },
        "description": "The page of the book the reader asks from: its document's passages get a bounded boost, "
        "and its section's a little more when the URL has a #fragment. A page that is not of this book, or not "
        "a valid http(s) URL, is ignored (never an error). A follow-up without one keeps the page of the question "
        "before it.",
    }
)
class PageField(serializers.Field):
    """The reader's page, or None: anything that is not a usable page is ignored rather than refused."""

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: object) -> Page | None:
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return None
        url = _CONTROL.sub("", data["url"]).strip()
        title = data.get("title") if isinstance(data.get("title"), str) else ""
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            return None
        if scheme not in {"http", "https"} or len(url) > MAX_PAGE_URL_CHARS:
            return None
        return Page(url=url, title=_CONTROL.sub("", title).strip()[:300])

    def to_representation(self, value: Page | None) -> dict | None:
        return value.to_dict() if value is not None else None


def selection_field(*, help_text: str) -> _ChatText:
    """The optional `selected_text` of a question, within CHAT_MAX_SELECTION_CHARS."""
    return _ChatText(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=settings.CHAT_MAX_SELECTION_CHARS,
        help_text=help_text,
        error_messages={"max_length": "The selected text is too long: at most {max_length} characters."},
    )


class MessageRequestSerializer(serializers.Serializer):
    page = PageField()
    message = _ChatText(
        min_length=1,
        max_length=settings.CHAT_MAX_MESSAGE_CHARS,
        validators=[_VISIBLE],
        help_text=f"The question, at most {settings.CHAT_MAX_MESSAGE_CHARS} characters.",
        error_messages={
            "blank": "The message is empty. Type a question.",
            "max_length": "The message is too long: at most {max_length} characters.",
            "required": "A message is required.",
            "null": "The message is empty. Type a question.",
        },
    )
    selected_text = selection_field(
        help_text="A passage the reader selected in the book; the answer is grounded in it first."
    )


# What canonical_session_id accepts, for the schema: a UUID4 (version 4, RFC 4122 variant), hyphenated.
SESSION_ID_SCHEMA = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
}


@extend_schema_field({**SESSION_ID_SCHEMA, "nullable": True})
class _SessionIdField(serializers.UUIDField):
    """A session id as the server wrote it (a UUID4, any case); other spellings are refused."""

    def to_internal_value(self, data: object) -> str:
        session_id = canonical_session_id(data)
        if session_id is None:
            self.fail("invalid", value=data)
        return session_id


class ConverseRequestSerializer(MessageRequestSerializer):
    session_id = _SessionIdField(
        required=False, allow_null=True, help_text="Continue this session; omit it to start a new one."
    )


class SessionSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()


class SourceSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The number used in the answer's [n] citations.")
    chunk_id = serializers.IntegerField(allow_null=True)
    document_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    reference = serializers.CharField(allow_blank=True, help_text="URL or reference of the source document.")
    section = serializers.CharField(allow_blank=True)
    url = serializers.CharField(
        allow_blank=True,
        help_text="Link to the cited section on the book's site: the reference and the section's anchor, built "
        "with the site generator's rules (empty when the document has no reference).",
    )
    snippet = serializers.CharField()
    score = serializers.FloatField()
    kind = serializers.ChoiceField(choices=["chunk", "selection"])


class ReplySerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    answer = serializers.CharField()
    status = serializers.ChoiceField(choices=["answered", "no_answer", "selection_only"])
    sources = SourceSerializer(many=True)
    generator = serializers.CharField(help_text="Which backend answered: 'extractive' or 'openai:<model>'.")
    timings_ms = serializers.DictField(child=serializers.FloatField(), help_text="Milliseconds per stage.")
    usage = serializers.DictField(help_text="Token usage, where the backend reports it.")
    query = serializers.CharField(help_text="The standalone query used for retrieval.")
    answer_id = serializers.CharField(help_text="Rate this answer with it: POST .../feedback/.")
    page_context = serializers.ChoiceField(
        choices=["matched", "unmatched", "none"],
        help_text="Whether the reader's page shaped retrieval: its document was found (matched), was not "
        "(unmatched), or no page was given (none).",
    )


class FeedbackRequestSerializer(serializers.Serializer):
    answer_id = serializers.RegexField(
        r"^[0-9a-f]{32}$",
        help_text="The `answer_id` of the reply being rated.",
        error_messages={"invalid": "Not an answer id."},
    )
    rating = serializers.ChoiceField(
        choices=["up", "down"],
        help_text="`up`: the answer helped; `down`: it did not. A second vote on the same answer changes it.",
        error_messages={"invalid_choice": "The rating must be `up` or `down`."},
    )
    comment = _ChatText(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=FEEDBACK_COMMENT_CHARS,
        help_text=f"What was wrong or missing, at most {FEEDBACK_COMMENT_CHARS} characters (optional).",
        error_messages={"max_length": "The comment is too long: at most {max_length} characters."},
    )


class FeedbackSerializer(serializers.Serializer):
    answer_id = serializers.CharField()
    rating = serializers.ChoiceField(choices=["up", "down"])
    comment = serializers.CharField(
        allow_blank=True, help_text="The comment as stored (redacted; empty when the server keeps only ratings)."
    )


class TurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant"])
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.FloatField(help_text="Unix time.")
    data = serializers.DictField()


class SessionDetailSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    turns = TurnSerializer(many=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- The OpenAI-compatible chat completions endpoint (/v1/chat/completions) ---


def _message_text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts (images are not read)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict) and part.get("type") == "text"]
        if all(isinstance(text, str) for text in texts):
            return "\n".join(texts)
    raise serializers.ValidationError("Message content must be a string or a list of text parts.")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "text"],
                    "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}},
                },
            },
        ],
        "nullable": True,
    }
)
class _MessageContent(serializers.JSONField):
    """A message's content: a string, or a list of content parts of which the text parts are read."""

    def to_internal_value(self, data: object) -> str:
        return _message_text(data)


class _ModelId(serializers.CharField):
    """A model id: any string. One that is not ours, control characters included, is "no such model" (404)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # CharField refuses NUL with 400 `null_characters_not_allowed`; no stored or echoed use needs that here.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class CompletionMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant", "tool", "function"])
    content = _MessageContent(required=False, allow_null=True, help_text="A string, or a list of text parts.")


class ChatCompletionRequestSerializer(serializers.Serializer):
    """OpenAI's chat completion request. Fields it has and we do not use (temperature, top_p, stop, user...) are
    accepted and ignored; the system prompt stays ours."""

    model = _ModelId(min_length=1, max_length=200, help_text="The id from /v1/models.")
    messages = CompletionMessageSerializer(
        many=True,
        allow_empty=False,
        min_length=1,
        max_length=settings.COMPLETIONS_MAX_MESSAGES,
        help_text="The conversation: the last message is the user's question (with visible text), the earlier "
        "user and assistant messages are the history a follow-up is read with. System messages are ignored.",
    )
    stream = serializers.BooleanField(required=False, default=False)
    stream_options = serializers.DictField(required=False, allow_null=True, help_text="`include_usage` is honoured.")
    max_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000, help_text="Honoured by the LLM answerer."
    )
    max_completion_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000, help_text="As max_tokens."
    )
    n = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1, help_text="Only 1.")
    selected_text = selection_field(
        help_text="Not OpenAI's: a passage the reader selected in the book (`extra_body` in the openai SDK)."
    )
    page = PageField(help_text="Not OpenAI's: the page of the book the reader asks from, {url, title}.")

    def validate(self, data: dict) -> dict:
        messages = [(m["role"], m.get("content") or "") for m in data["messages"]]
        *earlier, (role, content) = messages
        if role != "user":
            raise serializers.ValidationError({"messages": ["The last message must be the user's question."]})
        question = _CONTROL.sub("", content).strip()
        if not question:
            error = serializers.ErrorDetail("The question is empty. Type a question.", code="empty_message")
            raise serializers.ValidationError({"messages": [error]})
        if len(question) > settings.CHAT_MAX_MESSAGE_CHARS:
            message = f"The question is too long: at most {settings.CHAT_MAX_MESSAGE_CHARS} characters."
            error = serializers.ErrorDetail(message, code="message_too_long")
            raise serializers.ValidationError({"messages": [error]})
        data["question"] = question
        data["history"] = [(role, text) for role, text in earlier if role in {"user", "assistant"} and text]
        data["max_tokens"] = data.get("max_completion_tokens") or data.get("max_tokens")
        data["include_usage"] = bool((data.get("stream_options") or {}).get("include_usage"))
        return data


class CompletionMessageReplySerializer(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()


class CompletionChoiceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    message = CompletionMessageReplySerializer()
    finish_reason = serializers.CharField()


class ChatCompletionSerializer(serializers.Serializer):
    """OpenAI's chat.completion object, with our structured `sources` beside it."""

    id = serializers.CharField()
    object = serializers.CharField()
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = CompletionChoiceSerializer(many=True)
    usage = serializers.DictField(required=False)
    sources = SourceSerializer(many=True, help_text="The cited sources, as in the chat API (links absolute).")
    status = serializers.ChoiceField(choices=["answered", "no_answer", "selection_only"])
    generator = serializers.CharField()
    timings_ms = serializers.DictField(child=serializers.FloatField())
    page_context = serializers.ChoiceField(choices=["matched", "unmatched", "none"])


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField()
    created = serializers.IntegerField()
    owned_by = serializers.CharField()


class ModelListSerializer(serializers.Serializer):
    object = serializers.CharField()
    data = ModelSerializer(many=True)
