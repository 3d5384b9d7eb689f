"""A book's Jinja templates (the pages of an mkdocs-macros site) rendered in Jinja's sandbox, in a child process
with limits.

A page is a template the book's authors wrote, so it is run the way a hostile one would have to be: Jinja's
sandbox keeps it from Python's internals (no attribute that starts with "_", no unsafe call), its includes are
read only from inside the book, and it runs in a child process of its own (``python -m knowledge.jinja_sandbox``)
with a memory limit, a CPU limit and a wall-clock limit: a loop of a billion steps or a string of a billion
characters kills that process, not the one ingesting the book, and the page is read without it. Nothing of the
book's Python (mkdocs-macros' ``main.py`` macros and filters) is ever run: a call to such a macro is kept as
written, and such a filter leaves its value as it is.

The parent sends a pickle of the job; the child answers in JSON, so nothing a template does can make the parent
unpickle an object of its choosing.
"""

import json
import logging
import os
import pickle
import resource
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, DebugUndefined, StrictUndefined, TemplateNotFound, Undefined
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.utils import missing

from .book_files import MAX_CHARS, URL, inside, read_text
from .child_process import Child, receive_frame, send_frame, spawn

logger = logging.getLogger(__name__)

# Jinja's own extensions a book may enable (`j2_extensions`); any other name would be a module to import.
EXTENSIONS = frozenset({"jinja2.ext.do", "jinja2.ext.loopcontrols"})
# What one page may take: a page renders in milliseconds, so these only stop a template that never would.
RENDER_SECONDS = 5.0
MEMORY_BYTES = 1 << 30
# Longer than this, a repeated string or list is refused ('a' * 10**10 would take all the memory first).
MAX_REPEAT = 1_000_000


@dataclass(frozen=True)
class TemplateJob:
    """One template to render: its text, its variables and the site's Jinja settings."""

    source: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Jinja's markers, by its own names (block_start_string, variable_start_string, ...), when not the defaults.
    markers: dict[str, str] = field(default_factory=dict)
    undefined: str = "keep"  # mkdocs-macros' on_undefined: keep, silent, strict or lax
    extensions: tuple[str, ...] = ()
    include_dir: Path | None = None  # where `{% include "file.md" %}` looks; None: includes are not found
    boundary: Path | None = None  # the folder included files must be in (include_dir unless given)
    name: str = ""  # the page's file, for the log


class JinjaSandbox:
    """Renders templates in a child process (started on first use, replaced when it dies or overruns);
    thread-safe."""

    def __init__(self, *, seconds: float = RENDER_SECONDS, memory_bytes: int = MEMORY_BYTES) -> None:
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self._child: Child | None = None
        self._lock = threading.Lock()

    def render(self, job: TemplateJob) -> str | None:
        """The rendered text, or None when the template cannot be rendered: an error in it, an include that
        is missing or outside the book, or a limit reached (the child is then replaced)."""
        try:
            request = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            logger.warning("%s: its variables could not be passed to its template: %s", job.name or "a page", error)
            return None
        with self._lock:
            try:
                if self._child is None:
                    self._child = spawn("knowledge.jinja_sandbox", str(self.memory_bytes), str(self.seconds))
                send_frame(self._child.requests, request)
                reply = json.loads(receive_frame(self._child.replies, timeout=self.seconds))
            except (EOFError, OSError, ValueError) as error:  # OSError: TimeoutError, or a broken pipe
                self._close(kill=True)
                reason = "it ran too long" if isinstance(error, TimeoutError) else "its process stopped"
                logger.warning("%s: its template was not rendered: %s.", job.name or "a page", reason)
                return None
        if not isinstance(reply, dict) or not isinstance(reply.get("text"), str):
            error = reply.get("error") if isinstance(reply, dict) else None
            logger.info("%s: its template was not rendered: %s", job.name or "a page", error)
            return None
        return reply["text"]

    def close(self) -> None:
        """Stop the child."""
        with self._lock:
            self._close()

    def _close(self, *, kill: bool = False) -> None:
        if self._child is not None:
            self._child.stop(kill=kill)
        self._child = None


_shared: JinjaSandbox | None = None
_shared_lock = threading.Lock()


def shared_jinja_sandbox() -> JinjaSandbox:
    """The process-wide sandbox (its child starts on first use)."""
    global _shared  # noqa: PLW0603 - one child per process, made on first use
    with _shared_lock:
        if _shared is None:
            _shared = JinjaSandbox()
        return _shared


# The child's side.

# Names Jinja itself looks up on a value before calling or printing it; an undefined name must not answer them.
_PROBES = frozenset({"jinja_pass_arg", "unsafe_callable", "alters_data", "jinja_async_variant"})


