"""Real-book quality: a fixture book (Markdown, MDX, tables, lists, code, front matter, admonitions) in, answers
and citation links out, measured on its own question set, beside the code at an earlier revision.

    .venv/bin/python bench/book.py [--book weather|garden|guide] [--baseline REV]
    .venv/bin/python bench/book.py --folder BOOK --questions FILE [--baseline REV]

Ingests the book (weather: tests/fixtures/weather-book, Docusaurus; garden: tests/fixtures/garden-book, MkDocs
Material; guide: docs/guide, the demo book `make run` loads, plain Markdown) into a throwaway database and asks
every question of its tests/fixtures/<book>-book-questions.json (questions of kind "reader" are asked in a
reader's words, not the book's, and measured apart) through the chat service (offline answerer unless
OPENAI_API_KEY is set). With --baseline (default: the commit before real-book support), the same questions run
on that revision's code from a temporary git worktree, so both rows come from one run.

--folder and --questions measure any book on a questions file of the same shape: bench/real-books/ holds
questions on real MkDocs books published in PyPI source archives, fetched as docs/benchmarks.md says (never
copied into the project).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOKS = ("weather", "garden", "guide")
BASELINE = "7775792"  # main before real-book support
ANSWERABLE = ("fact", "table", "list", "code", "followup", "selection")


def _normalise(text: str) -> str:
    # Answers are Markdown: "\\_\\_version\\_\\_" is what a reader sees as "__version__".
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return " ".join(text.replace("\u00a0", " ").lower().split())


def contains(text: str, golds: list[str], *, every: bool = False) -> bool:
    """Whether the text holds one of the golds (all of them, for a question whose answer is a whole list)."""
    return (all if every else any)(_normalise(gold) in _normalise(text) for gold in golds)


def _legacy_link(source: dict) -> str:
    """The link the widget built before the server sent one: reference#slug(last section)."""
    last = (source.get("section") or "").split(" > ")[-1]
    slug = re.sub(r"[^a-z0-9]+", "-", last.lower()).strip("-")
    return source.get("reference", "") + (f"#{slug}" if slug else "")


def _absolute(site_url: str, url: str) -> str:
    return site_url.rstrip("/") + url if url.startswith("/") else url


def book_paths(name: str) -> tuple[Path, Path]:
    """The fixture book's folder and its questions (the guide is the project's own, in docs/)."""
    folder = ROOT / "docs" / "guide" if name == "guide" else ROOT / "tests" / "fixtures" / f"{name}-book"
    return folder, ROOT / "tests" / "fixtures" / f"{name}-book-questions.json"


def use_code(code: Path) -> None:
    """Import the project from ``code`` (this tree, or a baseline's worktree) and set Django up."""
    sys.path.insert(0, str(code))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    import django  # noqa: PLC0415

    django.setup()


def measure(*, code: Path, site_url: str, folder: Path, questions_file: Path) -> dict:
    """Ingest the book in ``folder`` with the code at ``code`` and ask every question; returns per-kind
    results."""
    use_code(code)
    from django.core.management import CommandError, call_command  # noqa: PLC0415

    from chat.pipeline import stage_timings  # noqa: PLC0415
    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    questions = json.loads(questions_file.read_text())["questions"]
    results = []
    with isolated_database(suffix="book"):
        started = time.perf_counter()
        ingest_exit = 0
        try:
            options = ["--site-url", site_url] if (code / "knowledge" / "sites.py").exists() else []
            call_command("ingest", str(folder), *options, "--reference-base", site_url, "--no-progress")
        except CommandError:
            ingest_exit = 1
        ingest_seconds = time.perf_counter() - started
        from knowledge.models import Chunk  # noqa: PLC0415

        chunks = Chunk.objects.count()
        pipelines = _chat_pipelines()
        for question in questions:
            reply = ask(question)
            with stage_timings():
                retrieved = pipelines.retrieval.run(
                    {"rewriter": {"message": reply["query"], "history": []}},
                )["retriever"]
            top = (retrieved.get("documents") or retrieved.get("no_answer") or [])[:5]
            urls = (
                question["url"] if isinstance(question["url"], list) else [question["url"]] if question["url"] else []
            )
            expected = [_absolute(site_url, url) for url in urls]
            top_urls = [_url(d.meta) if "anchor" in d.meta else _legacy_link(d.meta) for d in top]
            cited = [s for s in reply["sources"] if s["kind"] != "selection"] or reply["sources"]
            links = [s["url"] if "url" in s else _legacy_link(s) for s in cited]
            results.append(
                {
                    "kind": question["kind"],
                    "question": question["question"],
                    "status": reply["status"],
                    "answer": reply["answer"],
                    "gold_in_answer": bool(question["gold"])
                    and contains(reply["answer"], question["gold"], every=question.get("gold_all", False)),
                    # A table question's "wrong" values are other rows' (a cell run together with its neighbours
                    # holds the gold too): an answer that holds one quotes more than the row asked about.
                    "precise": None if not question.get("wrong") else not contains(reply["answer"], question["wrong"]),
                    # The passage counts as found when a top-5 chunk holds the gold text or is the expected section.
                    "gold_in_top5": bool(expected)
                    and (
                        bool(set(expected) & set(top_urls))
                        or any(contains(d.content or "", question["gold"]) for d in top)
                    ),
                    # The answer's citations include the section that holds the answer, with the site's link.
                    "link_right": bool(set(links) & set(expected)),
                    "link": " ".join(links),
                    "expected": expected,
                }
            )
    return {"results": results, "chunks": chunks, "ingest_exit": ingest_exit, "ingest_seconds": ingest_seconds}


