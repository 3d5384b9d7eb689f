"""Text extraction (convert and clean) in a child process with a time budget.

Extraction is the one step of ingestion whose cost a hostile or broken file controls: HTML extraction grows with the
square of a one-line file's size. In a child process it can be stopped: when the budget runs out, or when the
document is deleted meanwhile. The child is forked from a clean server process (multiprocessing's forkserver), so
it inherits no threads, locks or database connections from the worker.
"""

import json
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

_POLL_SECONDS = 0.2
# Plain text and Markdown are decoded and cleaned in linear time: they are extracted in-process.
_IN_PROCESS = {"text/plain", "text/markdown"}
_context: Any = None


class ConversionFailed(RuntimeError):
    """Extraction ran out of time, crashed, or was stopped; the message says which, for the admin."""


class DocumentGone(RuntimeError):
    """The document was deleted while it was being converted."""


def extract(*, data: bytes, mime_type: str, meta: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Convert and clean one source: (text, meta) of each document the converters made."""
    from haystack.dataclasses import ByteStream  # noqa: PLC0415 - the child imports what it needs

    from .ingestion import build_conversion_pipeline  # noqa: PLC0415

    output = build_conversion_pipeline().run(
        {"router": {"sources": [ByteStream(data, mime_type=mime_type, meta=meta)]}}
    )
    return [(document.content or "", dict(document.meta)) for document in output["cleaner"]["documents"]]


def _child(connection: Any, data: bytes, mime_type: str, meta: dict[str, Any]) -> None:
    try:
        connection.send(("ok", extract(data=data, mime_type=mime_type, meta=meta)))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which fails the document with it
        connection.send(("error", f"{type(error).__name__}: {str(error)[:300]}"))
    finally:
        connection.close()


def _forkserver() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # The server imports the converters once; each child forked from it starts with them loaded.
        _context.set_forkserver_preload(["knowledge.ingestion"])
    return _context


def extract_with_budget(
    *,
    data: bytes,
    mime_type: str,
    meta: dict[str, Any],
    seconds: float,
    still_wanted: Callable[[], bool] = lambda: True,
) -> list[tuple[str, dict[str, Any]]]:
    """As extract(); for HTML and PDF in a child process stopped after ``seconds`` (ConversionFailed) or as soon
    as ``still_wanted()`` turns false (DocumentGone)."""
    if mime_type in _IN_PROCESS:
        return extract(data=data, mime_type=mime_type, meta=meta)
    context = _forkserver()
    # Plain JSON values only: the child has no Django apps, so it cannot unpickle a model's choices enum.
    meta = json.loads(json.dumps(meta, default=str))
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, data, mime_type, meta), daemon=True)
    process.start()
    sender.close()
    deadline = time.monotonic() + seconds
    try:
        while True:
            if receiver.poll(_POLL_SECONDS):
                try:
                    outcome, payload = receiver.recv()
                except EOFError:
                    raise ConversionFailed("Text extraction crashed (out of memory?).") from None
                if outcome == "error":
                    raise ConversionFailed(f"Text extraction failed ({payload}).")
                return payload
            if not process.is_alive():
                raise ConversionFailed("Text extraction crashed (out of memory?).")
            if time.monotonic() > deadline:
                raise ConversionFailed(
                    f"Text extraction took longer than {seconds:.0f} s (KNOWLEDGE_CONVERSION_SECONDS) and was stopped. "
                    "Convert the file to Markdown or plain text, or split it, and upload it again."
                )
            if not still_wanted():
                raise DocumentGone()
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
        receiver.close()
