"""The ingestion worker as `make run` starts it, through a database outage."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from chatbot_site.embedded_postgres.server import ensure_server, stop_server
from knowledge.models import IngestionWorker, SourceDocument
from knowledge.services import document_create
from tests.knowledge.test_worker import queued_task
from tests.servers import PROJECT_ROOT, project_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(django_settings.DATABASE_URL), reason="needs the embedded PostgreSQL"),
]


def wait_until(check, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def status_of(document: SourceDocument) -> str:
    return SourceDocument.objects.values_list("status", flat=True).get(pk=document.pk)


def test_the_worker_waits_out_a_database_outage_and_carries_on(settings, tmp_path):
    data_dir = Path(settings.EMBEDDED_POSTGRES_DIR)
    settings.EMBEDDED_POSTGRES_AUTOSTART = False
    # Left pending by an earlier worker: the new one queues it again as it starts.
    before = document_create(title="Before", text="# Before\n\nThe worker indexes this when it starts.")
    env = project_env(database=connection.settings_dict["NAME"], env={"EMBEDDED_POSTGRES_AUTOSTART": "0"})
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "ingestion_worker", "--interval", "0.2"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        wait_until(lambda: status_of(before) == SourceDocument.Status.READY)
        wait_until(lambda: IngestionWorker.objects.filter(state="idle").exists())

        connection.close()
        stop_server(data_dir=data_dir)  # PostgreSQL goes away, and stays away
        time.sleep(4)
        assert worker.poll() is None, log_path.read_text()
        assert "database unavailable" in log_path.read_text()

        ensure_server(data_dir=data_dir, database=connection.settings_dict["NAME"])
        after = document_create(title="After", text="# After\n\nUploaded once the database was back.")
        queued_task(after.pk)
        wait_until(lambda: status_of(after) == SourceDocument.Status.READY)
        heartbeat = IngestionWorker.objects.get()
        assert (timezone.now() - heartbeat.last_seen).total_seconds() < 30
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        ensure_server(data_dir=data_dir, database=connection.settings_dict["NAME"])
