"""Bulk-load files and folders into the knowledge base, with a progress bar and a summary."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from knowledge.loading import find_source_files, title_for
from knowledge.selectors import documents_needing_reindex
from knowledge.services import document_ingest, document_upsert_from_file
from knowledge.sources import SourceRejected


class Command(BaseCommand):
    help = "Load .txt, .md, .html and .pdf files (or folders of them) and index them. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="Files or folders to load.")
        parser.add_argument(
            "--reference-base",
            default="",
            help="Prefix for citation references, e.g. https://example.org/book/ (default: the relative path).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, paths: list[str], reference_base: str, no_progress: bool, **options) -> None:
        try:
            files = find_source_files(paths)
        except FileNotFoundError as error:
            raise CommandError(str(error)) from error
        if not files:
            raise CommandError("No .txt, .md, .html or .pdf files found in the given paths.")
        started = time.perf_counter()
        counts = {"new or changed": 0, "unchanged": 0, "failed": 0}
        chunks = embedded = 0
        bar = tqdm(files, unit="doc", disable=no_progress, desc="Ingesting")
        for path, key in bar:
            bar.set_postfix_str(key[-40:])
            data = path.read_bytes()
            try:
                document, _ = document_upsert_from_file(
                    source_key=key,
                    title=title_for(path, data),
                    file_name=path.name,
                    data=data,
                    reference=f"{reference_base}{key}" if reference_base else key,
                )
            except SourceRejected as error:
                counts["failed"] += 1
                tqdm.write(self.style.ERROR(f"{key}: {error}"))
                continue
            result = document_ingest(document=document)
            if result.error:
                counts["failed"] += 1
                tqdm.write(self.style.ERROR(f"{key}: {result.error}"))
                continue
            counts["unchanged" if result.unchanged else "new or changed"] += 1
            chunks += result.chunks
            embedded += result.embedded
        seconds = time.perf_counter() - started
        summary = ", ".join(f"{value} {name}" for name, value in counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(files)} documents ({summary}); {chunks} chunks, {embedded} embedded; "
                f"{seconds:.1f} s; {embedded / seconds if seconds else 0:.1f} embedded chunks/s"
            )
        )
        stale = documents_needing_reindex().count()
        if stale:
            self.stdout.write(
                self.style.WARNING(f"{stale} document(s) use another embedding model: run `manage.py reindex`.")
            )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) failed; see the messages above.")
