"""The offline embedding model in a child process of its own, for a server that answers on an event loop.

In the server, the event loop holds the GIL most of the time. A model call in a thread of the same process gives
the GIL up around every torch operation and waits for it again each time (up to the interpreter's 5 ms switch
interval while the loop is busy), so under load a batch of questions took 2.5 times its CPU time and the
embedding queue grew. In a child process the model has an interpreter of its own; the server only waits on a
pipe.

The child is a fresh interpreter (``python -m knowledge.embedding_process``), so it inherits no threads, locks or
connections and imports no Django settings; on the ONNX runtime it loads neither torch nor Haystack either. It
talks over two pipes of its own: a length-prefixed pickle of the texts in, of their vectors (one float32 array)
out. It exits when the server does (its request pipe closes).
"""

import logging
import os
import pickle
import signal
import sys
import threading
from typing import Any, BinaryIO

import numpy as np

from .child_process import Child, receive_frame, send_frame, spawn
from .embedders import LocalRuntime

logger = logging.getLogger(__name__)

# When the machine's cores are all busy, the server's event loop (every open stream) goes first: a question
# waits a little longer for its vector rather than every reader for their next token (docs/benchmarks.md).
NICENESS = 10


class EmbeddingProcessFailed(RuntimeError):
    """The embedding process could not start, failed to embed, or stopped twice in a row on the same texts."""


def _send(stream: BinaryIO, value: Any) -> None:
    send_frame(stream, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(stream: BinaryIO, *, timeout: float | None = None) -> Any:
    return pickle.loads(receive_frame(stream, timeout=timeout))  # noqa: S301 - our own child, over our pipes


class EmbeddingProcess:
    """Embeds texts with the offline model in a child process; thread-safe, and restarted once if it dies."""

    def __init__(
        self, *, batch_size: int, runtime: LocalRuntime, load_seconds: float = 300.0, reply_seconds: float = 60.0
    ) -> None:
        self.batch_size = batch_size
        self.runtime = runtime
        # A child that does not answer in time (hung, or stopped) is treated as dead: killed and replaced.
        self.load_seconds = load_seconds
        self.reply_seconds = reply_seconds
        self._child: Child | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _spawn(self) -> None:
        arguments = (str(self.batch_size), self.runtime.name, str(self.runtime.threads), self.runtime.cache_dir)
        self._child = spawn("knowledge.embedding_process", *arguments)
        self._ready = False

    def _await_ready(self) -> None:
        try:
            outcome, detail = _receive(self._child.replies, timeout=self.load_seconds)
        except EOFError:
            outcome, detail = "error", f"exited with status {self._child.process.wait()}"
        except TimeoutError:
            outcome, detail = "error", f"not loaded after {self.load_seconds:.0f} s"
        if outcome != "ready":
            self._stop(kill=True)
            raise EmbeddingProcessFailed(f"The embedding process could not load the model ({detail}).")
        self._ready = True

    def _stop(self, *, kill: bool = False) -> None:
        if self._child is not None:
            self._child.stop(kill=kill)
        self._child = None

    def _exchange(self, texts: list[str]) -> np.ndarray:
        if self._child is None:
            self._spawn()
        if not self._ready:
            self._await_ready()
        _send(self._child.requests, texts)
        outcome, value = _receive(self._child.replies, timeout=self.reply_seconds)
        if outcome != "ok":
            raise EmbeddingProcessFailed(f"Embedding failed in the embedding process: {value}")
        return value

    def start(self, *, wait: bool = True) -> None:
        """Start the child (a no-op when it runs); with ``wait``, until its model is loaded. Without, the model
        loads while the caller goes on, and the first texts wait for it."""
        with self._lock:
            if self._child is None:
                self._spawn()
            if wait and not self._ready:
                self._await_ready()

    def embed_many(self, texts: list[str]) -> list[np.ndarray]:
        """The texts' vectors, in order (blocks the calling thread; the GIL is free meanwhile)."""
        with self._lock:
            try:
                vectors = self._exchange(texts)
            except (EOFError, OSError):  # OSError: a broken pipe, or TimeoutError
                # Killed (out of memory, or by hand) or hung: a new child gets the same texts once.
                logger.warning("The embedding process stopped or hung; starting a new one.")
                self._stop(kill=True)
                try:
                    vectors = self._exchange(texts)
                except (EOFError, OSError) as error:
                    self._stop(kill=True)
                    raise EmbeddingProcessFailed("The embedding process failed twice on the same texts.") from error
        return list(vectors)

    def close(self) -> None:
        """Stop the child."""
        with self._lock:
            self._stop()


_shared: dict[tuple[int, LocalRuntime], EmbeddingProcess] = {}
_shared_lock = threading.Lock()


def shared_embedding_process(*, batch_size: int, runtime: LocalRuntime) -> EmbeddingProcess:
    """The process-wide embedding process for these options (its child starts on first use)."""
    with _shared_lock:
        key = (batch_size, runtime)
        if key not in _shared:
            _shared[key] = EmbeddingProcess(batch_size=batch_size, runtime=runtime)
        return _shared[key]


def _serve(requests: BinaryIO, replies: BinaryIO, *, batch_size: int, runtime: LocalRuntime) -> None:
    """The child's loop: load the model, say so, then embed each request until the server closes the pipe."""
    try:
        os.nice(NICENESS)
        runtime.prepare()
        embed = runtime.vectors(batch_size=batch_size)
        embed(["warm-up"])  # the first call sets up the model's buffers
    except Exception as error:  # noqa: BLE001 - reported to the server, which fails its start with it
        _send(replies, ("error", f"{type(error).__name__}: {error}"))
        return
    _send(replies, ("ready", None))
    while True:
        try:
            texts = _receive(requests)
        except EOFError:
            return  # the server closed the pipe or exited
        try:
            reply = ("ok", embed(texts))  # one float32 array: it pickles as one buffer
        except Exception as error:  # noqa: BLE001 - the server raises it for the texts' callers
            reply = ("error", f"{type(error).__name__}: {error}")
        _send(replies, reply)


def main(argv: list[str]) -> None:
    """Entry point of the child: ``python -m knowledge.embedding_process IN_FD OUT_FD BATCH RUNTIME THREADS
    CACHE_DIR``."""
    requests_fd, replies_fd, batch_size = (int(value) for value in argv[:3])
    runtime = LocalRuntime(name=argv[3], threads=int(argv[4]), cache_dir=argv[5])
    # Ctrl-C reaches the whole process group: the server stops gracefully and may still need vectors meanwhile;
    # this process ends when the server closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with os.fdopen(requests_fd, "rb") as requests, os.fdopen(replies_fd, "wb") as replies:
            _serve(requests, replies, batch_size=batch_size, runtime=runtime)
    except BrokenPipeError:
        pass  # the server went away before our reply (it stopped while the model loaded): nothing is owed


if __name__ == "__main__":
    main(sys.argv[1:])
