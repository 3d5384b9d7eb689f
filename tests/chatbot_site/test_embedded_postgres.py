"""The embedded PostgreSQL server starts again after a crash, whatever its old pid file or pgserver's process list
says."""

import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from chatbot_site.embedded_postgres.server import is_running, stop_server
from tests.chatbot_site.test_settings import ROOT, manage

CONNECT = "from django.db import connection; connection.ensure_connection(); print('connected')"


@pytest.fixture
def data_dir():
    # Under the project's data directory: as root, the server runs as the pgserver user, who cannot enter /tmp's
    # private test directories.
    path = ROOT / "var" / f"test-pgdata-{uuid.uuid4().hex[:8]}"
    yield path
    stop_server(data_dir=path)
    shutil.rmtree(path, ignore_errors=True)


def test_a_server_whose_pid_was_taken_by_another_process_is_started_again(data_dir):
    env = {"EMBEDDED_POSTGRES_DIR": str(data_dir)}
    assert "connected" in manage("shell", "-c", CONNECT, **env).stdout
    pid_file = data_dir / "postmaster.pid"
    postmaster = int(pid_file.read_text().splitlines()[0])
    os.kill(postmaster, signal.SIGKILL)  # a crash: the pid file stays behind
    deadline = time.monotonic() + 10
    while is_running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    # After a reboot or a container restart, another process has the dead server's pid.
    squatter = subprocess.Popen(["sleep", "60"])
    try:
        lines = pid_file.read_text().splitlines()
        pid_file.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")
        assert not is_running(data_dir)
        result = manage("shell", "-c", CONNECT, **env)
        assert "connected" in result.stdout, result.stderr
        assert is_running(data_dir)
        assert squatter.poll() is None  # nothing was done to the other process
    finally:
        squatter.kill()
        squatter.wait()


@pytest.mark.parametrize("left", ["", "[12, 3", "{}"], ids=["empty", "cut short", "not a list"])
def test_an_unreadable_process_list_does_not_stop_commands(data_dir, left):
    env = {"EMBEDDED_POSTGRES_DIR": str(data_dir)}
    assert "connected" in manage("shell", "-c", CONNECT, **env).stdout
    handles = data_dir / ".handle_pids.json"
    assert handles.is_file()  # pgserver's own file, rewritten in place by every process that uses the server
    handles.write_text(left)  # as a process stopped during that write leaves it
    result = manage("shell", "-c", CONNECT, **env)
    assert "connected" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr
    assert "unreadable process list" in result.stderr
