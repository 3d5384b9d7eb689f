"""Writes to the knowledge base: create, ingest, re-index and delete documents."""

import contextlib
import hashlib
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from haystack import Document
from haystack.dataclasses import ByteStream

from chatbot_site.locks import locked_transaction

from .archives import ArchiveLimits, ArchiveRejected, archive_check_size, archive_unpack, unpacking_failed
from .conversion import ConversionFailed, DocumentGone, extract_with_budget
from .embedders import embedding_spec, shared_document_embedder
from .ingestion import IngestionError, build_indexing_pipeline, content_hash
from .loading import BookFile, relative_path, scan_book, title_for
from .markdown import reads_as_mdx
from .models import Chunk, IngestionWorker, SourceDocument, UrlStyle, book_key
from .signals import document_indexed
from .sources import SourceRejected, reference_check, source_check_file, source_check_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What one ingestion did."""

    document_id: int
    status: str
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    unchanged: bool = False
    error: str = ""
    seconds: float = 0.0


def document_create(
    *,
    title: str,
    reference: str = "",
    text: str = "",
    file_name: str = "",
    file_data: bytes | None = None,
    source_key: str | None = None,
) -> SourceDocument:
    """Validate a file or text and store it as a pending document (raises SourceRejected)."""
    document = SourceDocument(title=title, reference=reference_check(reference=reference), source_key=source_key)
    document_set_source(document=document, text=text, file_name=file_name, file_data=file_data)
    document.save()
    return document


def document_set_source(
    *, document: SourceDocument, text: str = "", file_name: str = "", file_data: bytes | None = None
) -> None:
    """Replace a document's source (unsaved); an upload wins over pasted text."""
    if file_data is not None:
        checked = source_check_file(file_name=file_name, data=file_data)
        document.file_name = file_name
        document.file_data = checked.data
        document.mime_type = checked.mime_type
        document.text = ""
    elif text or not document.file_data:
        document.text = source_check_text(text=text)
        document.file_name = ""
        document.file_data = None
        document.mime_type = "text/markdown"


def document_default_title(*, document: SourceDocument) -> str:
    """A title for an untitled document: its front-matter title, first H1 or file name."""
    if document.file_data is not None:
        return title_for(Path(document.file_name or "document.md"), bytes(document.file_data))
    return title_for(Path("pasted.md"), document.text.encode("utf-8"))[:300] or "Untitled"


def document_schedule_ingest(*, document: SourceDocument) -> None:
    """Mark a document pending and queue its ingestion in the background worker."""
    from .tasks import ingest_document  # noqa: PLC0415 - tasks imports services

    SourceDocument.objects.filter(pk=document.pk).update(status=SourceDocument.Status.PENDING, error="")
    document.status = SourceDocument.Status.PENDING
    ingest_document.enqueue(document_id=document.pk)


def _source_stream(document: SourceDocument) -> ByteStream:
    if document.file_data is not None:
        data, mime_type = bytes(document.file_data), document.mime_type
    else:
        data, mime_type = document.text.encode("utf-8"), "text/markdown"
    meta = {
        "title": document.title,
        "url_style": document.url_style,
        "heading_ids": document.heading_ids,
        "mdx": reads_as_mdx(
            file_name=document.file_name, style=document.url_style, markdown_format=document.markdown_format
        ),
    }
    return ByteStream(data=data, mime_type=mime_type, meta=meta)


