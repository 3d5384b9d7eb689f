"""Faults: the database going away and coming back, and an ingestion worker killed mid-document."""

import dataclasses
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse

from chatbot_site.embedded_postgres.server import ensure_server, is_running, stop_server

embedded_only = pytest.mark.skipif(bool(django_settings.DATABASE_URL), reason="needs the embedded PostgreSQL")


@embedded_only
@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_and_recovers(api, knowledge, settings):
    data_dir = Path(settings.EMBEDDED_POSTGRES_DIR)
    settings.EMBEDDED_POSTGRES_AUTOSTART = False
    session_id = api.post(reverse("chat-session-list")).json()["session_id"]
    url = reverse("chat-session-messages", args=[session_id])
    try:
        connection.close()
        stop_server(data_dir=data_dir)
        assert not is_running(data_dir)
        response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
        assert response.status_code == 503
        assert response.json() == {
            "error": {"code": "database_unavailable", "message": response.json()["error"]["message"]}
        }
        assert api.get("/readyz").status_code == 503
        assert api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"] == []
    finally:
        ensure_server(data_dir=data_dir, database=connection.settings_dict["NAME"])
    response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
    assert response.status_code == 200
    assert "1894" in response.json()["answer"]


@pytest.mark.django_db
def test_interrupted_ingestion_is_picked_up_again_and_old_chunks_stay_served(make_document):
    from knowledge.models import SourceDocument
    from knowledge.selectors import chunk_search
    from knowledge.services import documents_resume_interrupted
    from tests.chat.corpus import BRIDGES

    document = make_document(title="Bridges", text=BRIDGES)
    old_ids = set(document.chunks.values_list("id", flat=True))
    # A worker killed mid-document leaves it "indexing" with a new text that never got indexed.
    document.text = BRIDGES.replace("1894", "eighteen ninety-four")
    document.save()
    SourceDocument.objects.filter(pk=document.pk).update(status=SourceDocument.Status.INDEXING)
    hits = chunk_search(query="Tower Bridge", embedding=list(document.chunks.first().embedding), top_k=5)
    assert {hit.chunk_id for hit in hits} <= old_ids and hits

    resumed = documents_resume_interrupted()
    assert resumed == [document.pk]
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.READY
    assert document.chunks.filter(text__contains="eighteen ninety-four").exists()


@embedded_only
@pytest.mark.django_db(transaction=True)
def test_embedded_database_restarts_by_itself(api, knowledge, settings):
    connection.close()
    stop_server(data_dir=Path(settings.EMBEDDED_POSTGRES_DIR))
    response = api.post(reverse("chat-converse"), {"message": "When did Tower Bridge open?"}, format="json")
    assert response.status_code == 200
    assert "1894" in response.json()["answer"]


@embedded_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_left_over_from_before_a_database_restart_is_replaced(api, knowledge, settings):
    data_dir = Path(settings.EMBEDDED_POSTGRES_DIR)
    connection.ensure_connection()
    stop_server(data_dir=data_dir)
    ensure_server(data_dir=data_dir, database=connection.settings_dict["NAME"])
    connection.close_if_unusable_or_obsolete()  # as Django does when a request starts: health-check it again
    response = api.post(reverse("chat-converse"), {"message": "When did Tower Bridge open?"}, format="json")
    assert response.status_code == 200
    assert "1894" in response.json()["answer"]


@pytest.mark.django_db(transaction=True)
def test_embedding_process_down_is_503_and_recovers(api, knowledge):
    """The query embedder's child process killed, and failing to come back: a clear 503, nothing stored; once
    it can start again, the next question is answered."""
    import os
    import signal

    from chat.engine import get_chat_engine

    process = get_chat_engine().pipelines.retrieval.get_component("embedder").batcher.embed_many.__self__
    process.start()
    session_id = api.post(reverse("chat-session-list")).json()["session_id"]
    url = reverse("chat-session-messages", args=[session_id])
    runtime = process.runtime
    try:
        process.runtime = dataclasses.replace(runtime, name="no-such-runtime")  # the replacement cannot load
        os.kill(process._child.pid, signal.SIGKILL)
        response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "embedding_unavailable"
        assert api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"] == []
    finally:
        process.runtime = runtime
    response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
    assert response.status_code == 200
    assert "1894" in response.json()["answer"]


@pytest.mark.django_db(transaction=True)
def test_a_search_held_up_by_a_locked_table_is_503_database_timeout_and_recovers(api, knowledge, settings):
    import threading
    import time

    import psycopg

    settings.DATABASE_SEARCH_TIMEOUT_SECONDS = 0.5
    session_id = api.post(reverse("chat-session-list")).json()["session_id"]
    url = reverse("chat-session-messages", args=[session_id])
    params = connection.get_connection_params()
    with psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"}) as locker:
        # What a long maintenance statement does (VACUUM FULL, a rewriting ALTER TABLE): readers wait on the lock,
        # here for 4 s (without a time limit the answer would come after them).
        locker.execute("LOCK TABLE knowledge_chunk IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(4.0, locker.rollback)
        release.start()
        started = time.monotonic()
        response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
        waited = time.monotonic() - started
        release.join()
    assert response.status_code == 503 and waited < 3
    assert response.json()["error"]["code"] == "database_timeout"
    assert api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"] == []

    response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
    assert response.status_code == 200 and "1894" in response.json()["answer"]
