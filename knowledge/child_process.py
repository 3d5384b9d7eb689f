"""A helper of ours in a child process of its own, spoken to over two pipes in length-prefixed frames.

The child is a fresh interpreter (``python -m <module> IN_FD OUT_FD ...``): it inherits no threads, locks or
connections and imports no Django settings. It exits when its request pipe closes (the parent stopped it, or
exited). Frames strictly alternate with requests, so nothing is left buffered when the parent waits on the pipe.
"""

import os
import select
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_HEADER = struct.Struct("!I")
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def send_frame(stream: BinaryIO, payload: bytes) -> None:
    """Write one frame and flush it."""
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def receive_frame(stream: BinaryIO, *, timeout: float | None = None) -> bytes:
    """Read one frame; TimeoutError when none starts within ``timeout`` seconds, EOFError when the pipe closes."""
    if timeout is not None and not select.select([stream], [], [], timeout)[0]:
        raise TimeoutError
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (length,) = _HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError
    return payload


@dataclass
class Child:
    """A running child process and the two ends of its pipes that the parent holds."""

    process: subprocess.Popen
    requests: BinaryIO
    replies: BinaryIO

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, *, kill: bool = False) -> None:
        """Close the pipes (the child exits when its request pipe closes) and reap it; ``kill`` first kills it."""
        if kill:
            self.process.kill()
        for stream in (self.requests, self.replies):
            try:
                stream.close()
            except OSError:
                pass  # a pipe to a child that is gone
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn(module: str, *arguments: str) -> Child:
    """Start ``python -m module IN_FD OUT_FD *arguments`` in the project's folder, by the running interpreter."""
    to_child, requests = os.pipe()
    replies, from_child = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 - our own module, by the running interpreter
            [sys.executable, "-m", module, str(to_child), str(from_child), *arguments],
            cwd=_PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            # stdout may be a protocol's channel (`manage.py mcp` over stdio); library chatter goes to stderr.
            stdout=subprocess.DEVNULL,
            pass_fds=(to_child, from_child),
        )
    except BaseException:
        for end in (requests, replies):
            os.close(end)
        raise
    finally:
        os.close(to_child)
        os.close(from_child)
    return Child(process=process, requests=os.fdopen(requests, "wb"), replies=os.fdopen(replies, "rb"))
