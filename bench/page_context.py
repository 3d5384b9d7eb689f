"""Page-aware answers: each question asked from its own page, from an unrelated page, and with no page.

Two corpora, each in a throwaway database:
  - SQuAD (half A, 24 articles): each article is one page of a book at /squad/<n>/; a question's own page is its
    article's, an unrelated page another article's (seeded). Retrieval hit@1, hit@5, MRR (top 10) and whether the
    offline answer contains a gold answer.
  - The fixture book (tests/fixtures/weather-book, Docusaurus layout): a question's own page is the page its gold
    passage is on (without and with the section's #anchor); abstention on its near-topic and far questions, asked
    from a page of the book, must not change.
Every CHAT_PAGE_WEIGHT in --weights is measured with every CHAT_PAGE_MARGIN in --margins; "no page" is the
baseline row in the same run (the page settings do not apply without a page). "top@1 elsewhere" (SQuAD) is the
share of questions whose top passage is another article's while the right article has the answer further down:
the most a document-level boost can gain at hit@1.

    .venv/bin/python bench/page_context.py [--limit 300] [--seed 11] [--weights 0.5] [--margins 0.02,0.05,0.1]
        [--corpora squad,book] [--section-factor 1.5]
"""

import argparse
import json
import random
import time
from dataclasses import replace
from urllib.parse import urlsplit

from _setup import ROOT, SQUAD, setup, table

BOOK = ROOT / "tests" / "fixtures" / "weather-book"
BOOK_QUESTIONS = ROOT / "tests" / "fixtures" / "weather-book-questions.json"
SQUAD_SITE = "https://squad.example.org"
ABSTAIN = ("near", "far")


def measure(engine, questions: list[dict], *, answers: bool = True) -> dict[str, float]:
    """Ask each question ({question, gold, page, document?}) from its page; retrieval and answer measures."""
    from chat.evaluation import contains_gold  # noqa: PLC0415

    ranks, golds, abstained, elsewhere = [], [], [], []
    pipeline = engine.pipelines.retrieval
    for question in questions:
        inputs = {"rewriter": {"message": question["question"], "history": []}}
        inputs["retriever"] = {"top_k": 10, "page_url": question["page"]}
        gated = pipeline.run(inputs)["retriever"]
        documents = gated.get("documents") or gated.get("no_answer") or []
        rank = next(
            (
                position
                for position, doc in enumerate(documents, start=1)
                if question.get("document") in (None, doc.meta.get("title"))
                and contains_gold(doc.content or "", question["gold"])
            ),
            None,
        )
        ranks.append(rank)
        # A miss a page could fix: the top passage is another document's, and the right one is further down.
        elsewhere.append(
            rank not in (None, 1)
            and bool(documents)
            and question.get("document") not in (None, documents[0].meta.get("title"))
        )
        if answers:
            retrieval = engine.retrieve(message=question["question"], history=[], page_url=question["page"])
            answer = engine.answer(retrieval=retrieval, question=question["question"], history=[])
            golds.append(answer.status == "answered" and contains_gold(answer.text, question["gold"]))
            abstained.append(answer.status == "no_answer")
    n = len(questions) or 1
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "answer": sum(golds) / n if answers else float("nan"),
        "abstain": sum(abstained) / n if answers else float("nan"),
        "top@1 elsewhere": sum(elsewhere) / n,
    }


SECTION_FACTOR: list[float] = []  # --section-factor, when given


def engine_with(page_weight: float, page_margin: float | None = None):
    """A chat engine whose retrieval gives the reader's page this weight (and margin)."""
    from chat.engine import ChatEngine  # noqa: PLC0415
    from chat.pipeline import build_chat_pipelines  # noqa: PLC0415
    from chat.retrieval import RetrievalConfig  # noqa: PLC0415

    config = replace(RetrievalConfig.from_settings(), page_weight=page_weight)
    if page_margin is not None:
        config = replace(config, page_margin=page_margin)
    if SECTION_FACTOR:
        config = replace(config, section_factor=SECTION_FACTOR[0])
    engine = ChatEngine(pipelines=build_chat_pipelines(config=config))
    engine.warm_up()
    return engine


def squad_questions(*, limit: int, seed: int) -> tuple[list, list[dict]]:
    """The articles, and the sampled questions with their own and an unrelated article's page."""
    from chat.evaluation import load_questions, sample  # noqa: PLC0415

    articles, questions = load_questions(SQUAD)
    page_of = {article.title: f"{SQUAD_SITE}/squad/{number}/" for number, article in enumerate(articles, 1)}
    rng = random.Random(seed)
    rows = []
    for question in sample(questions, limit=limit, seed=seed):
        other = rng.choice([title for title in page_of if title != question.document])
        rows.append(
            {
                "question": question.question,
                "gold": question.answers,
                "document": question.document,
                "own": page_of[question.document],
                "unrelated": page_of[other],
            }
        )
    return articles, rows


