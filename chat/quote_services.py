"""Writes of the offline answerer's stored vectors: every piece it may quote from a document, embedded when the
document is indexed instead of when a reader first asks about it."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from knowledge.embedders import document_embed_many, embedding_spec
from knowledge.models import Chunk

from .extractive import embedded_texts, quote_embedder
from .models import QuoteVector
from .selectors import quote_key

logger = logging.getLogger(__name__)

# Pieces embedded and stored together.
SLICE = 256


@dataclass(frozen=True)
class QuoteSync:
    """What a sync did to a document's stored vectors."""

    kept: int
    embedded: int
    removed: int


def quote_vectors_sync(*, document_id: int, embedder: Any | None = None) -> QuoteSync:
    """Store the vector of every piece the offline answerer may quote from a document's chunks: embed the new ones,
    keep those stored already (an unchanged text keeps its vector) and remove those its text no longer has."""
    model_id = embedding_spec().model_id
    wanted: dict[str, str] = {}
    chunks = Chunk.objects.filter(document_id=document_id).values_list("id", "section", "text", "document__title")
    for chunk_id, section, text, title in chunks.iterator(chunk_size=500):
        for piece in embedded_texts(title=title, section=section, chunk_id=chunk_id, text=text):
            wanted.setdefault(quote_key(text=piece, model_id=model_id), piece)
    stored = set(QuoteVector.objects.filter(document_id=document_id).values_list("key", flat=True))
    new = [key for key in wanted if key not in stored]
    stale = [key for key in stored if key not in wanted]
    embed_many = document_embed_many(embedder or quote_embedder())
    # A slice at a time: a document of 20,000 chunks has about 100,000 pieces, whose vectors would not all fit in
    # memory as the embedder returns them (Python floats). Each slice stands alone; a sync stopped halfway is
    # finished by the next one.
    for keys in _slices(new):
        vectors = embed_many([wanted[key] for key in keys])
        rows = [
            QuoteVector(document_id=document_id, key=key, embedding=vector)
            for key, vector in zip(keys, vectors, strict=True)
        ]
        # A sync racing this one for the same document may have stored some of them already.
        QuoteVector.objects.bulk_create(rows, ignore_conflicts=True)
    for keys in _slices(stale):
        QuoteVector.objects.filter(document_id=document_id, key__in=keys).delete()
    return QuoteSync(kept=len(wanted) - len(new), embedded=len(new), removed=len(stale))


def _slices(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), SLICE):
        yield keys[start : start + SLICE]


def on_document_indexed(*, document_id: int, **_: Any) -> None:
    """Receiver of ``knowledge.signals.document_indexed``: sync the document's stored vectors. A failure is logged
    and left to the answerer, which embeds what it does not find (and to the document's next indexing)."""
    if not settings.CHAT_QUOTE_VECTORS:
        return
    try:
        result = quote_vectors_sync(document_id=document_id)
    except Exception:  # noqa: BLE001 - the document is indexed and searchable either way
        logger.warning("could not store the quote vectors of document %s", document_id, exc_info=True)
        return
    logger.debug("quote vectors of document %s: %s", document_id, result)
