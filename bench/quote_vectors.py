"""The offline answerer's first answers: its pieces' vectors stored at ingestion, against embedding them as readers ask.

    .venv/bin/python bench/quote_vectors.py [--rounds 3]

Ingests the fixture book (tests/fixtures/weather-book: Markdown and MDX with tables, lists and code) and the demo
guide into a throwaway database, retrieves once for every question of both (the book's question set and
bench/_setup.GUIDE_QUESTIONS), then answers each question with two fresh offline answerers: one reads the vectors
stored at ingestion (the default), the other embeds what it has not seen, as every answer did before. Both start
with nothing in memory, so each answer is the first to quote its passages, as for a reader whose question nobody
asked before. Which answerer goes first alternates by question. The table gives the answer time (the `generate`
stage), the texts embedded while answering, and whether the answers are the same; then what storing costs at
ingestion.
"""

import argparse
import json
import statistics
import sys
import time

from _http import percentile
from _setup import GUIDE_QUESTIONS, ROOT, setup, table

BOOK = ROOT / "tests" / "fixtures" / "weather-book"
BOOK_QUESTIONS = ROOT / "tests" / "fixtures" / "weather-book-questions.json"


class CountingEmbedder:
    """The answerer's embedder, counting the texts it embeds."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.texts = 0

    def run(self, documents):
        self.texts += len(documents)
        return self.embedder.run(documents=documents)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="fresh answerer pairs, each asked every question")
    args = parser.parse_args()
    setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from chat.engine import get_chat_engine  # noqa: PLC0415
    from chat.extractive import ExtractiveAnswerer, quote_embedder  # noqa: PLC0415
    from chat.models import QuoteVector  # noqa: PLC0415
    from chat.quote_services import quote_vectors_sync  # noqa: PLC0415
    from chat.selectors import quote_vectors  # noqa: PLC0415
    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415
    from knowledge.models import Chunk, SourceDocument  # noqa: PLC0415

    book = json.loads(BOOK_QUESTIONS.read_text())
    questions = [q["question"] for q in book["questions"] if not q.get("selected_text")] + GUIDE_QUESTIONS
    with isolated_database(suffix="quote_vectors"):
        started = time.perf_counter()
        call_command("ingest", str(BOOK), "--site-url", book["site_url"], "--no-progress")
        call_command("ingest", str(ROOT / "docs" / "guide"), "--reference-base", "/docs/", "--no-progress")
        ingest_seconds = time.perf_counter() - started
        # What storing the vectors costs: the sync run again for every document from nothing.
        QuoteVector.objects.all().delete()
        started = time.perf_counter()
        synced = [quote_vectors_sync(document_id=pk) for pk in SourceDocument.objects.values_list("pk", flat=True)]
        sync_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_total_relation_size('chat_quotevector'), pg_total_relation_size('knowledge_chunk')"
            )
            quote_bytes, chunk_bytes = cursor.fetchone()
        chunks = Chunk.objects.count()

        engine = get_chat_engine()
        engine.warm_up()
        retrievals = [(q, engine.retrieve(message=q, history=[])) for q in questions]
        retrievals = [(q, r) for q, r in retrievals if r.documents]
        rows = {"stored": {"ms": [], "texts": 0}, "embedded as asked": {"ms": [], "texts": 0}}
        same = total = 0
        for _ in range(args.rounds):
            answerers = {
                "stored": ExtractiveAnswerer(
                    sentence_embedder=CountingEmbedder(quote_embedder()), stored_vectors=quote_vectors
                ),
                "embedded as asked": ExtractiveAnswerer(sentence_embedder=CountingEmbedder(quote_embedder())),
            }
            for index, (question, retrieval) in enumerate(retrievals):
                inputs = {
                    "question": question,
                    "documents": retrieval.documents,
                    "query_embedding": retrieval.embedding,
                }
                texts = {}
                for name in list(answerers)[:: 1 if index % 2 else -1]:
                    started = time.perf_counter()
                    texts[name] = answerers[name].run(**inputs)["replies"][0].text
                    rows[name]["ms"].append((time.perf_counter() - started) * 1000)
                same += texts["stored"] == texts["embedded as asked"]
                total += 1
            for name, answerer in answerers.items():
                rows[name]["texts"] += answerer.sentence_embedder.texts

    baseline = statistics.median(rows["embedded as asked"]["ms"])
    answers = len(retrievals) * args.rounds
    print(
        f"\n{len(retrievals)} questions with passages to answer from ({len(questions)} asked; fixture book and "
        f"demo guide: {len(synced)} documents, {chunks} chunks), {args.rounds} rounds of fresh answerers"
    )
    print(
        table(
            ["answerer", "answers", "p50 ms", "p95 ms", "p99 ms", "mean ms", "texts embedded per answer", "p50 ratio"],
            [
                [
                    name,
                    len(row["ms"]),
                    f"{statistics.median(row['ms']):.1f}",
                    f"{percentile(row['ms'], 95):.1f}",
                    f"{percentile(row['ms'], 99):.1f}",
                    f"{statistics.mean(row['ms']):.1f}",
                    f"{row['texts'] / answers:.2f}",
                    f"{statistics.median(row['ms']) / baseline:.2f}x",
                ]
                for name, row in rows.items()
            ],
        )
    )
    print(f"\nsame answer text from both: {same}/{total}")
    stored = sum(s.embedded for s in synced)
    print(
        f"storing at ingestion: {stored} pieces embedded in {sync_seconds:.1f} s for {len(synced)} documents "
        f"(the whole ingestion, which includes it: {ingest_seconds:.1f} s); "
        f"{quote_bytes / 1e6:.1f} MB stored beside {chunk_bytes / 1e6:.1f} MB of chunks"
    )


if __name__ == "__main__":
    sys.exit(main())
