"""Retrieval at scale: hybrid retrieval latency, HNSW recall@10 against exact search, and index build time.

The 24 SQuAD articles are ingested for real; filler chunks bring the table to each size. A filler chunk reuses a
real chunk's embedding plus small Gaussian noise, renormalised, and a random 70% of that chunk's words, so vectors
and text keep a realistic distribution. Queries are 100 SQuAD questions. Hybrid timings follow one unmeasured
pass over the questions, so every plan mode compared (`--plan-modes`) meets the same warm caches.

    .venv/bin/python bench/scale.py                      # 10k and 100k chunks, a few minutes
    .venv/bin/python bench/scale.py --sizes 1000000      # the optional 1M run (long: see docs/benchmarks.md)
    .venv/bin/python bench/scale.py --plan-modes force_custom_plan,force_generic_plan,auto  # plan choices
"""

import argparse
import io
import random
import statistics
import time

import numpy as np
from _setup import SQUAD, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--ef-search", default="40,100")
    parser.add_argument("--maintenance-work-mem", default="512MB", help="memory for the HNSW build")
    parser.add_argument(
        "--plan-modes", default="auto", help="plan_cache_mode values to compare for the hybrid statement"
    )
    args = parser.parse_args()
    setup()
    from django.db import connection

    from chat.evaluation import ingest_articles, load_questions, sample
    from chat.retrieval import RetrievalConfig
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_text_embedder
    from knowledge.models import Chunk, SourceDocument
    from knowledge.selectors import chunk_search

    config = RetrievalConfig.from_settings()  # retrieval as chat runs it; ef_search varies
    options = {**config.candidate_options(), "fusion": config.fusion}

    sizes = [int(s) for s in args.sizes.split(",")]
    ef_values = [int(s) for s in args.ef_search.split(",")]
    plan_modes = args.plan_modes.split(",")
    if not set(plan_modes) <= {"auto", "force_custom_plan", "force_generic_plan"}:
        parser.error("--plan-modes takes auto, force_custom_plan and force_generic_plan")
    articles, questions = load_questions(SQUAD)
    questions = sample(questions, limit=args.queries, seed=5)
    embedder = shared_text_embedder()
    query_vectors = [embedder.run(text=q.question)["embedding"] for q in questions]
    rng = np.random.default_rng(7)
    rows = []
    with isolated_database(suffix="bench_scale"):
        ingest_articles(articles)
        base = list(Chunk.objects.values_list("text", "embedding", "section"))
        base_vectors = np.array([np.asarray(v, dtype=np.float32) for _, v, _ in base])
        real = len(base)
        filler_doc = SourceDocument.objects.create(
            title="Filler", text="-", status="ready", embedding_model=SourceDocument.objects.first().embedding_model
        )
        current = real
        for size in sizes:
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw")
            started = time.perf_counter()
            add = size - current
            batch = 20_000
            position = Chunk.objects.filter(document=filler_doc).count()
            while add > 0:
                n = min(batch, add)
                picks = rng.integers(0, real, n)
                vectors = base_vectors[picks] + rng.normal(0, args.noise, (n, base_vectors.shape[1])).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                buffer = io.StringIO()
                for i, (pick, vector) in enumerate(zip(picks, vectors, strict=True)):
                    words = base[pick][0].split()
                    kept = " ".join(w for w in words if random.random() < 0.7)
                    text = kept.replace("\\", " ").replace("\t", " ").replace("\n", " ")
                    literal = "[" + ",".join(f"{x:.6f}" for x in vector) + "]"
                    buffer.write(f"{filler_doc.id}\t{position + i}\t{text}\t\t\t0\t0\tfiller\t{literal}\n")
                buffer.seek(0)
                with (
                    connection.cursor() as cursor,
                    cursor.copy(
                        "COPY knowledge_chunk (document_id, position, text, section, anchor, start_char, end_char, "
                        "content_hash, embedding) FROM STDIN"
                    ) as copy,
                ):
                    copy.write(buffer.read())
                position += n
                add -= n
            load_seconds = time.perf_counter() - started
            current = size
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
                cursor.execute(
                    "CREATE INDEX chunk_embedding_hnsw ON knowledge_chunk USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = 16, ef_construction = 64)"
                )
            build_seconds = time.perf_counter() - started
            # What autovacuum does to a table after a bulk load (visibility map, hint bits, statistics), so the
            # timings are of a settled table, not of the first reads after the load.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE knowledge_chunk")

            exact = []
            with connection.cursor() as cursor:
                for vector in query_vectors:
                    cursor.execute("BEGIN")
                    cursor.execute("SET LOCAL enable_indexscan = off")
                    cursor.execute(
                        "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 10", [str(list(vector))]
                    )
                    exact.append({row[0] for row in cursor.fetchall()})
                    cursor.execute("COMMIT")
            for ef in ef_values:
                recalls, hnsw_ms = [], []
                with connection.cursor() as cursor:
                    for vector, truth in zip(query_vectors, exact, strict=True):
                        started = time.perf_counter()
                        cursor.execute("BEGIN")
                        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef)])
                        cursor.execute(
                            "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 10",
                            [str(list(vector))],
                        )
                        found = {row[0] for row in cursor.fetchall()}
                        cursor.execute("COMMIT")
                        hnsw_ms.append((time.perf_counter() - started) * 1000)
                        recalls.append(len(found & truth) / 10)
                for question, vector in zip(questions, query_vectors, strict=True):  # one unmeasured pass
                    chunk_search(query=question.question, embedding=vector, top_k=5, **{**options, "ef_search": ef})
                for mode in plan_modes:
                    hybrid_ms = []
                    with connection.cursor() as cursor:
                        # Session-wide: the retrieval statement sets only hnsw.ef_search for itself.
                        cursor.execute(f"SET plan_cache_mode = {mode}")
                    for question, vector in zip(questions, query_vectors, strict=True):
                        started = time.perf_counter()
                        chunk_search(query=question.question, embedding=vector, top_k=5, **{**options, "ef_search": ef})
                        hybrid_ms.append((time.perf_counter() - started) * 1000)
                    with connection.cursor() as cursor:
                        cursor.execute("RESET plan_cache_mode")
                    hybrid_ms.sort()
                    rows.append(
                        [
                            f"{size:,}",
                            ef,
                            mode,
                            f"{statistics.mean(recalls):.3f}",
                            f"{statistics.median(hnsw_ms):.1f}",
                            f"{hybrid_ms[len(hybrid_ms) // 2]:.1f}",
                            f"{hybrid_ms[int(len(hybrid_ms) * 0.95)]:.1f}",
                            f"{build_seconds:.1f}",
                            f"{load_seconds:.1f}",
                        ]
                    )
            print(
                table(
                    [
                        "chunks",
                        "ef_search",
                        "plan",
                        "recall@10 vs exact",
                        "HNSW p50 ms",
                        "hybrid p50 ms",
                        "hybrid p95 ms",
                        "index build s",
                        "load s",
                    ],
                    rows,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