def ask(question: dict) -> dict:
    """The chat service's reply to a question of a questions file, its earlier turns asked first."""
    from chat.services import chat_reply, session_create  # noqa: PLC0415

    session = session_create()
    for earlier in question.get("history", []):
        chat_reply(session_id=session, message=earlier)
    return chat_reply(
        session_id=session, message=question["question"], selected_text=question.get("selected_text")
    ).to_dict()


def asked(question: dict) -> tuple[dict, list[str]]:
    """Ask a question of a questions file: its result row (kind, question, gold, status, answer), as
    answer_shares() and print_missed() read it, and the links its answer cites (a selection's left out)."""
    reply = ask(question)
    row = {key: question[key] for key in ("kind", "question", "gold")}
    row |= {"status": reply["status"], "answer": reply["answer"]}
    return row, [s.get("url", "") for s in reply["sources"] if s.get("kind") != "selection"]


def share(rows: list[dict], key: Callable[[dict], bool]) -> str:
    """The share of ``rows`` for which ``key`` holds, as printed ('-' for none)."""
    return f"{sum(1 for r in rows if key(r)) / len(rows):.3f}" if rows else "-"


def answer_shares(results: list[dict]) -> dict[str, str]:
    """What a book's answers get right, from per-question results (kind, gold, status, answer): gold in answer and
    false abstention over the answerable questions, near-topic and far abstention, the reader wordings' gold."""
    answerable = [r for r in results if r["kind"] in ANSWERABLE]

    def of(kind: str) -> list[dict]:
        return [r for r in results if r["kind"] == kind]

    return {
        "gold in answer": share(answerable, lambda r: contains(r["answer"], r["gold"])),
        "false abstention": share(answerable, lambda r: r["status"] != "answered"),
        "near-topic abstention": share(of("near"), lambda r: r["status"] != "answered"),
        "far abstention": share(of("far"), lambda r: r["status"] != "answered"),
        "reader wording: gold in answer": share(of("reader"), lambda r: contains(r["answer"], r["gold"])),
    }


def print_missed(results: list[dict]) -> None:
    """Print every answerable (or reader) question whose answer lacks its gold."""
    for row in results:
        if row["kind"] in (*ANSWERABLE, "reader") and not contains(row["answer"], row["gold"]):
            print(f"missed [{row['kind']}] {row['question']} -> {row['status']}: {row['answer'][:200]}")


def beside(*, baseline: str, before: dict[str, object], now: dict[str, object]) -> str:
    """A table of each measure at the baseline revision and now."""
    from _setup import table  # noqa: PLC0415

    return table(
        ["measure", f"baseline {baseline or '-'}", "now"], [[k, before.get(k, "-"), v] for k, v in now.items()]
    )


def _chat_pipelines() -> object:
    """The chat pipelines of the code being measured (the default baseline predates the chat engine)."""
    try:
        from chat.engine import get_chat_engine  # noqa: PLC0415
    except ImportError:
        from chat.pipeline import get_chat_pipelines  # noqa: PLC0415

        return get_chat_pipelines()
    return get_chat_engine().pipelines


def _url(meta: dict) -> str:
    reference, anchor = meta.get("reference", ""), meta.get("anchor", "")
    return f"{reference}#{anchor}" if reference and anchor else reference


