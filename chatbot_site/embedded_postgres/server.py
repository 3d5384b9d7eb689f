"""Start and find the embedded PostgreSQL server that ships in the ``pgserver`` wheel."""

import json
import logging
import os
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_socket_dirs: dict[Path, str] = {}


def ensure_server(*, data_dir: Path, database: str | None) -> str:
    """Start the embedded server for ``data_dir`` unless it runs; create ``database``; return the socket dir."""
    data_dir = data_dir.resolve()
    with _lock:
        cached = _socket_dirs.get(data_dir)
        if cached and is_running(data_dir):
            return cached
        _prepare_runtime_dir(data_dir)
        _remove_stale_pid_file(data_dir)
        _reset_unreadable_handle_list(data_dir)
        import pgserver  # noqa: PLC0415 - heavy import, only for the embedded mode

        # cleanup_mode=None: the server outlives the process that started it, so every manage.py command, the
        # worker and the web server share one server instead of the last one to exit stopping it for the others.
        server = pgserver.get_server(data_dir, cleanup_mode=None)
        # get_server() hands back its cached handle even after the server stopped; restart it then.
        with server._lock:
            server.ensure_postgres_running()
        socket_dir = str(server.get_postmaster_info().socket_dir)
        if database and database != "postgres":
            _create_database(socket_dir=socket_dir, database=database)
        _socket_dirs[data_dir] = socket_dir
        logger.debug("embedded PostgreSQL ready at %s", socket_dir)
        return socket_dir


def _prepare_runtime_dir(data_dir: Path) -> None:
    # XDG_RUNTIME_DIR is unset under cron, CI and root shells; pgserver keeps its lock file there.
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))


def _reset_unreadable_handle_list(data_dir: Path) -> None:
    """Reset pgserver's list of the processes using the server when it cannot be read.

    pgserver rewrites ``.handle_pids.json`` in place whenever a process starts or stops using the server, so a
    process stopped during the write (or a stop racing a start) leaves it empty or cut short, and every later
    command fails on it with a JSON traceback. With ``cleanup_mode=None`` the list decides nothing here.
    """
    path = data_dir / ".handle_pids.json"
    try:
        values = json.loads(path.read_text())
        if isinstance(values, list):
            return
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        pass
    logger.warning("reset the embedded server's unreadable process list %s", path)
    scratch = path.with_name(f"{path.name}.{os.getpid()}")
    scratch.write_text("[]")
    scratch.replace(path)  # whole or not at all, for a process reading it meanwhile


def _create_database(*, socket_dir: str, database: str) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _file_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_postgres(pid: int) -> bool:
    import psutil  # noqa: PLC0415 - pgserver's dependency

    try:
        return psutil.Process(pid).name() == "postgres"
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # it runs as the pgserver system user when we are root


def _remove_stale_pid_file(data_dir: Path) -> None:
    """Remove a postmaster.pid left by a server that died (a crash, a reboot, a container restart).

    If another process has taken its PID since, which is likely after a reboot and usual in a container, pgserver
    (and PostgreSQL) would take the server for running and never start it: every command would be refused a
    connection. A running server's postmaster is always named postgres, so its file is never removed.
    """
    pid = _file_pid(data_dir)
    if pid is not None and not _is_postgres(pid):
        (data_dir / "postmaster.pid").unlink(missing_ok=True)
        logger.info("removed a stale postmaster.pid (process %s is not PostgreSQL)", pid)


def is_running(data_dir: Path) -> bool:
    """Whether the embedded server for data_dir is up."""
    pid = _file_pid(data_dir)
    return pid is not None and _is_postgres(pid)


def stop_server(*, data_dir: Path) -> bool:
    """Stop the embedded server; return whether one was running."""
    data_dir = data_dir.resolve()
    _prepare_runtime_dir(data_dir)
    from pgserver._commands import pg_ctl  # noqa: PLC0415

    with _lock:
        _socket_dirs.pop(data_dir, None)
        if not is_running(data_dir):
            return False
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
        return True
