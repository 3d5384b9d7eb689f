"""Start and find the embedded PostgreSQL server that ships in the ``pgserver`` wheel."""

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


def _create_database(*, socket_dir: str, database: str) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def is_running(data_dir: Path) -> bool:
    """Whether the embedded server for data_dir is up."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs as the pgserver system user when we are root
    return True


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
