"""Signals other apps listen to; the knowledge app never imports them back."""

from django.dispatch import Signal

# Sent after a document's ingestion succeeds, with ``document_id``: its chunks are the ones now searchable, whether
# they were rebuilt or found unchanged. A receiver that raises is logged; the document is indexed either way.
document_indexed = Signal()
