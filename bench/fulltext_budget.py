"""What ranking only the rarest question words' full-text matches does to retrieval quality.

On a big table `CHAT_FULLTEXT_BUDGET` (5000 chunks by default, 5% of 100k) limits full text to the matches of the
question's rarest words. The 24 SQuAD articles are far under the budget, so this sets the budget to a share of
their table instead and measures hybrid retrieval alone on questions about the 20 held-out articles.

    .venv/bin/python bench/fulltext_budget.py [--limit 1000] [--seed 11]
"""

import argparse

from _setup import SQUAD, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    setup()

    from chat.evaluation import contains_gold, ingest_articles, load_questions, sample
    from chat.retrieval import RetrievalConfig
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_text_embedder
    from knowledge.models import Chunk
    from knowledge.selectors import chunk_search

    articles, questions = load_questions(SQUAD)
    tuned = {a.title for a in articles[:4]}
    questions = sample([q for q in questions if q.document not in tuned], limit=args.limit, seed=args.seed)
    embedder = shared_text_embedder()
    vectors = [embedder.run(text=q.question)["embedding"] for q in questions]
    config = RetrievalConfig.from_settings()  # the fusion chat uses; the budget varies
    options = {**config.candidate_options(), "fusion": config.fusion}
    rows = []
    with isolated_database(suffix="bench_budget"):
        ingest_articles(articles)
        chunks = Chunk.objects.count()
        for share in (None, 0.2, 0.1, 0.05, 0.02, 0.01):
            budget = chunks * 10 if share is None else int(chunks * share)
            hits_at_5, reciprocal_ranks = 0, 0.0
            for question, vector in zip(questions, vectors, strict=True):
                hits = chunk_search(
                    query=question.question, embedding=vector, top_k=10, **{**options, "match_budget": budget}
                )
                for rank, hit in enumerate(hits, start=1):
                    if hit.document_title == question.document and contains_gold(hit.text, question.answers):
                        hits_at_5 += rank <= 5
                        reciprocal_ranks += 1 / rank
                        break
            rows.append(
                [
                    "off" if share is None else f"{share:.0%}",
                    budget,
                    f"{hits_at_5 / len(questions):.3f}",
                    f"{reciprocal_ranks / len(questions):.3f}",
                ]
            )
    print(f"{len(questions)} questions about 20 held-out articles, {chunks} chunks")
    print(table(["budget (share of the table)", "chunks", "hit@5", "MRR"], rows))


if __name__ == "__main__":
    main()
