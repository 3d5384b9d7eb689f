"""Measure retrieval and answer quality on a question set, in an isolated knowledge base."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from chat.evaluation import evaluate_question, ingest_articles, load_questions, sample, summarize
from chatbot_site.isolated_db import isolated_database

TABLE_ROWS = [
    ("hit@1", "retrieval: gold answer in the top chunk"),
    ("hit@5", "retrieval: gold answer in the top 5"),
    ("hit@10", "retrieval: gold answer in the top 10"),
    ("mrr", "retrieval: mean reciprocal rank"),
    ("answer_contains_gold", "answers containing a gold answer"),
    ("f1", "SQuAD token F1 of the best answer sentence"),
    ("citation_valid", "answered with a cited chunk holding the answer"),
    ("abstain_rate", "'not covered' on questions about absent articles"),
    ("false_abstain_rate", "'not covered' on answerable questions"),
    ("p50_ms", "latency p50 (ms)"),
    ("p95_ms", "latency p95 (ms)"),
]


class Command(BaseCommand):
    help = (
        "Evaluate the chatbot on a SQuAD-format JSON file (or JSONL of question/answers/document). The articles are "
        "ingested into a throwaway database, never the real knowledge base."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="SQuAD JSON (articles and questions) or JSONL (questions only).")
        parser.add_argument("--limit", type=int, default=None, help="Ask a seeded random sample of N questions.")
        parser.add_argument("--seed", type=int, default=0, help="Seed for --limit sampling.")
        parser.add_argument(
            "--unanswerable",
            type=Path,
            default=None,
            help="A SQuAD or JSONL file whose questions are NOT covered; they should come back no_answer.",
        )
        parser.add_argument("--articles", type=int, default=None, help="Use only the first N articles of FILE.")
        parser.add_argument("--json", action="store_true", help="End the output with one JSON line of the metrics.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bars.")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        articles, questions = load_questions(path)
        if options["articles"] is not None:
            articles = articles[: options["articles"]]
            kept = {a.title for a in articles}
            questions = [q for q in questions if q.document in kept]
        if not articles:
            raise CommandError("The file has no articles to ingest: give a SQuAD JSON file with `data[].paragraphs`.")
        questions = sample(questions, limit=options["limit"], seed=options["seed"])
        unanswerable = []
        if options["unanswerable"]:
            _, unanswerable = load_questions(options["unanswerable"])
            unanswerable = sample(unanswerable, limit=options["limit"], seed=options["seed"])
        hide = options["no_progress"]
        with isolated_database(suffix="eval"):
            ingest_articles(articles, progress=lambda items: tqdm(items, desc="Ingesting", unit="doc", disable=hide))
            answered = [evaluate_question(q) for q in tqdm(questions, desc="Answerable", unit="q", disable=hide)]
            absent = [evaluate_question(q) for q in tqdm(unanswerable, desc="Unanswerable", unit="q", disable=hide)]
        metrics = summarize(answered, absent)
        width = max(len(description) for _, description in TABLE_ROWS)
        self.stdout.write(f"{'metric':<22} {'value':>8}  description")
        for key, description in TABLE_ROWS:
            value = metrics[key]
            shown = (
                "-" if value is None else (f"{value:.3f}" if isinstance(value, float) and key[-2:] != "ms" else value)
            )
            self.stdout.write(f"{key:<22} {shown!s:>8}  {description:<{width}}")
        for stage, values in metrics["stages_ms"].items():
            self.stdout.write(f"{'  ' + stage + ' ms':<22} {values['p50']:>8}  p50 (p95 {values['p95']})")
        self.stdout.write(f"{len(questions)} answerable and {len(unanswerable)} unanswerable questions.")
        if options["json"]:
            keys = [key for key, _ in TABLE_ROWS]
            self.stdout.write(json.dumps({key: metrics[key] for key in keys}))
