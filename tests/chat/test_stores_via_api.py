"""The API on the Redis session store, and what happens when Redis goes away and comes back."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from chat.sessions import RedisSessionStore, get_session_store, reset_session_store
from tests.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_sessions(settings, tmp_path):
    server = RedisServer(directory=tmp_path)
    server.start()
    settings.SESSION_BACKEND = "redis"
    settings.REDIS_URL = server.url
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    reset_session_store()
    yield server
    server.stop()
    reset_session_store()


def test_conversation_on_redis(api, knowledge, redis_sessions):
    assert isinstance(get_session_store(), RedisSessionStore)
    first = api.post(reverse("chat-converse"), {"message": "When did Tower Bridge open?"}, format="json").json()
    session_id = first["session_id"]
    follow = api.post(
        reverse("chat-converse"), {"message": "What is raised for ships?", "session_id": session_id}, format="json"
    )
    assert follow.status_code == 200
    turns = api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]


def test_redis_down_is_503_and_recovers(api, knowledge, redis_sessions):
    session_id = api.post(reverse("chat-session-list")).json()["session_id"]
    redis_sessions.stop()
    response = api.post(reverse("chat-session-list"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "session_store_unavailable"
    message = api.post(reverse("chat-session-messages", args=[session_id]), {"message": "hi"}, format="json")
    assert message.status_code == 503
    assert message.json()["error"]["code"] == "session_store_unavailable"
    redis_sessions.start()  # a new, empty Redis on the same port: the API works again by itself
    assert api.post(reverse("chat-session-list")).status_code == 201


def test_concurrent_requests_share_one_pipeline_safely(api, knowledge):
    """The cached per-process pipelines answer correctly under concurrent requests."""
    from rest_framework.test import APIClient

    questions = {
        "When did Tower Bridge open?": "1894",
        "Where did cheddar cheese originate?": "Somerset",
        "When was the Hubble Space Telescope launched?": "1990",
        "Who was the chief engineer of the Golden Gate Bridge?": "Joseph Strauss",
    }
    results: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def worker(question: str) -> None:
        try:
            reply = APIClient().post(reverse("chat-converse"), {"message": question}, format="json").json()
            with lock:
                results.append((question, reply))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(q,)) for q in list(questions) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16
    for question, reply in results:
        assert questions[question] in reply["answer"], (question, reply)