def document_ingest(*, document: SourceDocument, force: bool = False) -> IngestResult:
    """Split and embed one document, swapping in the new chunks only when all of them are ready.

    Unchanged documents do nothing; chunks whose text is unchanged reuse their vectors. On failure the
    old chunks stay searchable and the document is marked failed with the error.
    """
    started = time.perf_counter()
    model_id = embedding_spec().model_id
    SourceDocument.objects.filter(pk=document.pk).update(status=SourceDocument.Status.INDEXING)
    try:
        known = {}
        if not force:
            known = dict(
                Chunk.objects.filter(document=document, document__embedding_model=model_id).values_list(
                    "content_hash", "embedding"
                )
            )
        stream = _source_stream(document)
        extracted = extract_with_budget(
            data=stream.data,
            mime_type=stream.mime_type or "text/markdown",
            meta=stream.meta,
            seconds=settings.KNOWLEDGE_CONVERSION_SECONDS,
            still_wanted=lambda: SourceDocument.objects.filter(pk=document.pk).exists(),
        )
        cleaned = [Document(content=text, meta=meta) for text, meta in extracted if text.strip()]
        if not cleaned:
            raise IngestionError(_no_text_message(document))
        pipeline = build_indexing_pipeline(
            document_embedder=shared_document_embedder(),
            split_length=settings.CHUNK_SIZE_WORDS,
            split_overlap=settings.CHUNK_OVERLAP_WORDS,
            max_chunks=settings.KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT or None,
        )
        output = pipeline.run({"splitter": {"documents": cleaned}, "embedder": {"known": known}})
        chunks = output["embedder"]["documents"]
        if not chunks:
            raise IngestionError(_no_text_message(document))
        text = cleaned[0].content or ""
        new_hash = content_hash(text)
        unchanged = (
            not force
            and document.content_hash == new_hash
            and document.embedding_model == model_id
            and output["embedder"]["embedded"] == 0
            and document.chunk_count == len(chunks)
            and _chunks_in_place(document=document, chunks=chunks)
        )
        if unchanged:
            SourceDocument.objects.filter(pk=document.pk).update(status=SourceDocument.Status.READY)
            _announce_indexed(document_id=document.pk)
            return IngestResult(
                document_id=document.pk,
                status=SourceDocument.Status.READY,
                chunks=len(chunks),
                reused=len(chunks),
                unchanged=True,
                seconds=time.perf_counter() - started,
            )
        _swap_chunks(document=document, chunks=chunks, text=text, text_hash=new_hash, model_id=model_id)
    except DocumentGone:
        logger.info("document %s was deleted while it was being indexed; stopped", document.pk)
        return IngestResult(document_id=document.pk, status="deleted", seconds=time.perf_counter() - started)
    except Exception as error:  # noqa: BLE001 - any failure must leave the old index and a readable status
        message = _readable_error(error)
        logger.warning("ingestion of document %s failed: %s", document.pk, message, exc_info=True)
        _mark_failed(document=document, message=message)
        return IngestResult(
            document_id=document.pk,
            status=SourceDocument.Status.FAILED,
            error=message,
            seconds=time.perf_counter() - started,
        )
    _announce_indexed(document_id=document.pk)
    return IngestResult(
        document_id=document.pk,
        status=SourceDocument.Status.READY,
        chunks=len(chunks),
        embedded=output["embedder"]["embedded"],
        reused=output["embedder"]["reused"],
        seconds=time.perf_counter() - started,
    )


def _announce_indexed(*, document_id: int) -> None:
    # The document is indexed whatever a receiver does: its failure is logged, never the document's.
    for receiver, outcome in document_indexed.send_robust(sender=SourceDocument, document_id=document_id):
        if isinstance(outcome, Exception):
            logger.warning("%r failed after document %s was indexed: %s", receiver, document_id, outcome)


def _no_text_message(document: SourceDocument) -> str:
    if document.mime_type == "application/pdf":
        return (
            "No text could be extracted from this PDF. If it is scanned (pages as images), it needs OCR first; "
            "otherwise check that the file opens and contains text."
        )
    if document.file_name:
        return (
            f"No text could be extracted from {document.file_name}: it holds no paragraphs (only headings or "
            "markup), or does not open as text."
        )
    return "No text could be extracted: the pasted text holds no paragraphs, only headings or markup."


def _chunks_in_place(*, document: SourceDocument, chunks: list) -> bool:
    """Whether the stored chunks already have the new ones' sections and anchors: a site's settings (its
    generator, its heading ids) change the anchors of chunks whose text stays the same."""
    stored = Chunk.objects.filter(document=document).order_by("position").values("section", "anchor")
    return list(stored) == [_place(chunk) for chunk in chunks]


def _place(chunk: Document) -> dict[str, str]:
    """The chunk's section and anchor, as stored."""
    return {"section": chunk.meta.get("section", "")[:1000], "anchor": chunk.meta.get("anchor", "")[:300]}


