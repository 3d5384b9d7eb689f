"""Queue again the documents an interrupted worker left pending or indexing (run before starting the worker)."""

from django.core.management.base import BaseCommand

from knowledge.services import documents_resume_interrupted


class Command(BaseCommand):
    help = "Re-queue documents left pending or indexing by a stopped or killed ingestion worker."

    def handle(self, *args, **options) -> None:
        resumed = documents_resume_interrupted()
        self.stdout.write(f"Re-queued {len(resumed)} interrupted document(s) for indexing.")
