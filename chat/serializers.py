"""Request and reply shapes of the chat API (plain serializers; requests and replies kept apart)."""

import re

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
_VISIBLE = RegexValidator(r"[^\s\x00-\x1f\x7f]", message="The message is empty. Type a question.", code="blank")


class MessageRequestSerializer(serializers.Serializer):
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
    selected_text = _ChatText(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=settings.CHAT_MAX_SELECTION_CHARS,
        help_text="A passage the reader selected in the book; the answer is grounded in it first.",
        error_messages={"max_length": "The selected text is too long: at most {max_length} characters."},
    )


class ConverseRequestSerializer(MessageRequestSerializer):
    session_id = serializers.UUIDField(
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
