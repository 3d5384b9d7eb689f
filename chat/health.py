"""Liveness and readiness endpoints for load balancers and orchestrators."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse

from .engine import get_chat_engine
from .sessions import get_session_store

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if cursor.fetchone() is None:
            raise RuntimeError("the pgvector extension is missing")


def _check_model() -> None:
    # Under ASGI the engine loaded its models before the server took a connection; elsewhere, on this probe.
    if get_chat_engine().embed_query("ready?").size == 0:
        raise RuntimeError("the embedder returned nothing")


def _check_sessions() -> None:
    # A ping, not a probe session: readiness calls must never take a reader's place in a full store.
    if not get_session_store().ping():
        raise RuntimeError("the session store does not answer")


CHECKS = {"database": _check_database, "model": _check_model, "session_store": _check_sessions}


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database (with pgvector), the embedding model and the session store all work."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means not ready; the log has the detail
            logger.warning("readiness check %s failed: %s", name, type(error).__name__)
            results[name] = "unavailable"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)
