"""Rebuild the whole index, for example after changing the embedding model."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from knowledge.embedders import embedding_spec
from knowledge.models import SourceDocument
from knowledge.services import document_ingest, vector_index_resize


class Command(BaseCommand):
    help = "Re-embed every document with the configured embedding model (resizing the vector column if needed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, no_progress: bool, **options) -> None:
        spec = embedding_spec()
        if vector_index_resize(dimensions=spec.dimensions):
            self.stdout.write(self.style.WARNING(f"Vector column resized to {spec.dimensions} dimensions."))
        started = time.perf_counter()
        failed = chunks = 0
        documents = list(SourceDocument.objects.order_by("id"))
        for document in tqdm(documents, unit="doc", disable=no_progress, desc="Re-indexing"):
            result = document_ingest(document=document, force=True)
            chunks += result.chunks
            if result.error:
                failed += 1
                tqdm.write(self.style.ERROR(f"{document.title}: {result.error}"))
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-indexed {len(documents)} documents with {spec.model_id}: {chunks} chunks in {seconds:.1f} s."
            )
        )
        if failed:
            raise CommandError(f"{failed} document(s) failed; see the messages above.")