def _swap_chunks(*, document: SourceDocument, chunks: list, text: str, text_hash: str, model_id: str) -> None:
    rows = [
        Chunk(
            document_id=document.pk,
            position=position,
            text=chunk.content,
            **_place(chunk),
            start_char=chunk.meta["start_char"],
            end_char=chunk.meta["end_char"],
            content_hash=chunk.meta["content_hash"],
            embedding=chunk.embedding,
        )
        for position, chunk in enumerate(chunks)
    ]
    with transaction.atomic():
        # Serialises concurrent rebuilds of one document; readers keep seeing the old chunks until commit.
        locked = SourceDocument.objects.select_for_update().get(pk=document.pk)
        Chunk.objects.filter(document=locked).delete()
        Chunk.objects.bulk_create(rows, batch_size=500)
        now = timezone.now()
        SourceDocument.objects.filter(pk=document.pk).update(
            status=SourceDocument.Status.READY,
            error="",
            extracted_text=text,
            content_hash=text_hash,
            chunk_count=len(rows),
            embedding_model=model_id,
            indexed_at=now,
            updated_at=now,
        )
    document.refresh_from_db()


def _mark_failed(*, document: SourceDocument, message: str) -> None:
    try:
        SourceDocument.objects.filter(pk=document.pk).update(
            status=SourceDocument.Status.FAILED, error=message, updated_at=timezone.now()
        )
        document.status, document.error = SourceDocument.Status.FAILED, message
    except DatabaseError:
        logger.exception("could not record the failure of document %s", document.pk)


def _readable_error(error: Exception) -> str:
    if isinstance(error, (IngestionError, SourceRejected, ConversionFailed)):
        return str(error)
    if isinstance(error, DatabaseError) and "expected" in str(error) and "dimensions" in str(error):
        return "The embedding model changed since the index was built. Run `python manage.py reindex`."
    cause = getattr(error, "__cause__", None) or error
    return f"Indexing failed ({type(cause).__name__}: {str(cause)[:300]}). Fix the source and re-index it."


def document_delete(*, document: SourceDocument) -> None:
    """Delete a document and its chunks."""
    document.delete()


