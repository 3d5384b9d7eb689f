"""The ingestion worker: django-tasks-db's db_worker, made to outlive database outages and to report itself."""

import logging
import threading
import time
from types import FrameType

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone
from django_tasks_db.management.commands import db_worker

from knowledge.services import ingest_recover, worker_heartbeat

logger = logging.getLogger("knowledge.worker")

MAX_BACKOFF_SECONDS = 30


class ResilientWorker(db_worker.Worker):
    """A db_worker loop that, when the database goes away, waits for it (backing off) instead of exiting;
    on each (re)start it releases tasks a stopped worker left running and re-queues their documents."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = "starting"
        self.started_at = timezone.now()
        self._beating = threading.Event()

    def _heartbeat(self) -> None:
        while not self._beating.wait(settings.KNOWLEDGE_WORKER_HEARTBEAT_SECONDS if self.state != "starting" else 0.1):
            try:
                worker_heartbeat(worker_id=self.worker_id, state=self.state, started_at=self.started_at)
                # Another worker that stopped mid-document: release its task and queue the document again.
                ingest_recover(pending=False)
            except (OperationalError, InterfaceError):
                pass  # the database is down: the main loop says so in the log
            finally:
                connections.close_all()  # this thread's own connection, made again at the next beat

    def _recover(self) -> None:
        released, resumed = ingest_recover(worker_id=self.worker_id)
        if released or resumed:
            logger.info("released %d stopped task(s); re-queued %d document(s)", released, len(resumed))

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        """Stop as db_worker does (after the running task; a second signal ends that task at once), except that a
        worker already stopping between tasks ignores a second signal: `make run`'s stop and the terminal's reach
        it together, and db_worker's exit from the handler, landing in the embedded PostgreSQL's exit cleanup,
        printed a traceback."""
        if not self.running and not self.running_task:
            return
        super().shutdown(signum, frame)

    def run_task(self, db_task_result) -> None:
        self.state = f"indexing ({db_task_result.args_kwargs.get('kwargs', {}).get('document_id')})"
        try:
            super().run_task(db_task_result)
        finally:
            self.state = "idle"

    def run(self) -> None:
        threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True).start()
        backoff = 1.0
        try:
            while self.running:
                try:
                    self._recover()
                    self.state = "idle"
                    backoff = 1.0
                    super().run()
                    return
                except (OperationalError, InterfaceError) as error:
                    self.state = "waiting for the database"
                    logger.warning("database unavailable (%s); retrying in %.0f s", type(error).__name__, backoff)
                    connections.close_all()
                    time.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            self._beating.set()


class Command(db_worker.Command):
    help = (
        "Run the ingestion worker: db_worker, plus waiting out database outages, releasing tasks a stopped worker "
        "left running, re-queueing their documents, and a heartbeat the admin shows."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        worker.configure_signals()
        worker.run()
