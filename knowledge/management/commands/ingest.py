"""Bulk-load a book (files and folders) into the knowledge base, with a progress bar and a summary."""

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from knowledge.loading import BookScan, scan_book
from knowledge.selectors import documents_needing_reindex
from knowledge.services import book_file_upsert, document_ingest, documents_prune
from knowledge.slugs import STYLES
from knowledge.sources import SUPPORTED_EXTENSIONS, SourceRejected

# Skipped files listed by name for each reason; the rest are counted.
SKIPPED_SHOWN = 10


class Command(BaseCommand):
    help = (
        f"Load {SUPPORTED_EXTENSIONS} files (or folders of them, such as a Docusaurus or MkDocs book) and index "
        "them. Safe to run again: unchanged files embed nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="Files or folders to load.")
        parser.add_argument(
            "--site",
            choices=["auto", *STYLES],
            default="auto",
            help="Which site generator builds the book, for citation links and section anchors. auto (default) "
            "finds docusaurus.config.* or mkdocs.yml in the folder or its parent; plain keeps file paths.",
        )
        parser.add_argument(
            "--site-url",
            default="",
            help="Where the book is published, e.g. https://book.example.org/ (default: the site_url of mkdocs.yml, "
            "or url + baseUrl of docusaurus.config.*).",
        )
        parser.add_argument(
            "--docs-route",
            default=None,
            help="Docusaurus docs route base (default: the docs routeBasePath of docusaurus.config.*, else docs).",
        )
        parser.add_argument(
            "--reference-base",
            default="",
            help="plain sites: prefix for citation references, e.g. https://example.org/book/ (default: the path).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Remove documents whose file is gone from the given folders, or that the site no longer publishes.",
        )
        parser.add_argument("--dry-run", action="store_true", help="With --prune: only list what would be removed.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, paths: list[str], no_progress: bool, prune: bool, dry_run: bool, **options) -> None:
        try:
            scan = scan_book(
                paths,
                site=options["site"],
                site_url=options["site_url"],
                docs_route=options["docs_route"],
                reference_base=options["reference_base"],
            )
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        if prune:
            self._prune(scan, dry_run=dry_run)
            if dry_run:
                return
        if not scan.loadable:
            summary = scan.skipped_summary()
            if summary:
                self.stdout.write(self.style.WARNING(f"Nothing to load ({summary})."))
                return
            raise CommandError(f"No {SUPPORTED_EXTENSIONS} files found in the given paths.")
        self._load(scan, no_progress=no_progress)

    def _load(self, scan: BookScan, *, no_progress: bool) -> None:
        started = time.perf_counter()
        counts = {"new or changed": 0, "unchanged": 0, "failed": 0}
        chunks = embedded = 0
        shown: Counter = Counter()
        for file in scan.files:
            if file.skip:
                # A few files per reason: a versioned site skips thousands for one reason.
                shown[file.skip] += 1
                if shown[file.skip] <= SKIPPED_SHOWN:
                    self.stdout.write(f"skipped {file.key}: {file.skip}")
        for reason, count in shown.items():
            if count > SKIPPED_SHOWN:
                self.stdout.write(f"skipped {count - SKIPPED_SHOWN} more: {reason}")
        bar = tqdm(scan.loadable, unit="doc", disable=no_progress, desc="Ingesting")
        for file in bar:
            bar.set_postfix_str(file.legacy_key[-40:])
            try:
                document, _ = book_file_upsert(file=file)
            except SourceRejected as error:
                counts["failed"] += 1
                tqdm.write(self.style.ERROR(f"{file.legacy_key}: {error}"))
                continue
            result = document_ingest(document=document)
            if result.error:
                counts["failed"] += 1
                tqdm.write(self.style.ERROR(f"{file.legacy_key}: {result.error}"))
                continue
            counts["unchanged" if result.unchanged else "new or changed"] += 1
            chunks += result.chunks
            embedded += result.embedded
        seconds = time.perf_counter() - started
        summary = ", ".join(f"{value} {name}" for name, value in counts.items())
        skipped = scan.skipped_summary()
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(scan.loadable)} documents ({summary}){'; ' + skipped if skipped else ''}; "
                f"{chunks} chunks, {embedded} embedded; {seconds:.1f} s; "
                f"{embedded / seconds if seconds else 0:.1f} embedded chunks/s; links: {scan.style}"
            )
        )
        stale = documents_needing_reindex().count()
        if stale:
            self.stdout.write(
                self.style.WARNING(f"{stale} document(s) use another embedding model: run `manage.py reindex`.")
            )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) failed; see the messages above.")

    def _prune(self, scan: BookScan, *, dry_run: bool) -> None:
        # A page the site no longer publishes (now a draft, or excluded) goes too: no answer should cite it.
        published = {file.key for file in scan.loadable}
        gone = documents_prune(keep_keys=published, under=scan.roots, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for document in gone:
            self.stdout.write(
                f"{verb} “{document.title}” ({document.source_key}): its file is gone or no longer published"
            )
        self.stdout.write(f"{len(gone)} document(s) {verb}.")