def vector_column_dimensions() -> int | None:
    """The dimension of the chunk embedding column in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
            [Chunk._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] > 0 else None


def vector_index_resize(*, dimensions: int) -> bool:
    """Resize the embedding column for a new model (drops all chunks); return whether anything changed."""
    if vector_column_dimensions() == dimensions:
        return False
    table = Chunk._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks would block the ALTER; run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw")
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dimensions)})")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute(
            f"CREATE INDEX chunk_embedding_hnsw ON {table} USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64)"
        )
        SourceDocument.objects.update(chunk_count=0, content_hash="", status=SourceDocument.Status.PENDING)
    return True


def document_upsert_from_file(
    *,
    source_key: str,
    title: str,
    file_name: str,
    data: bytes,
    reference: str = "",
    url_style: str = UrlStyle.PLAIN,
    markdown_format: str = "",
    heading_ids: dict | None = None,
    metadata: dict | None = None,
    legacy_key: str | None = None,
) -> tuple[SourceDocument, bool]:
    """Create or update the document loaded from ``source_key``; return it and whether anything changed.

    A document stored under ``legacy_key`` (the key scheme before keys were unique per tree) is adopted, so
    existing deployments keep their documents and vectors.
    """
    # What the file's plan decides about the document: stored as given, and a change to any of it re-indexes.
    planned = {
        "title": title,
        "reference": reference_check(reference=reference),
        "url_style": url_style,
        "markdown_format": markdown_format,
        "heading_ids": heading_ids or {},
        "metadata": metadata or {},
    }
    document = SourceDocument.objects.filter(source_key=source_key).first()
    if document is None and legacy_key:
        document = SourceDocument.objects.filter(source_key=legacy_key).first()
        if document is not None:
            SourceDocument.objects.filter(pk=document.pk).update(source_key=source_key)
            document.source_key = source_key
    if document is None:
        document = SourceDocument(source_key=source_key, **planned)
        document_set_source(document=document, file_name=file_name, file_data=data)
        document.save()
        return document, True
    probe = SourceDocument()
    document_set_source(document=probe, file_name=file_name, file_data=data)
    changed = (
        bytes(document.file_data or b"") != probe.file_data
        or document.file_name != file_name
        or any(getattr(document, name) != value for name, value in planned.items())
    )
    if changed:
        for name, value in planned.items():
            setattr(document, name, value)
        document.file_name, document.file_data, document.mime_type = probe.file_name, probe.file_data, probe.mime_type
        document.text = ""
        document.save()
    return document, changed


def book_file_upsert(*, file: BookFile, source_key: str | None = None) -> tuple[SourceDocument, bool]:
    """Create or update the document of one planned book file (stored under ``source_key`` when given, else
    the file's own key); return it and whether anything changed. Raises SourceRejected."""
    return document_upsert_from_file(
        source_key=source_key or file.key,
        legacy_key=None if source_key else file.legacy_key,
        title=file.title,
        file_name=file.file_name,
        data=file.read(),
        reference=file.reference,
        url_style=file.url_style,
        markdown_format=file.markdown_format,
        heading_ids=file.heading_ids,
        metadata=file.metadata,
    )


BOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class BookImport:
    """What importing a book archive did: documents queued for indexing, left as they were, refused (with the
    reason), skipped by the site's rules, and removed because their page is gone from the book."""

    name: str
    style: str
    queued: int
    unchanged: int
    failed: tuple[str, ...] = ()
    skipped: str = ""
    removed: tuple[str, ...] = ()


@contextlib.contextmanager
def _unpacking_folder(*, file_name: str) -> Iterator[str]:
    """A temporary folder for an archive's files, removed afterwards; ArchiveRejected when none can be made."""
    try:
        temporary = tempfile.TemporaryDirectory(prefix="book-")
    except OSError as error:
        raise unpacking_failed(file_name=file_name, error=error) from error
    with temporary as path:
        yield path


def _book_lock(name: str) -> int:
    """The advisory lock key of a book's imports (a signed 64-bit number from its name)."""
    return int.from_bytes(hashlib.blake2b(f"book-import:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def book_import(*, name: str, archive: IO[bytes], file_name: str, site_url: str = "", prune: bool = True) -> BookImport:
    """Load a book uploaded as a .zip archive, as ``ingest`` loads a folder, and queue what changed for indexing.

    Importing under the same ``name`` again updates that book: unchanged pages keep their chunks, and with
    ``prune`` the pages gone from the archive are removed. A refused archive (ArchiveRejected) changes nothing;
    a refused page is reported and keeps its current document. The documents change in one transaction.
    """
    if not BOOK_NAME.match(name):
        raise ArchiveRejected(
            f"“{name}” cannot name a book: use letters, digits, '.', '-' and '_' (up to 100, starting with a "
            "letter or digit)."
        )
    archive.seek(0, os.SEEK_END)
    archive_check_size(file_name=file_name, size=archive.tell())
    archive.seek(0)
    with _unpacking_folder(file_name=file_name) as temporary:
        destination = Path(temporary) / name
        destination.mkdir()
        root = archive_unpack(
            archive=archive, file_name=file_name, destination=destination, limits=ArchiveLimits.from_settings()
        )
        scan = scan_book([str(root)], site_url=site_url)
        if not scan.loadable:
            raise ArchiveRejected(f"“{file_name}” holds no pages to load ({scan.skipped_summary() or 'no files'}).")
        # Keyed by the path in the book's folder (../docs/intro.md for docs beside a Docusaurus site's folder).
        paths = {file.key: relative_path(file.path, start=root).as_posix() for file in scan.files}
        queued = unchanged = 0
        failed: list[str] = []
        # Two imports of one book at once take turns: each sees the other's documents, never a half-written set.
        with locked_transaction(key=_book_lock(name)):
            for file in scan.loadable:
                relative = paths[file.key]
                try:
                    document, changed = book_file_upsert(file=file, source_key=book_key(name=name, path=relative))
                except SourceRejected as error:
                    failed.append(f"{relative}: {error}")
                    continue
                if changed or document.status == SourceDocument.Status.FAILED:
                    document_schedule_ingest(document=document)
                    queued += 1
                else:
                    unchanged += 1
            # A page the book no longer publishes (now a draft, say) goes as a deleted one does; a refused one stays.
            keep = {book_key(name=name, path=paths[file.key]) for file in scan.loadable}
            gone = documents_prune(keep_keys=keep, under=[book_key(name=name, path="")]) if prune else []
    return BookImport(
        name=name,
        style=scan.style,
        queued=queued,
        unchanged=unchanged,
        failed=tuple(failed),
        skipped=scan.skipped_summary(),
        removed=tuple(document.title for document in gone),
    )


def documents_prune(*, keep_keys: set[str], under: list[str], dry_run: bool = False) -> list[SourceDocument]:
    """Delete (unless ``dry_run``) the documents loaded from a path under ``under`` that is not in
    ``keep_keys``: their files are gone from the book. Returns them."""
    gone = [
        document
        for prefix in under
        for document in SourceDocument.objects.filter(source_key__startswith=prefix.rstrip("/") + "/").order_by("id")
        if document.source_key not in keep_keys
    ]
    if not dry_run:
        for document in gone:
            document_delete(document=document)
    return gone


INGEST_TASK_PATH = "knowledge.tasks.ingest_document"


def _ingest_tasks() -> Any:
    from django_tasks_db.models import DBTaskResult  # noqa: PLC0415 - the database task backend's own table

    return DBTaskResult.objects.filter(task_path=INGEST_TASK_PATH)


def documents_resume_interrupted(*, pending: bool = True) -> list[int]:
    """Queue again the documents a stopped or killed worker left pending or indexing (``pending=False``: only
    indexing, for a worker that checks while other processes may be queueing documents); return their ids.

    A document that already has an ingestion task waiting or running is left to it. Old chunks were never
    touched (the swap happens only at the end), so search keeps serving them.
    """
    waiting = _ingest_tasks().filter(status__in=["READY", "RUNNING"]).values_list("args_kwargs", flat=True)
    busy = {(call.get("kwargs") or {}).get("document_id") for call in waiting}
    interrupted = [
        document
        for document in SourceDocument.objects.filter(
            status__in=[SourceDocument.Status.INDEXING, *([SourceDocument.Status.PENDING] if pending else [])]
        ).order_by("id")
        if document.pk not in busy
    ]
    for document in interrupted:
        document_schedule_ingest(document=document)
    return [document.pk for document in interrupted]


def worker_stale_after() -> timedelta:
    """How long without a heartbeat before a worker counts as stopped (KNOWLEDGE_WORKER_STALE_SECONDS)."""
    return timedelta(seconds=settings.KNOWLEDGE_WORKER_STALE_SECONDS)


def worker_heartbeat(*, worker_id: str, state: str, started_at: datetime) -> None:
    """Record that this ingestion worker is alive, and what it is doing."""
    IngestionWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "state": state[:100],
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )


def ingest_tasks_release(*, worker_id: str | None = None) -> int:
    """Mark failed the ingestion tasks left RUNNING by a worker that stopped: ``worker_id``'s (it knows it runs
    none), or any whose workers have not reported for KNOWLEDGE_WORKER_STALE_SECONDS. Their documents stay
    "indexing" and documents_resume_interrupted() queues them again. Returns how many were released."""
    alive = set(
        IngestionWorker.objects.filter(last_seen__gte=timezone.now() - worker_stale_after()).values_list(
            "worker_id", flat=True
        )
    )
    released = 0
    for task in _ingest_tasks().filter(status="RUNNING"):
        owners = set(task.worker_ids or [])
        if (worker_id is not None and worker_id in owners) or not owners & alive:
            task.set_failed(WorkerStopped("The ingestion worker stopped while running this task."))
            released += 1
    return released


# Serialises recovery across worker processes, so two never queue the same document again: any fixed 64-bit key.
_RECOVERY_LOCK = 5_121_330_917


def ingest_recover(*, worker_id: str | None = None, pending: bool = True) -> tuple[int, list[int]]:
    """Release the tasks of stopped workers (and ``worker_id``'s own) and queue their documents again, one worker
    at a time; with ``pending``, documents left pending too (a worker starting). Returns (released, re-queued)."""
    with locked_transaction(key=_RECOVERY_LOCK):
        released = ingest_tasks_release(worker_id=worker_id)
        resumed = documents_resume_interrupted(pending=pending) if released or pending else []
    return released, resumed


class WorkerStopped(RuntimeError):
    """The worker running a task went away (killed, or the database failed under it)."""
