"""The ingestion worker's stop (knowledge/management/commands/ingestion_worker.py); its outage handling is
tested end to end in tests/e2e/test_worker.py."""

import signal

import pytest

from knowledge.management.commands.ingestion_worker import ResilientWorker


@pytest.fixture
def worker() -> ResilientWorker:
    made = ResilientWorker(
        queue_names=["default"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    made.reset_signals = lambda: None  # leave this test process's own handlers alone
    return made


def test_a_stop_asked_twice_between_tasks_exits_once(worker):
    with pytest.raises(SystemExit) as stopped:
        worker.shutdown(signal.SIGTERM, None)
    assert stopped.value.code == 0
    # `make run`'s stop and the terminal's Ctrl-C arrive together: the second must not exit again, mid-cleanup.
    worker.shutdown(signal.SIGINT, None)


def test_a_second_stop_still_ends_a_running_task_at_once(worker):
    worker.running_task = True
    worker.shutdown(signal.SIGTERM, None)  # the task finishes first
    assert not worker.running
    with pytest.raises(SystemExit) as stopped:
        worker.shutdown(signal.SIGTERM, None)
    assert stopped.value.code == 1
