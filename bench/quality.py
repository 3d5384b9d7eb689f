"""Retrieval and answer quality on SQuAD: ours against what users would build instead, in the same run.

Systems (same embedder everywhere; the same chunks where the baseline allows it):
  1. BM25 only: textbook BM25 (k1 1.2, b 0.75) over Postgres full text, over our chunks.
  2. Dense only: pgvector over our chunks.
  3. Haystack starter: InMemoryDocumentStore, DocumentSplitter defaults, SentenceTransformers embedders,
     InMemoryEmbeddingRetriever (the tutorial pipeline).
  4. pgvector-haystack: PgvectorDocumentStore (HNSW) with its embedding and keyword retrievers fused by
     DocumentJoiner reciprocal rank fusion, over our chunks and vectors.
  5. Ours: the chat retrieval pipeline (pgvector and BM25 fused as the settings say, dedup).
Every system's top 5 go through the same offline extractive answerer. Baselines keep their defaults; nothing is
tuned per baseline or per file.

Every article of the file is ingested and questions are sampled from all of them. Besides the table over all
questions, the retrieval measures are given per article fold (the folds bench/tune.py uses): their mean and
spread. Our defaults were chosen by cross-validation on SQuAD half A (bench/tune.py); run this on another
SQuAD-format file to see them on data they never saw.

    TORCH_NUM_THREADS=2 .venv/bin/python bench/quality.py [--squad FILE] [--limit 300] [--seed 11] [--folds 6]
"""

import argparse
import time
from pathlib import Path

