"""Real local servers for tests: redis-server and a small OpenAI-compatible HTTP server on 127.0.0.1."""

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took (a socket
    timeout raises if it never closes)."""
    started, received = time.monotonic(), b""
    while chunk := sock.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def parse_raw_response(raw: bytes) -> tuple[int, dict[str, str], dict]:
    """(status code, headers with lower-case names, JSON body) of one raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    return int(status.split()[1]), headers, json.loads(body)


class RedisServer:
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, *, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make system-deps` (apt-get install redis-server).")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class FakeOpenAI:
    """Behaviour of the fake server: a reply text, a failure mode, and what it was sent."""

    reply: str = "The snowy owl hunts lemmings [1]."
    # ok | 429 | 500 | timeout | malformed | empty; while streaming, after the first token:
    # stream_error (an error event) | stream_malformed (a line that is not JSON)
    mode: str = "ok"
    delay: float = 0.0
    requests: list[dict] = field(default_factory=list)
    fail_times: int = 0  # with mode 429/500: fail this many times, then answer
    token_delay: float = 0.0  # seconds between streamed tokens
    streams_finished: int = 0
    streams_aborted: int = 0  # the client closed the connection mid-stream
    open_streams: int = 0
    max_open_streams: int = 0  # the most streams open at one moment
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Back to answering normally, with nothing recorded (a server shared by several tests)."""
        fresh = FakeOpenAI()
        for name in ("reply", "mode", "delay", "fail_times", "token_delay"):
            setattr(self, name, getattr(fresh, name))
        with self.lock:
            self.requests.clear()
            self.streams_finished = self.streams_aborted = self.open_streams = self.max_open_streams = 0

    def count_open(self, change: int) -> None:
        with self.lock:
            self.open_streams += change
            self.max_open_streams = max(self.max_open_streams, self.open_streams)


def _handler(state: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append(body)
            if state.delay:
                time.sleep(state.delay)
            mode = state.mode
            if mode in {"429", "500"} and state.fail_times:
                state.fail_times -= 1
                if state.fail_times == 0:
                    state.mode = "ok"
            if mode == "timeout":
                time.sleep(5)
                mode = "ok"
            if mode == "429":
                self._json(429, {"error": {"message": "Rate limit", "type": "rate_limit"}}, {"retry-after-ms": "10"})
                return
            if mode == "500":
                self._json(500, {"error": {"message": "boom", "type": "server_error"}})
                return
            if mode == "malformed":
                data = b"this is not json at all"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            text = "" if mode == "empty" else state.reply
            if body.get("stream"):
                self._stream(text, body)
                return
            self._json(
                200,
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
                },
            )

        def _stream(self, text: str, body: dict) -> None:
            state.count_open(1)
            try:
                self._stream_tokens(text, body)
            except OSError:
                state.streams_aborted += 1  # the client hung up
            finally:
                state.count_open(-1)

        def _stream_tokens(self, text: str, body: dict) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
            pieces = [piece + " " for piece in text.split(" ")] if text else []
            for index, piece in enumerate(pieces):
                delta = {"content": piece.rstrip() if index == len(pieces) - 1 else piece}
                if index == 0:
                    delta["role"] = "assistant"
                chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if state.mode == "stream_error":
                    error = {"error": {"message": "The model is overloaded", "type": "server_error"}}
                    self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
                    return
                if state.mode == "stream_malformed":
                    self.wfile.write(b"data: {this is not json\n\n")
                    return
                time.sleep(state.token_delay)
            final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
            usage = {**base, "choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            state.streams_finished += 1

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # hundreds of streams connect at once in the concurrency tests


class OpenAIServer:
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1, driven by a FakeOpenAI state."""

    def __init__(self) -> None:
        self.state = FakeOpenAI()
        self.server = _Server(("127.0.0.1", 0), _handler(self.state))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @contextlib.contextmanager
    def running(self) -> Iterator["OpenAIServer"]:
        """The server, started for the block and stopped after it."""
        self.start()
        try:
            yield self
        finally:
            self.stop()


def llm_env(model: OpenAIServer) -> dict[str, str]:
    """Server settings for answers from the fake model server, through the real openai client."""
    return {
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": model.base_url,
        "CHAT_MODEL": "test-model",
        "OPENAI_MAX_RETRIES": "0",
        "CHAT_THROTTLE_IP": "10000/min",
        "CHAT_THROTTLE_SESSION_CREATE": "10000/min",
    }


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_env(*, database: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a project process (server, command) runs with against the test database."""
    import os

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot_site.settings",
        "EMBEDDED_POSTGRES_DB": database,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "0",
        **(env or {}),
    }


def child_pids_of(pid: int) -> list[int]:
    """The live child processes of a process (raises OSError when it is gone)."""
    # Each thread's children are listed under that thread.
    return [int(child) for task in Path(f"/proc/{pid}/task").glob("*/children") for child in task.read_text().split()]


def rss_mb_of(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
        for child in child_pids_of(pid):
            total += rss_mb_of(child)
    return total


# Set the soft limit on open files, then become the command (the same process, so its pid is the server's).
_WITH_OPEN_FILES = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1])); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


class AppServer:
    """The project served exactly as `make run` serves it: uvicorn, one process (chatbot_site.server)."""

    def __init__(
        self,
        *,
        database: str,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        open_files: int | None = None,
    ) -> None:
        """``open_files``: start the server with this soft limit on open files (as `ulimit -Sn` would)."""
        import sys

        self.port = free_port()
        self.log = log
        self.open_files = open_files
        self.python = sys.executable
        self.root = PROJECT_ROOT
        self.snapshot_dir = tempfile.TemporaryDirectory()
        # Each server keeps its sessions across a graceful restart in a file of its own.
        snapshot = {"CHAT_SESSION_SNAPSHOT_PATH": str(Path(self.snapshot_dir.name) / "sessions.json")}
        self.env = project_env(database=database, env={**snapshot, **(env or {})})
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, ready_path: str = "/readyz") -> None:
        import urllib.request

        # As `make run` does before serving: the static files (widget, admin) come from STATIC_ROOT.
        subprocess.run(
            [self.python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=self.root, env=self.env, check=True
        )
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - the server holds it
        command = [self.python, "-m", "chatbot_site.server", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.open_files is not None:
            command = [self.python, "-c", _WITH_OPEN_FILES, str(self.open_files), *command]
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=self.env,
            stdout=output,
            stderr=output,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}{ready_path}", timeout=30) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the app server did not become ready")

    @contextlib.contextmanager
    def running(self, *, ready_path: str = "/readyz") -> Iterator["AppServer"]:
        """The server, started for the block and stopped after it."""
        self.start(ready_path=ready_path)
        try:
            yield self
        finally:
            self.stop()

    def rss_mb(self) -> float:
        """Resident memory of the server process (the sessions and the models) and its children (the embedding
        process)."""
        return rss_mb_of(self.process.pid)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a deploy or `docker stop` does."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def crash(self) -> None:
        """An abrupt end (SIGKILL, out of memory): nothing runs on the way out."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class StandalonePostgres:
    """A PostgreSQL server of its own with pgvector, listening on a TCP port of 127.0.0.1: the binaries of the
    pgserver wheel, a fresh data directory. What DATABASE_URL points at in the scale-out test."""

    def __init__(self, *, directory: Path) -> None:
        self.data = directory / "pgdata"
        self.sockets = directory / "sockets"
        self.port = free_port()
        self.user: str | None = None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        import os
        import pwd

        import pgserver
        from pgserver._commands import pg_ctl

        runtime = self.data.parent / "run"  # pgserver keeps a lock file there; CI and root shells have none
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        # pgserver makes the data directory (initdb, with a system user of its own when run as root), and starts
        # it on a socket only; this restarts it listening on the port as well.
        server = pgserver.get_server(self.data, cleanup_mode=None)
        self.user = server.system_user
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data, user=self.user)
        self.sockets.mkdir(mode=0o777, parents=True, exist_ok=True)
        if os.geteuid() == 0 and self.user:
            record = pwd.getpwnam(self.user)
            os.chown(self.sockets, record.pw_uid, record.pw_gid)
        options = f"-h 127.0.0.1 -p {self.port} -k {self.sockets}"
        pg_ctl(["-w", "-o", options, "-l", str(self.data / "server.log"), "start"], pgdata=self.data, user=self.user)

    def create_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.data, user=self.user)
