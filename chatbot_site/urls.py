"""URL routes: the admin, the chat API and its schema."""

from django.contrib import admin
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chat.completion_views import ChatCompletionView, ModelListView
from chat.health import healthz, readyz
from chat.views import book_chapter, book_index
from chatbot_site.middleware import api_error_response, is_api_path

urlpatterns = [
    path("", book_index, name="book-index"),
    path("docs/guide/<str:name>", book_chapter, name="book-page"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/", include("chat.urls")),
    # The book as an OpenAI-compatible model; OpenAI's SDKs call these paths without a trailing slash.
    path("v1/models", ModelListView.as_view(), name="openai-models"),
    path("v1/chat/completions", ChatCompletionView.as_view(), name="openai-chat-completions"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]


def _error(request: HttpRequest, *, status: int, code: str, message: str):
    """The error in the API's shape under /api/ (OpenAI's under /v1/); None elsewhere (Django's page)."""
    if is_api_path(request.path):
        return api_error_response(request.path, status=status, code=code, message=message)
    return None


def bad_request(request: HttpRequest, exception: Exception | None = None):
    """JSON 400s under /api/ and /v1/ for requests Django refuses before any view (a Host not allowed...)."""
    if isinstance(exception, DisallowedHost):
        code, message = "invalid_host", "This server does not answer for that Host header."
    else:
        code, message = "bad_request", "The request could not be read."
    response = _error(request, status=400, code=code, message=message)
    return response or defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None):
    """JSON 404s under /api/ and /v1/; Django's page elsewhere."""
    response = _error(request, status=404, code="not_found", message="There is nothing at this address.")
    return response or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    """JSON 500s without details under /api/ and /v1/; Django's page elsewhere."""
    response = _error(request, status=500, code="internal_error", message="Something went wrong on our side.")
    return response or defaults.server_error(request)


handler400 = bad_request
handler404 = not_found
handler500 = server_error
