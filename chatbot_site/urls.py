"""URL routes: the admin, the chat API and its schema."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chat.completion_views import ChatCompletionView, ModelListView
from chat.exceptions import error_body, openai_error_body
from chat.health import healthz, readyz
from chat.views import book_chapter, book_index

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


def not_found(request: HttpRequest, exception: Exception | None = None):
    """JSON 404s in the API's error shape under /api/ (OpenAI's under /v1/); Django's page elsewhere."""
    message = "There is nothing at this address."
    if request.path.startswith("/v1/"):
        return JsonResponse(openai_error_body(status_code=404, code="not_found", message=message), status=404)
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body(code="not_found", message=message), status=404)


def server_error(request: HttpRequest):
    """JSON 500s without details under /api/ and /v1/; Django's page elsewhere."""
    message = "Something went wrong on our side."
    if request.path.startswith("/v1/"):
        return JsonResponse(openai_error_body(status_code=500, code="internal_error", message=message), status=500)
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    return JsonResponse(error_body(code="internal_error", message=message), status=500)


handler404 = not_found
handler500 = server_error