class _Kept(DebugUndefined):
    """An undefined name printed as written: ``{{ name }}``, ``{{ name.attr }}``, ``{{ macro('x') }}``.

    mkdocs-macros keeps an undefined name by default (``on_undefined: keep``), and a macro or variable of the
    book's own Python, never run here, is undefined: it reads as the page wrote it, not as an error."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__" or name in _PROBES or not self._is_name():
            raise AttributeError(name)
        return _Kept(name=f"{self._undefined_name}.{name}")

    def __getitem__(self, key: Any) -> Any:
        if not self._is_name():
            return self._fail_with_undefined_error()
        return _Kept(name=f"{self._undefined_name}[{_written(key)}]")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._is_name():
            return self._fail_with_undefined_error()
        arguments = [_written(value) for value in args] + [f"{key}={_written(value)}" for key, value in kwargs.items()]
        return _Kept(name=f"{self._undefined_name}({', '.join(arguments)})")

    def _is_name(self) -> bool:
        """Whether this is a name nothing defines (not a missing element of a value that exists)."""
        return self._undefined_obj is missing and self._undefined_hint is None and self._undefined_name is not None


def _written(value: Any) -> str:
    """An argument as a template writes it."""
    if isinstance(value, _Kept):
        return str(value)[3:-3]
    return repr(value)


class _Lax(Undefined):
    """mkdocs-macros' ``on_undefined: lax``: anything undefined, however used, prints nothing."""

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> str:
        return ""


_UNDEFINED: dict[str, type[Undefined]] = {"keep": _Kept, "silent": Undefined, "strict": StrictUndefined, "lax": _Lax}


class _Filters(dict):
    """Jinja's filters, and any other name as a filter that leaves its value as it is (a filter of the book's
    own Python, never run here)."""

    def __missing__(self, name: str) -> Any:
        return _unchanged

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name, _unchanged)


def _unchanged(value: Any, *args: Any, **kwargs: Any) -> Any:
    return value


class _BookLoader(BaseLoader):
    """Templates (`{% include %}`, `{% import %}`) read from one folder, only from inside the book."""

    def __init__(self, *, folder: Path | None, boundary: Path | None) -> None:
        self.folder = folder
        self.boundary = boundary or folder

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        found = None
        if self.folder is not None and not template.startswith("/") and not URL.match(template):
            found = inside(self.folder / template, self.boundary)
        if found is None:
            raise TemplateNotFound(template)
        return read_text(found), str(found), lambda: True


class _Environment(SandboxedEnvironment):
    """The sandbox, with repetition bounded: `'a' * 10**10` is refused before it is made."""

    intercepted_binops = frozenset({"*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    if len(sequence) * times > MAX_REPEAT:
                        raise SecurityError("a repeated value would be too long")
        return super().call_binop(context, operator, left, right)


def render(job: TemplateJob) -> str:
    """The template rendered (in the child); a template's error, or a page past MAX_CHARS, raises."""
    environment = _Environment(
        loader=_BookLoader(folder=job.include_dir, boundary=job.boundary),
        undefined=_UNDEFINED.get(job.undefined, _Kept),
        extensions=[name for name in job.extensions if name in EXTENSIONS],
        **job.markers,
    )
    environment.filters = _Filters(environment.filters)
    environment.globals["now"] = datetime.now  # mkdocs-macros' own macro: the time of the build
    template = environment.from_string(job.source)
    pieces, size = [], 0
    for piece in template.generate(**{key: value for key, value in job.variables.items() if isinstance(key, str)}):
        size += len(piece)
        if size > MAX_CHARS:
            raise SecurityError("the rendered page would be too long")
        pieces.append(piece)
    return "".join(pieces)


def _limit(kind: int, value: int) -> None:
    """Lower a resource's soft limit to ``value`` (never past the hard limit the process was given)."""
    _, hard = resource.getrlimit(kind)
    resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))


def _serve(requests: Any, replies: Any, *, seconds: float) -> None:
    """The child's loop: render each job until the parent closes the pipe."""
    while True:
        try:
            job = pickle.loads(receive_frame(requests))  # noqa: S301 - from our parent, over its own pipe
        except EOFError:
            return
        # A template that never ends is killed by the parent; should the parent be gone, by the CPU limit.
        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        _limit(resource.RLIMIT_CPU, int(used + seconds) + 2)
        try:
            reply = {"text": render(job)}
        except MemoryError:
            reply = {"error": "MemoryError: the template needed too much memory"}
        except Exception as error:  # noqa: BLE001 - any error of a template's is the parent's to report
            reply = {"error": f"{type(error).__name__}: {error}"}
        send_frame(replies, json.dumps(reply).encode())


def main(argv: list[str]) -> None:
    """Entry point of the child: ``python -m knowledge.jinja_sandbox IN_FD OUT_FD MEMORY_BYTES SECONDS``."""
    requests_fd, replies_fd, memory_bytes = (int(value) for value in argv[:3])
    _limit(resource.RLIMIT_AS, memory_bytes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops this process
    try:
        with os.fdopen(requests_fd, "rb") as requests, os.fdopen(replies_fd, "wb") as replies:
            _serve(requests, replies, seconds=float(argv[3]))
    except BrokenPipeError:
        pass  # the parent went away before our reply


if __name__ == "__main__":
    main(sys.argv[1:])
