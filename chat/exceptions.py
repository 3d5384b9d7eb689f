"""API errors with a status and a stable code, and the one handler that renders them all the same way."""

import logging

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ChatError(exceptions.APIException):
    """Base for our domain errors."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be handled."


class SessionNotFound(ChatError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "session_not_found"
    default_detail = "This chat session does not exist or has expired. Start a new session."


class AnswerNotFound(ChatError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "answer_not_found"
    default_detail = "This session has no answer with that id (it may have been trimmed). Rate a recent answer."


class InvalidSessionId(ChatError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_session_id"
    default_detail = "The session id is not a valid UUID. Start a new session."


class LLMUnavailable(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "llm_unavailable"
    default_detail = "The language model service is unavailable. Try again in a moment."


class LLMRateLimited(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "llm_rate_limited"
    default_detail = "The language model service is rate limiting us. Try again in a moment."


class LLMTimeout(ChatError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "llm_timeout"
    default_detail = "The language model took too long to answer. Try again."


class LLMBadResponse(ChatError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "llm_bad_response"
    default_detail = "The language model returned an unusable answer. Try again."


class ModelNotFound(ChatError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "model_not_found"
    default_detail = "There is no such model here: list the models at /v1/models and ask for that id."


class SessionStoreUnavailable(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "session_store_unavailable"
    default_detail = "The session store is unavailable. Try again in a moment."


class SessionStoreFullError(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "session_store_full"
    default_detail = "Too many conversations are in progress to start another. Try again in a minute."


class DatabaseUnavailable(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The knowledge base database is unavailable. Try again in a moment."


class DatabaseTimeout(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_timeout"
    default_detail = "The knowledge base database is too busy to answer in time. Try again in a moment."


def database_failure(error: BaseException) -> ChatError:
    """The API error for a database failure: a statement cancelled for its time (DATABASE_SEARCH_TIMEOUT_SECONDS)
    is a busy database, anything else an unavailable one."""
    cause = error.__cause__ if error.__cause__ is not None else error
    return DatabaseTimeout() if isinstance(cause, psycopg.errors.QueryCanceled) else DatabaseUnavailable()


class EmbeddingUnavailable(ChatError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "embedding_unavailable"
    default_detail = "The embedding model is unavailable. Try again in a moment."


_DRF_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.NotFound: "not_found",
    exceptions.Throttled: "rate_limited",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "invalid_api_key",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.ValidationError: "invalid_request",
}


def error_body(*, code: str, message: str, details: object | None = None) -> dict:
    """The one error shape: {"error": {"code", "message"[, "details"]}}."""
    body: dict = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def _validation_message(detail: object) -> str:
    if isinstance(detail, dict):
        for field, problems in detail.items():
            first = problems[0] if isinstance(problems, list) and problems else problems
            if isinstance(first, dict):
                return _validation_message(first)
            return f"{field}: {first}" if field != "non_field_errors" else str(first)
    if isinstance(detail, list) and detail:
        return str(detail[0])
    return str(detail)


# (field, DRF code) -> our stable code, so the frontend can tell the user what to fix.
_FIELD_CODES = {
    ("message", "blank"): "empty_message",
    ("message", "null"): "empty_message",
    ("message", "required"): "empty_message",
    ("message", "max_length"): "message_too_long",
    ("selected_text", "max_length"): "selection_too_long",
    ("session_id", "invalid"): "invalid_session_id",
    ("rating", "invalid_choice"): "invalid_rating",
    ("rating", "required"): "invalid_rating",
    ("rating", "null"): "invalid_rating",
    ("comment", "max_length"): "comment_too_long",
    ("answer_id", "invalid"): "invalid_answer_id",
    ("answer_id", "required"): "invalid_answer_id",
    ("answer_id", "null"): "invalid_answer_id",
    ("messages", "empty_message"): "empty_message",
    ("messages", "message_too_long"): "message_too_long",
}


def _specific_validation_code(codes: object) -> str | None:
    if not isinstance(codes, dict):
        return None
    for field, field_codes in codes.items():
        for code in field_codes if isinstance(field_codes, list) else [field_codes]:
            # Nested fields (a list of messages) give dicts of codes: those have no specific code.
            if isinstance(code, str) and (field, code) in _FIELD_CODES:
                return _FIELD_CODES[(field, code)]
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map every API exception, including database outages, to the common error shape."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", type(exc).__name__)
        exc = DatabaseUnavailable()
    elif isinstance(exc, DatabaseError):
        logger.exception("database error")
        exc = DatabaseUnavailable()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(
            error_body(code="internal_error", message="Something went wrong on our side. Try again."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ChatError):
        code, message, details = exc.default_code, str(exc.detail), None
    elif isinstance(exc, exceptions.ValidationError):
        code, message, details = "invalid_request", _validation_message(exc.detail), exc.detail
        code = _specific_validation_code(exc.get_codes()) or code
    else:
        code = _DRF_CODES.get(type(exc)) or getattr(exc, "default_code", None) or "bad_request"
        message, details = str(exc.detail), None
        if isinstance(exc, exceptions.ParseError):
            message = "The request body is not valid JSON."
    response.data = error_body(code=code, message=message, details=details)
    if isinstance(exc, SessionStoreFullError):
        response["Retry-After"] = str(settings.CHAT_SESSION_PROTECT_SECONDS)
    return response


# OpenAI's error types by status, so OpenAI-compatible clients read our errors as they read OpenAI's.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error_body(*, status_code: int, code: str, message: str, param: str | None = None) -> dict:
    """OpenAI's error shape, which is ours plus `type` and `param`: {"error": {"message", "type", "param", "code"}}."""
    error_type = _OPENAI_TYPES.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def openai_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The API's error mapping (same statuses and codes), in OpenAI's error shape."""
    response = api_exception_handler(exc, context)
    if response is not None:
        error = response.data["error"]
        details = error.get("details")
        param = next(iter(details), None) if isinstance(details, dict) else None
        response.data = openai_error_body(
            status_code=response.status_code, code=error["code"], message=error["message"], param=param
        )
    return response
