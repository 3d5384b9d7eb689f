"""Follow-up questions: does the offline query rewrite retrieve better than the message alone?

Builds follow-ups from SQuAD: for two questions about the same paragraph, the second is made elliptical by
replacing the article's name with "it" ("When did Super Bowl 50 take place?" -> "When did it take place?").
The first question is the history. Retrieval hit@5 and MRR are compared for three query strategies.

    .venv/bin/python bench/followup.py [--articles 8] [--limit 300]
"""

import argparse
import random
import re

from _setup import SQUAD, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup()
    import json

    from haystack.dataclasses import ChatMessage
    from tqdm import tqdm

    from chat.evaluation import Article, contains_gold, ingest_articles
    from chat.rewriting import QueryRewriter
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_text_embedder
    from knowledge.selectors import chunk_search

    data = json.loads(SQUAD.read_text())["data"][: args.articles]
    articles, pairs = [], []
    for article in data:
        title = article["title"].replace("_", " ")
        name = re.compile(re.escape(title), re.IGNORECASE)
        articles.append(Article(title=title, text="\n\n".join(p["context"] for p in article["paragraphs"])))
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"]
            for first, second in zip(qas, qas[1:], strict=False):
                # The first question names the subject; the follow-up refers to it as "it".
                if name.search(second["question"]) and name.search(first["question"]):
                    elliptical = name.sub("it", second["question"])
                    gold = [a["text"] for a in second["answers"]]
                    pairs.append((title, first["question"], elliptical, gold))
    pairs = random.Random(args.seed).sample(pairs, min(args.limit, len(pairs)))
    strategies = {
        "message alone": lambda history, message: message,
        "always prepend previous question": lambda history, message: f"{history} {message}",
        "ours (QueryRewriter)": lambda history, message: QueryRewriter().run(
            message=message, history=[ChatMessage.from_user(history)]
        )["query"],
    }
    embedder = shared_text_embedder()
    scores = {name: [] for name in strategies}
    with isolated_database(suffix="bench_followup"):
        ingest_articles(articles)
        for title, history, message, gold in tqdm(pairs, desc="follow-ups"):
            for name, strategy in strategies.items():
                query = strategy(history, message)
                hits = chunk_search(query=query, embedding=embedder.run(text=query)["embedding"], top_k=10)
                rank = next(
                    (i for i, h in enumerate(hits, 1) if h.document_title == title and contains_gold(h.text, gold)),
                    None,
                )
                scores[name].append(rank)
    rows = []
    baseline = None
    for name, ranks in scores.items():
        hit5 = sum(r is not None and r <= 5 for r in ranks) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        baseline = baseline or hit5
        rows.append([name, len(ranks), f"{hit5:.3f}", f"{mrr:.3f}", f"{hit5 / baseline:.2f}"])
    print(table(["strategy", "follow-ups", "hit@5", "MRR", "hit@5 vs alone"], rows))


if __name__ == "__main__":
    main()
