"""Follow-up questions: does the offline query rewrite retrieve and answer better than the message alone?

Builds conversations from SQuAD: consecutive questions about one paragraph that all name the article's subject;
every question after the first is made elliptical by replacing the name with "it" ("When did Super Bowl 50 take
place?" -> "When did it take place?"). The second question is asked after the first, the third after both.
Retrieval hit@5 and MRR are compared for three query strategies, and the offline answerer's answers (does the
answer contain the gold answer) for the message and for the standalone query it retrieved with.

    .venv/bin/python bench/followup.py [--articles 8] [--limit 300]
"""

import argparse
import random
import re

from _setup import SQUAD, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--limit", type=int, default=300, help="conversations per turn")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup()
    import json

    from haystack.dataclasses import ChatMessage
    from tqdm import tqdm

    from chat.evaluation import Article, contains_gold, ingest_articles
    from chat.extractive import ExtractiveAnswerer
    from chat.retrieval import hit_to_document
    from chat.rewriting import QueryRewriter
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_document_embedder, shared_text_embedder
    from knowledge.selectors import chunk_search

    data = json.loads(SQUAD.read_text())["data"][: args.articles]
    articles, turns = [], {2: [], 3: []}
    for article in data:
        title = article["title"].replace("_", " ")
        name = re.compile(re.escape(title), re.IGNORECASE)
        articles.append(Article(title=title, text="\n\n".join(p["context"] for p in article["paragraphs"])))
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"]
            for start in range(len(qas)):
                # The first question names the subject; each follow-up refers to it as "it".
                chain = qas[start : start + 3]
                if not all(name.search(qa["question"]) for qa in chain):
                    continue
                asked = [chain[0]["question"]] + [name.sub("it", qa["question"]) for qa in chain[1:]]
                for turn in (2, 3):
                    if len(chain) >= turn:
                        gold = [a["text"] for a in chain[turn - 1]["answers"]]
                        turns[turn].append((title, asked[: turn - 1], asked[turn - 1], gold))
    strategies = {
        "message alone": lambda history, message: message,
        "always prepend previous question": lambda history, message: f"{history[-1]} {message}",
        "ours (QueryRewriter)": lambda history, message: QueryRewriter().run(
            message=message, history=[ChatMessage.from_user(text) for text in history]
        )["query"],
    }
    embedder = shared_text_embedder()
    answerer = ExtractiveAnswerer(sentence_embedder=shared_document_embedder(batch_size=4))
    rows = []
    with isolated_database(suffix="bench_followup"):
        ingest_articles(articles)
        for turn, conversations in turns.items():
            sampled = random.Random(args.seed).sample(conversations, min(args.limit, len(conversations)))
            ranks = {name: [] for name in strategies}
            answered = {"message": [], "query": []}
            for title, history, message, gold in tqdm(sampled, desc=f"turn {turn}"):
                for name, strategy in strategies.items():
                    query = strategy(history, message)
                    vector = embedder.run(text=query)["embedding"]
                    hits = chunk_search(query=query, embedding=vector, top_k=10)
                    found = (
                        i for i, h in enumerate(hits, 1) if h.document_title == title and contains_gold(h.text, gold)
                    )
                    ranks[name].append(next(found, None))
                    if name.startswith("ours"):
                        top = [hit_to_document(h) for h in hits[:5]]
                        for asked, question in (("message", message), ("query", query)):
                            reply = answerer.run(question=question, documents=top, query_embedding=vector)
                            answered[asked].append(contains_gold(reply["replies"][0].text or "", gold))
            baseline = None
            for name, gold_ranks in ranks.items():
                hit5 = sum(r is not None and r <= 5 for r in gold_ranks) / len(gold_ranks)
                mrr = sum(1 / r for r in gold_ranks if r) / len(gold_ranks)
                baseline = baseline or hit5
                rows.append([turn, name, len(gold_ranks), f"{hit5:.3f}", f"{mrr:.3f}", f"{hit5 / baseline:.2f}", ""])
            for asked, correct in answered.items():
                label = "ours, answered from the " + ("message" if asked == "message" else "standalone query")
                rows.append([turn, label, len(correct), "", "", "", f"{sum(correct) / len(correct):.3f}"])
    headers = ["turn", "strategy", "follow-ups", "hit@5", "MRR", "hit@5 vs alone", "answer contains gold"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
