"""Background tasks: ingestion runs in the worker, never in an admin request."""

from dataclasses import asdict

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import task

from .models import SourceDocument


@task()
def ingest_document(document_id: int) -> dict:
    """Ingest one document by id; a document deleted meanwhile is skipped."""
    from .services import document_ingest  # noqa: PLC0415

    document = SourceDocument.objects.filter(pk=document_id).first()
    if document is None:
        return {"document_id": document_id, "status": "deleted"}
    return asdict(document_ingest(document=document))