from _setup import SQUAD, mean_sd, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squad", type=Path, default=SQUAD, help="a SQuAD-format JSON file")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--folds", type=int, default=6)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import Secret
    from haystack_integrations.components.retrievers.pgvector import (
        PgvectorEmbeddingRetriever,
        PgvectorKeywordRetriever,
    )
    from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore
    from psycopg.conninfo import make_conninfo
    from tqdm import tqdm

    from chat.engine import get_chat_engine
    from chat.evaluation import (
        _answer_sentences,
        article_folds,
        contains_gold,
        ingest_articles,
        load_questions,
        rank_measures,
        sample,
        token_f1,
    )
    from chat.extractive import ExtractiveAnswerer
    from chat.pipeline import stage_timings
    from chat.retrieval import hit_to_document
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import build_embedders, shared_document_embedder, shared_text_embedder, warm_up
    from knowledge.models import Chunk
    from knowledge.ranking import Bm25, rank_one_side
    from knowledge.selectors import chunk_candidates

    articles, questions = load_questions(args.squad)
    questions = sample(questions, limit=args.limit, seed=args.seed)
    folds = article_folds([article.title for article in articles], folds=args.folds, seed=args.seed)
    fold_of = {title: index for index, fold in enumerate(folds) for title in fold}
    embed = shared_text_embedder()
    answerer = ExtractiveAnswerer(sentence_embedder=shared_document_embedder(batch_size=4))

    with isolated_database(suffix="bench_quality"):
        started = time.perf_counter()
        ingest_articles(articles, progress=lambda x: tqdm(x, desc="ours: ingest"))
        print(f"ours: {Chunk.objects.count()} chunks in {time.perf_counter() - started:.0f}s")

        # 3. The Haystack starter pipeline.
        starter_store = InMemoryDocumentStore()
        splitter = DocumentSplitter()
        starter_embedder = warm_up(build_embedders()[0])
        starter_embedder.meta_fields_to_embed = []
        starter_docs = splitter.run(documents=[Document(content=a.text, meta={"title": a.title}) for a in articles])
        starter_store.write_documents(starter_embedder.run(documents=starter_docs["documents"])["documents"])
        starter = InMemoryEmbeddingRetriever(document_store=starter_store, top_k=10)
        print(f"haystack starter: {starter_store.count_documents()} chunks")

        # 4. pgvector-haystack over our chunks and vectors.
        params = connection.get_connection_params()
        conninfo = make_conninfo(
            **{k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}
        )
        pg_store = PgvectorDocumentStore(
            connection_string=Secret.from_token(conninfo),
            embedding_dimension=384,
            search_strategy="hnsw",
            recreate_table=True,
            table_name="haystack_baseline",
        )
        pg_store.write_documents(
            [
                Document(
                    id=str(c.id),
                    content=c.text,
                    embedding=list(map(float, c.embedding)),
                    meta={"title": c.document.title, "section": c.section},
                )
                for c in Chunk.objects.select_related("document")
            ]
        )
        pg_pipeline = Pipeline()
        pg_pipeline.add_component("dense", PgvectorEmbeddingRetriever(document_store=pg_store, top_k=10))
        pg_pipeline.add_component("keyword", PgvectorKeywordRetriever(document_store=pg_store, top_k=10))
        pg_pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=10))
        pg_pipeline.connect("dense", "joiner")
        pg_pipeline.connect("keyword", "joiner")

        ours = get_chat_engine().pipelines.retrieval

        def run_ours(question: str):
            with stage_timings():
                out = ours.run(
                    {"rewriter": {"message": question, "history": []}, "retriever": {"top_k": 10}},
                    include_outputs_from={"embedder"},
                )
            gated = out["retriever"]
            return gated.get("documents") or gated.get("no_answer") or [], out["embedder"]["embedding"]

        def one_side(question: str, side: str):
            vector = embed.run(text=question)["embedding"]
            # Textbook BM25 (k1 1.2, b 0.75) for the baseline: it keeps its defaults, as every baseline does.
            pool = chunk_candidates(query=question, embedding=vector, bm25=Bm25(k1=1.2, b=0.75))
            hits = rank_one_side(pool, side=side, top_k=10)
            return [hit_to_document(h) for h in hits], vector

        def run_bm25(question: str):
            return one_side(question, "sparse_rank")

        def run_dense(question: str):
            return one_side(question, "dense_rank")

        def run_starter(question: str):
            vector = embed.run(text=question)["embedding"]
            return starter.run(query_embedding=vector)["documents"], vector

        def run_pgvector_haystack(question: str):
            vector = embed.run(text=question)["embedding"]
            out = pg_pipeline.run({"dense": {"query_embedding": vector}, "keyword": {"query": question}})
            return out["joiner"]["documents"], vector

        systems = {
            "BM25 only (k1 1.2, b 0.75)": run_bm25,
            "dense only (pgvector)": run_dense,
            "Haystack starter (in-memory)": run_starter,
            "pgvector-haystack + RRF joiner": run_pgvector_haystack,
            "ours (hybrid chat retrieval)": run_ours,
        }
        results = {name: [] for name in systems}
        for question in tqdm(questions, desc="questions"):
            for name, run in systems.items():
                started = time.perf_counter()
                docs, vector = run(question.question)
                elapsed = (time.perf_counter() - started) * 1000
                rank = next(
                    (
                        i
                        for i, d in enumerate(docs[:10], 1)
                        if d.meta.get("title") == question.document and contains_gold(d.content or "", question.answers)
                    ),
                    None,
                )
                top = [d for d in docs[:5]]
                reply = answerer.run(question=question.question, documents=top, query_embedding=vector)
                text = reply["replies"][0].text or ""
                gold = contains_gold(text, question.answers)
                f1 = max((token_f1(s, g) for s in _answer_sentences(text) for g in question.answers), default=0.0)
                results[name].append((rank, gold, f1, elapsed))

    rows = []
    for name, values in results.items():
        n = len(values)
        ranks = [r for r, *_ in values]
        times = sorted(ms for *_, ms in values)
        rows.append(
            [
                name,
                f"{sum(r is not None and r <= 1 for r in ranks) / n:.3f}",
                f"{sum(r is not None and r <= 5 for r in ranks) / n:.3f}",
                f"{sum(r is not None and r <= 10 for r in ranks) / n:.3f}",
                f"{sum(1 / r for r in ranks if r) / n:.3f}",
                f"{sum(g for _, g, _, _ in values) / n:.3f}",
                f"{sum(f for _, _, f, _ in values) / n:.3f}",
                f"{times[n // 2]:.1f}",
            ]
        )
    print(f"\n{len(questions)} questions about {len(articles)} articles of {args.squad.name}, seed {args.seed}")
    print(table(["system", "hit@1", "hit@5", "hit@10", "MRR", "answer contains gold", "F1", "p50 ms"], rows))

    rows = []
    for name, values in results.items():
        by_fold = [
            rank_measures([r for q, (r, *_) in zip(questions, values, strict=True) if fold_of[q.document] == index])
            for index in range(len(folds))
        ]
        rows.append([name] + [mean_sd([fold[m] for fold in by_fold]) for m in ("hit@1", "hit@5", "mrr")])
    print(f"\nThe same questions by article fold ({len(folds)} folds): mean ± standard deviation across folds")
    print(table(["system", "hit@1", "hit@5", "MRR"], rows))


if __name__ == "__main__":
    main()
