"""URL routes: the admin, the chat API and its schema."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chat.exceptions import error_body
from chat.health import healthz, readyz
from chat.views import book_chapter, book_index

urlpatterns = [
    path("", book_index, name="book-index"),
    path("docs/guide/<str:name>", book_chapter, name="book-page"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/", include("chat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]


def not_found(request: HttpRequest, exception: Exception | None = None):
    """JSON 404s in the API's error shape under /api/; Django's page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body(code="not_found", message="There is nothing at this address."), status=404)


def server_error(request: HttpRequest):
    """JSON 500s without details under /api/; Django's page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    return JsonResponse(error_body(code="internal_error", message="Something went wrong on our side."), status=500)


handler404 = not_found
handler500 = server_error
