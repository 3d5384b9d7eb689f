"""Routes of the chat API."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ChatViewSet

router = SimpleRouter()
router.register(r"chat/sessions", ChatViewSet, basename="chat-session")

urlpatterns = [
    path("chat/", ChatViewSet.as_view({"post": "converse"}), name="chat-converse"),
    *router.urls,
]
