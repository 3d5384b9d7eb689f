"""The ingestion worker's bookkeeping: heartbeats, tasks a stopped worker left running, no double queueing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from knowledge.models import IngestionWorker, SourceDocument
from knowledge.services import (
    INGEST_TASK_PATH,
    document_create,
    documents_resume_interrupted,
    ingest_tasks_release,
    worker_heartbeat,
)

pytestmark = pytest.mark.django_db


def queued_task(document_id: int, *, status: str = "READY", worker_ids: list[str] | None = None) -> DBTaskResult:
    """An ingestion task as the database backend stores it."""
    from django_tasks_db.models import get_date_max

    return DBTaskResult.objects.create(
        task_path=INGEST_TASK_PATH,
        args_kwargs={"args": [], "kwargs": {"document_id": document_id}},
        queue_name="default",
        backend_name="default",
        run_after=get_date_max(),
        status=status,
        worker_ids=worker_ids or [],
        exception_class_path="",
        traceback="",
    )


def test_resume_leaves_documents_that_already_have_a_task(make_document):
    waiting = document_create(title="Waiting", text="# Waiting\n\nText.")
    running = document_create(title="Running", text="# Running\n\nText.")
    orphan = document_create(title="Orphan", text="# Orphan\n\nText.")
    queued_task(waiting.pk)
    queued_task(running.pk, status="RUNNING", worker_ids=["alive"])
    assert documents_resume_interrupted() == [orphan.pk]
    orphan.refresh_from_db()
    assert orphan.status == SourceDocument.Status.READY  # the test settings run tasks at once


def test_heartbeat_records_the_worker():
    started = timezone.now()
    worker_heartbeat(worker_id="w1", state="idle", started_at=started)
    worker_heartbeat(worker_id="w1", state="indexing (7)", started_at=started)
    worker = IngestionWorker.objects.get()
    assert (worker.worker_id, worker.state, worker.started_at) == ("w1", "indexing (7)", started)
    assert worker.pid and worker.host


def test_tasks_of_stopped_workers_are_released_and_their_documents_queued_again():
    now = timezone.now()
    worker_heartbeat(worker_id="alive", state="idle", started_at=now)
    worker_heartbeat(worker_id="gone", state="indexing", started_at=now)
    IngestionWorker.objects.filter(worker_id="gone").update(last_seen=now - timedelta(minutes=5))
    documents = {
        name: document_create(title=name, text=f"# {name}\n\nText.") for name in ("alive", "gone", "unknown", "mine")
    }
    for name, document in documents.items():
        SourceDocument.objects.filter(pk=document.pk).update(status=SourceDocument.Status.INDEXING)
        queued_task(document.pk, status="RUNNING", worker_ids=[name])
    assert ingest_tasks_release(worker_id="mine") == 3  # a stale worker's, an unknown worker's, and its own
    statuses = dict(DBTaskResult.objects.values_list("args_kwargs__kwargs__document_id", "status"))
    assert statuses[documents["alive"].pk] == "RUNNING"
    assert {statuses[documents[name].pk] for name in ("gone", "unknown", "mine")} == {"FAILED"}
    failed = DBTaskResult.objects.filter(status="FAILED").first()
    assert failed.exception_class_path.endswith("WorkerStopped")
    # Their documents are queued again; the live worker's is left to it.
    assert sorted(documents_resume_interrupted()) == sorted(documents[n].pk for n in ("gone", "unknown", "mine"))


def test_the_document_list_shows_the_workers_heartbeat(staff_client):
    from django.urls import reverse

    url = reverse("admin:knowledge_sourcedocument_changelist")
    assert "No ingestion worker has reported yet" in staff_client.get(url, follow=True).content.decode()
    worker_heartbeat(worker_id="w1", state="idle", started_at=timezone.now())
    assert "Ingestion worker: idle, last heartbeat 0 s ago." in staff_client.get(url).content.decode()
    IngestionWorker.objects.update(last_seen=timezone.now() - timedelta(minutes=3))
    page = staff_client.get(url).content.decode()
    assert "The ingestion worker was last seen 180 s ago (idle)" in page
