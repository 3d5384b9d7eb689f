"""Test settings: the real settings, with background tasks run immediately."""

import django

from chatbot_site.settings import *  # noqa: F403

TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"
        if django.VERSION >= (6, 0)
        else "django_tasks.backends.immediate.ImmediateBackend"
    }
}

# Blocking chat work runs in the request's thread, so it sees the test's transaction (the served app uses a pool).
CHAT_WORKER_THREADS = 0
CHAT_SESSION_SNAPSHOT = False
