"""Ingestion throughput against the raw embedder on the same chunks, measured in the same run.

Inputs: the demo docs (docs/guide) through `manage.py ingest`, and the 24 SQuAD articles (one document each)
through the ingestion service, each without and then with the offline answerer's piece vectors
(CHAT_QUOTE_VECTORS, on by default offline). Runs in a throwaway database.

    TORCH_NUM_THREADS=2 .venv/bin/python bench/ingestion.py
"""

import io
import time

from _setup import ROOT, SQUAD, setup, table


def raw_embed_seconds(chunks: list[tuple[str, str]]) -> float:
    """Seconds the embedder alone needs for these (context, text) chunks, in the same batches."""
    from haystack import Document

    from knowledge.embedders import CONTEXT_META_FIELD, shared_document_embedder

    embedder = shared_document_embedder()
    documents = [Document(content=text, meta={CONTEXT_META_FIELD: context}) for context, text in chunks]
    started = time.perf_counter()
    embedder.run(documents=documents)
    return time.perf_counter() - started


def chunks_of(titles: set[str] | None = None) -> list[tuple[str, str]]:
    from knowledge.ingestion import chunk_context
    from knowledge.models import Chunk

    rows = Chunk.objects.select_related("document").order_by("document_id", "position")
    return [(chunk_context(title=c.document.title, section=c.section), c.text) for c in rows]


def main() -> None:
    setup()
    from django.conf import settings
    from django.core.management import call_command

    from chat.evaluation import ingest_articles, load_questions
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_document_embedder
    from knowledge.models import Chunk, SourceDocument

    shared_document_embedder().run(documents=[])  # load the model before timing
    rows = []
    articles, _ = load_questions(SQUAD)
    with isolated_database(suffix="bench_ingest"):
        # Warm-up, untimed: the first ingestion of a process pays for the models' first runs.
        call_command("ingest", str(ROOT / "docs" / "guide"), "--no-progress", stdout=io.StringIO())
        # Each input twice: without the offline answerer's piece vectors (chat.quote_services), then with them
        # (the default offline): what storing them adds to ingestion.
        for quote_vectors in (False, True):
            settings.CHAT_QUOTE_VECTORS = quote_vectors
            label = " + quote vectors" if quote_vectors else ""
            SourceDocument.objects.all().delete()
            started = time.perf_counter()
            call_command("ingest", str(ROOT / "docs" / "guide"), "--no-progress", stdout=io.StringIO())
            seconds = time.perf_counter() - started
            chunks = chunks_of()
            raw = raw_embed_seconds(chunks)
            rows.append(
                [f"demo docs (ingest command){label}", SourceDocument.objects.count(), len(chunks), seconds, raw]
            )

            SourceDocument.objects.all().delete()
            started = time.perf_counter()
            ingest_articles(articles)
            seconds = time.perf_counter() - started
            chunks = chunks_of()
            raw = raw_embed_seconds(chunks)
            rows.append(
                [f"SQuAD, 24 articles{label}", SourceDocument.objects.count(), Chunk.objects.count(), seconds, raw]
            )
    print(f"torch threads: {settings.TORCH_NUM_THREADS}, batch size: {settings.EMBEDDING_BATCH_SIZE}")
    print(
        table(
            ["input", "docs", "chunks", "ingest s", "chunks/s", "raw embed chunks/s", "ours / raw"],
            [
                [name, docs, n, f"{s:.1f}", f"{n / s:.1f}", f"{n / r:.1f}", f"{(n / s) / (n / r):.2f}"]
                for name, docs, n, s, r in rows
            ],
        )
    )


if __name__ == "__main__":
    main()
