"""Request logging with a request id, an early refusal of oversize API bodies, and static files; all of them
work both sync and async, so an async view runs on the event loop with no thread in between. Django's own
middleware is wrapped so that, for API requests, it does not hop to a thread either (chatbot_site.on_loop)."""

import io
import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware import common
from django.urls import is_valid_path
from whitenoise.middleware import WhiteNoiseMiddleware

from chat.exceptions import error_body, openai_error_body

from .on_loop import InlineHooks

logger = logging.getLogger("chatbot_site.requests")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _DualMiddleware:
    """A middleware usable in a sync and an async chain: ``before`` may answer early, ``after`` adds to the reply."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        early = self.before(request)
        return early if early is not None else self.after(request, self.get_response(request))

    async def _acall(self, request):
        early = self.before(request)
        return early if early is not None else self.after(request, await self.get_response(request))

    def before(self, request):
        return None

    def after(self, request, response):
        return response


class RequestLogMiddleware(_DualMiddleware):
    """Logs method, path, status and milliseconds for every request, tagged with a request id.

    The id comes from a well-formed `X-Request-ID` header or is generated, and is echoed in the response with
    the milliseconds in `Server-Timing`.
    Headers (and so API keys) and bodies are never logged.
    """

    def before(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.started_at = time.perf_counter()

    def after(self, request, response):
        elapsed = (time.perf_counter() - request.started_at) * 1000
        response["X-Request-ID"] = request.request_id
        # Browsers' developer tools show it next to the network time, so a slow answer is easy to place.
        response["Server-Timing"] = f"app;dur={elapsed:.1f}"
        logger.info(
            "request id=%s method=%s path=%s status=%s ms=%.1f%s",
            request.request_id,
            request.method,
            request.path,
            response.status_code,
            elapsed,
            " streaming" if getattr(response, "streaming", False) else "",
        )
        return response


def is_api_path(path: str) -> bool:
    """Whether the path belongs to an API (errors as JSON), not to the admin or the book's pages."""
    return path.startswith(("/api/", "/v1/"))


def body_limit(path: str) -> int:
    """The largest body a path takes: COMPLETIONS_MAX_BODY_BYTES for the OpenAI-compatible API (its clients send the
    whole conversation), API_MAX_BODY_BYTES for the chat API, SERVER_MAX_BODY_BYTES elsewhere (the admin's
    uploads: Django spools an upload to disk whatever its size, and its CSRF check reads the body before any
    login is checked)."""
    if path.startswith("/v1/"):
        return settings.COMPLETIONS_MAX_BODY_BYTES
    if path.startswith("/api/"):
        return settings.API_MAX_BODY_BYTES
    return settings.SERVER_MAX_BODY_BYTES


def api_error_response(path: str, *, status: int, code: str, message: str) -> JsonResponse:
    """An error in the shape of the API the path belongs to: OpenAI's under /v1/, ours elsewhere."""
    if path.startswith("/v1/"):
        return JsonResponse(openai_error_body(status_code=status, code=code, message=message), status=status)
    return JsonResponse(error_body(code=code, message=message), status=status)


def with_cors(response: HttpResponse, scope: dict) -> HttpResponse:
    """``response``, made before Django saw the request (an early refusal), with the CORS headers Django's chain
    would have added: a widget on the book's own site must be able to read the error, not a network failure."""
    request = ASGIRequest(scope, io.BytesIO())
    return CorsMiddleware(lambda _request: response)(request)


def too_large_response(path: str) -> HttpResponse:
    """413 in the error shape of the API the path belongs to; plain text elsewhere."""
    limit = body_limit(path)
    if not is_api_path(path):
        message = (
            f"The request body is over {limit / 1_048_576:.1f} MB, the most this server accepts "
            "(SERVER_MAX_BODY_BYTES). Upload a smaller file.\n"
        )
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    message = f"The request body is over {limit:,} bytes. Send a shorter message or selection."
    return api_error_response(path, status=413, code="request_too_large", message=message)


class BodyLimitMiddleware(_DualMiddleware):
    """Refuse request bodies over their limit (see body_limit) before anything reads them. Served over ASGI,
    chatbot_site.asgi refuses them even earlier, bodies without a Content-Length included."""

    def before(self, request):
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return too_large_response(request.path) if length > body_limit(request.path) else None


class ApiTrailingSlashMiddleware(_DualMiddleware):
    """An API address sent without its trailing slash is served as if it had one: the redirect Django would send
    instead (APPEND_SLASH) makes clients drop a POST's body."""

    def before(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        return None


# The admin shares the book's origin: only its own scripts and styles may run, nothing inline, no framing.
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class AdminContentSecurityPolicyMiddleware(_DualMiddleware):
    """A Content-Security-Policy on every admin page (Django 5.2 has none of its own)."""

    def after(self, request, response):
        if request.path.startswith("/admin/") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = ADMIN_CSP
        return response


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


class NulCharacterMiddleware(_DualMiddleware):
    """Refuse a NUL character in the query string (and in admin form fields) with a 400: PostgreSQL cannot store
    or compare one, so it would otherwise surface as a server error (`?status__exact=%00` in the admin)."""

    def before(self, request):
        api = is_api_path(request.path)
        in_form = not api and request.method == "POST" and _has_nul(request.POST)
        if not (_has_nul(request.GET) or in_form):
            return None
        message = "The request holds a NUL character (%00), which no field can contain."
        if api:
            return api_error_response(request.path, status=400, code="invalid_characters", message=message)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, usable in an async chain (WhiteNoise itself is sync-only, which would put every request,
    streams included, in a thread of its own)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


# Django's middleware, with its hooks called inline for API requests whose steps run on the loop
# (chatbot_site.on_loop); everywhere else exactly Django's. SecurityMiddleware, CsrfViewMiddleware and
# XFrameOptionsMiddleware stay as they are: `check --deploy` looks for them by name, and only then checks the
# settings they act on (HSTS, SSL redirect, ...).
class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    pass


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    pass