def squad_ingest(articles: list) -> None:
    from chat.evaluation import ingest_articles  # noqa: PLC0415
    from knowledge.models import SourceDocument  # noqa: PLC0415

    ingest_articles(articles)
    for number, article in enumerate(articles, 1):
        SourceDocument.objects.filter(title=article.title).update(reference=f"{SQUAD_SITE}/squad/{number}/")


def book_questions() -> tuple[str, list[dict], list[dict]]:
    """The book's answerable questions with their own page (and section), and its unanswerable ones."""
    data = json.loads(BOOK_QUESTIONS.read_text())
    site = data["site_url"].rstrip("/")
    answerable, unanswerable = [], []
    pages = sorted({q["url"].split("#")[0] for q in data["questions"] if isinstance(q.get("url"), str) and q["url"]})
    rng = random.Random(5)
    for question in data["questions"]:
        url = question.get("url")
        if question["kind"] in ("fact", "table", "list") and isinstance(url, str) and url and question["gold"]:
            page = url.split("#")[0]
            other = rng.choice([p for p in pages if p != page])
            answerable.append(
                {
                    "question": question["question"],
                    "gold": question["gold"],
                    "own": site + page,
                    "own_section": site + url,
                    "unrelated": site + other,
                }
            )
        elif question["kind"] in ABSTAIN:
            unanswerable.append({"question": question["question"], "gold": [], "any": site + rng.choice(pages)})
    return site, answerable, unanswerable


def with_page(questions: list[dict], key: str | None) -> list[dict]:
    return [{**question, "page": question[key] if key else None} for question in questions]


def row(label: str, measures: dict[str, float], baseline: dict[str, float] | None, keys: list[str]) -> list:
    cells = [label]
    for key in keys:
        value = measures[key]
        delta = f" ({value - baseline[key]:+.3f})" if baseline is not None and label != "no page" else ""
        cells.append(f"{value:.3f}{delta}")
    return cells


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--weights", default="0.5", help="CHAT_PAGE_WEIGHT values")
    parser.add_argument("--margins", default="0.02,0.05,0.1", help="CHAT_PAGE_MARGIN values")
    parser.add_argument("--corpora", default="squad,book", help="squad, book or both")
    parser.add_argument("--section-factor", type=float, default=None, help="default: CHAT_PAGE_SECTION_FACTOR")
    args = parser.parse_args()
    if args.section_factor is not None:
        SECTION_FACTOR.append(args.section_factor)
    setup()
    # Every weight with every margin: rows are labelled "weight / margin".
    grid = [(float(w), float(m)) for w in args.weights.split(",") for m in args.margins.split(",")]
    keys = ["hit@1", "hit@5", "mrr", "answer", "top@1 elsewhere"]
    started = time.perf_counter()

    if "squad" in args.corpora:
        squad_table(grid=grid, keys=keys, limit=args.limit, seed=args.seed)
    if "book" in args.corpora:
        book_table(grid=grid, keys=keys)
    print(f"\n{time.perf_counter() - started:.0f} s")


def squad_table(*, grid: list[tuple[float, float]], keys: list[str], limit: int, seed: int) -> None:
    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    articles, squad = squad_questions(limit=limit, seed=seed)
    with isolated_database(suffix="bench_page_squad"):
        squad_ingest(articles)
        baseline = measure(engine_with(0.0), with_page(squad, None))
        rows = [row("no page", baseline, None, keys)]
        for weight, margin in grid:
            engine = engine_with(weight, margin)
            for condition in ("own", "unrelated"):
                measures = measure(engine, with_page(squad, condition))
                rows.append(row(f"{condition} page, {weight:g} / {margin:g}", measures, baseline, keys))
    print(f"\nSQuAD half A, {len(squad)} questions, 24 articles as pages (answers: offline extractive)")
    print(table(["condition", *keys], rows))


def book_table(*, grid: list[tuple[float, float]], keys: list[str]) -> None:
    from django.core.management import call_command  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    site, answerable, unanswerable = book_questions()
    with isolated_database(suffix="bench_page_book"):
        call_command("ingest", str(BOOK), "--site-url", site + "/", "--reference-base", site + "/", "--no-progress")
        plain = engine_with(0.0)
        baseline = measure(plain, with_page(answerable, None))
        abstain_base = measure(plain, with_page(unanswerable, None))["abstain"]
        rows = [row("no page", baseline, None, keys) + [f"{abstain_base:.3f}"]]
        for weight, margin in grid:
            engine = engine_with(weight, margin)
            abstain = measure(engine, with_page(unanswerable, "any"))["abstain"]
            for condition in ("own", "own_section", "unrelated"):
                measures = measure(engine, with_page(answerable, condition))
                label = f"{condition.replace('_', ' + ')} page, {weight:g} / {margin:g}"
                rows.append(row(label, measures, baseline, keys) + [f"{abstain:.3f}"])
    print(
        f"\nFixture book ({urlsplit(site).netloc}), {len(answerable)} answerable questions; abstention on "
        f"{len(unanswerable)} near/far questions asked from a page of the book"
    )
    print(table(["condition", *keys, "abstain (near/far)"], rows))


if __name__ == "__main__":
    main()