def summarise(run: dict) -> dict[str, float]:
    """The measures of one run."""
    results = run["results"]
    answerable = [r for r in results if r["kind"] in ANSWERABLE]
    correct = [r for r in answerable if r["gold_in_answer"]]
    reader = [r for r in results if r["kind"] == "reader"]

    def share(rows: list[dict], key) -> float:
        return sum(1 for r in rows if key(r)) / len(rows) if rows else 0.0

    measures: dict[str, float] = {
        "gold in answer": share(answerable, lambda r: r["gold_in_answer"]),
        "gold in top 5": share(answerable, lambda r: r["gold_in_top5"]),
        "false abstention": share(answerable, lambda r: r["status"] != "answered"),
        "near-topic abstention": share(
            [r for r in results if r["kind"] == "near"], lambda r: r["status"] == "no_answer"
        ),
        "far abstention": share([r for r in results if r["kind"] == "far"], lambda r: r["status"] == "no_answer"),
        "links right (correct answers)": share(correct, lambda r: r["link_right"]),
        # Asked in a reader's words rather than the book's (symptoms, other spellings, casual names): kept apart so
        # that the rows above stay comparable with earlier runs.
        "reader wording: gold in answer": share(reader, lambda r: r["gold_in_answer"]),
        "reader wording: gold in top 5": share(reader, lambda r: r["gold_in_top5"]),
        "reader wording: false abstention": share(reader, lambda r: r["status"] != "answered"),
        "chunks": run["chunks"],
        "ingest exit code": run["ingest_exit"],
    }
    # Only for a book whose question set names other rows' values.
    if precise := [r for r in correct if r.get("precise") is not None]:
        measures["table answers without other rows' values"] = share(precise, lambda r: r["precise"])
    return measures


def _baseline(rev: str, site_url: str, folder: Path, questions_file: Path) -> dict | None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _setup import baseline_json  # noqa: PLC0415

    # The old code runs in its own process, importing its own modules; this script measures it.
    try:
        arguments = ["--folder", str(folder), "--questions", str(questions_file)]
        return baseline_json(rev, script=__file__, args=["--measure-code", ".", "--site-url", site_url, *arguments])
    except subprocess.CalledProcessError as error:
        print(f"baseline {rev} failed:\n{error.stderr[-2000:]}", file=sys.stderr)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument(
        "--book", choices=BOOKS, default="weather", help="weather (Docusaurus), garden (MkDocs) or guide (the demo)"
    )
    parser.add_argument("--folder", type=Path, help="any book's folder (with --questions), instead of --book")
    parser.add_argument("--questions", type=Path, help="its questions file (the fixture books' shape)")
    parser.add_argument("--site-url", help="the book's address (default: its questions file's)")
    parser.add_argument("--measure-code", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="print every question's outcome")
    args = parser.parse_args()
    if bool(args.folder) != bool(args.questions):
        parser.error("--folder and --questions go together")
    folder, questions_file = (args.folder.resolve(), args.questions.resolve()) if args.folder else book_paths(args.book)
    site_url = args.site_url or json.loads(questions_file.read_text())["site_url"]
    if args.measure_code:
        run = measure(code=Path(args.measure_code), site_url=site_url, folder=folder, questions_file=questions_file)
        print(json.dumps(run))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _setup import table  # noqa: PLC0415

    current = measure(code=ROOT, site_url=site_url, folder=folder, questions_file=questions_file)
    baseline = _baseline(args.baseline, site_url, folder, questions_file) if args.baseline else None
    if args.verbose:
        for r in current["results"]:
            mark = (
                "ok "
                if (r["gold_in_answer"] or (r["kind"] in ("near", "far") and r["status"] == "no_answer"))
                else "BAD"
            )
            print(f"{mark} [{r['kind']}] {r['question']} -> {r['status']}: {r['answer'][:160]}")
            if r["kind"] in (*ANSWERABLE, "reader") and not r["link_right"]:
                print(f"      link {r['link']} expected {r['expected']}")
    now = summarise(current)
    before = summarise(baseline) if baseline else {}
    rows = []
    for name, value in now.items():
        old = before.get(name)
        fmt = (lambda v: f"{v:.3f}") if isinstance(value, float) else str
        rows.append([name, fmt(old) if old is not None else "-", fmt(value)])
    shown = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    print(f"\n{len(current['results'])} questions on {shown}")
    print(table(["measure", f"baseline {args.baseline or '-'}", "now"], rows))


if __name__ == "__main__":
    main()
