"""A book as its built site: the fixture book built to HTML by its own generator (the weather book by Docusaurus,
the garden book by MkDocs Material, as bench/site_links.py builds them), every page of the build ingested as an
HTML file, asked the book's own questions, beside the code at an earlier revision.

    .venv/bin/python bench/html_book.py [--book weather|garden] [--baseline REV] [--verbose] [--record]
    .venv/bin/python bench/html_book.py --site FOLDER [--baseline REV]

This is what an admin has who uploads the pages of a published site, or a folder of saved pages, instead of the
Markdown: `manage.py ingest <the build> --reference-base <the site's address>`, each page linked by its path on
the site's root. Every question of tests/fixtures/<book>-book-questions.json is asked through the chat service (offline
answerer). "Cited link right" counts answerable questions whose citations include the section the questions file
names (a page's index.html and its folder are one page); "cited link opens a heading" counts answered questions
whose first citation opens a built page at an id it has (or at its top). Then how long each revision's HTML
converter takes to read every page (the baseline's: Haystack's HTMLToDocument, on trafilatura), and to plan
loading them (what `ingest` and an archive import do first). --record copies one built page of the book into
tests/fixtures/built-pages/, which tests/knowledge/test_html_pages.py reads. --site times only the reading and
planning of a built site you have (no questions), and counts the pages it loads and the headings (with ids) they
read with, beside the baseline's.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from _setup import baseline_json
from book import ANSWERABLE, answer_shares, asked, beside, book_paths, print_missed, share, use_code

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "ce896c0"  # main before HTML pages were read as their site shows them
REFERENCE = "https://books.example.org/"
HEADING = re.compile(r"^#{1,6} ")
PAGES = "pages"  # the build's folder (a built site: its pages are linked as REFERENCE + "<path>")
# The pages of each book the tests read as its generator built them (tabs, admonitions, code with titles; a blog
# post with its byline, a blog's list of posts).
RECORDED = {
    "weather": (
        ("docs/software/firmware/index.html", "docusaurus-firmware.html"),
        ("blog/coastal-station/index.html", "docusaurus-blog-post.html"),
        ("blog/index.html", "docusaurus-blog-list.html"),
    ),
    "garden": (
        ("watering/schedule/index.html", "material-schedule.html"),
        ("blog/index.html", "material-blog-index.html"),
    ),
}


def built_site(book: str, out: Path) -> None:
    """Build the book's site into ``out`` with its generator."""
    import site_links  # noqa: PLC0415

    site_links.build(next(spec for spec in site_links.BOOKS if spec.name == book), out)


def _page(link: str, *, base: str) -> str:
    """A link's page and fragment, as the site serves it ("docs/wind#gusts"; a folder's index.html is the folder).
    Code before built sites were linked from their root put the build's folder in front ("pages/docs/wind"): it is
    left out, so that what is compared is how each revision reads the pages."""
    parts = urlsplit(link)
    path = unquote(parts.path).removeprefix(urlsplit(base).path).removeprefix(f"{PAGES}/")
    path = path.removesuffix("index.html").strip("/")
    return f"{path}#{unquote(parts.fragment)}" if parts.fragment else path


def measure(*, code: Path, folder: Path, book: str) -> dict:
    """Ingest the built pages with the code at ``code`` and ask every question; returns per-question results."""
    use_code(code)
    from django.core.management import CommandError, call_command  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    questions = json.loads(book_paths(book)[1].read_text())["questions"]
    results = []
    with isolated_database(suffix="html_book"):
        try:
            call_command("ingest", str(folder), "--reference-base", REFERENCE, "--no-progress")
        except CommandError as error:  # a page that failed is counted below, by the questions it cannot answer
            print(error, file=sys.stderr)
        from knowledge.models import Chunk  # noqa: PLC0415

        chunks = list(Chunk.objects.values_list("section", "anchor"))
        for question in questions:
            row, links = asked(question)
            urls = question["url"] if isinstance(question["url"], list) else [question["url"]]
            results.append({**row, "links": links, "expected": [_page(url, base="/") for url in urls if url]})
    return {
        "results": results,
        "reading_ms": reading_ms(folder),
        "planning_ms": planning_ms(folder),
        "chunks": len(chunks),
        "sections": sum(1 for section, _ in chunks if section) / max(len(chunks), 1),
        "anchors": sum(1 for _, anchor in chunks if anchor) / max(len(chunks), 1),
    }


def summarise(run: dict, *, pages: dict[str, list[str]]) -> dict[str, object]:
    results = run["results"]

    def opens_a_heading(row: dict) -> bool:
        page, _, fragment = _page(row["links"][0], base=REFERENCE).partition("#") if row["links"] else ("", "", "")
        return page in pages and (not fragment or fragment in pages[page])

    return {
        **answer_shares(results),
        "cited link right": share(
            [r for r in results if r["kind"] in ANSWERABLE and r["expected"]],
            lambda r: bool({_page(link, base=REFERENCE) for link in r["links"]} & set(r["expected"])),
        ),
        "cited link opens a heading": share([r for r in results if r["status"] == "answered"], opens_a_heading),
        "chunks": str(run["chunks"]),
        "chunks with a section": f"{run['sections']:.3f}",
        "chunks with an anchor": f"{run['anchors']:.3f}",
    }


def _reader(pages: list[Path]) -> Callable[[], list]:
    """Reading the pages with the code's HTML converter (its conversion pipeline's): a call returns the documents."""
    from haystack.dataclasses import ByteStream  # noqa: PLC0415

    from knowledge.ingestion import build_conversion_pipeline  # noqa: PLC0415

    converter = build_conversion_pipeline().get_component("html_converter")
    sources = [ByteStream(page.read_bytes()) for page in pages]
    return lambda: converter.run(sources=sources)["documents"]


def reading_ms(folder: Path, *, rounds: int = 3) -> float:
    """Median ms for the code's HTML converter (its conversion pipeline's) to read every page."""
    read = _reader(sorted(folder.rglob("*.html")))
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def planning_ms(folder: Path, *, rounds: int = 3) -> float:
    """Median ms to plan loading the build (what ``ingest`` and an archive import do before any page is indexed:
    each page titled, and skipped when it is empty or asks not to be indexed)."""
    from knowledge.loading import scan_book  # noqa: PLC0415

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        scan_book([str(folder)], reference_base=REFERENCE)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def costs(folder: Path) -> dict[str, float]:
    """Reading and planning every page of the build, in ms, and what the pages the plan loads read as."""
    return {"reading_ms": reading_ms(folder), "planning_ms": planning_ms(folder), **site_reading(folder)}


def site_reading(folder: Path) -> dict[str, float]:
    """The pages ``ingest`` would load from the build, and the headings they read with (with an id, the anchor
    a citation opens), as the code's HTML converter reads them."""
    from knowledge.loading import scan_book  # noqa: PLC0415

    loaded = [file.path for file in scan_book([str(folder)], reference_base=REFERENCE).loadable]
    documents = _reader(loaded)()
    headings = [line for doc in documents for line in (doc.content or "").splitlines() if HEADING.match(line)]
    return {
        "pages": len(loaded),
        "headings": len(headings),
        "headings_with_ids": sum(1 for line in headings if line.rstrip().endswith("}") and "{#" in line),
    }


def site_costs(folder: Path, *, baseline: str) -> None:
    """Print the costs of reading and planning a built site's pages, beside the baseline's."""
    use_code(ROOT)
    now = costs(folder)
    options = ["--measure-code", ".", "--pages", str(folder), "--site", str(folder)]
    before = baseline_json(baseline, script=__file__, args=options) if baseline else {}
    pages = len(list(folder.rglob("*.html")))
    print(f"\n{folder.name}: {pages} HTML pages")
    print_costs(baseline=baseline, before=before, now=now)


def print_costs(*, baseline: str, before: dict[str, float], now: dict[str, float]) -> None:
    if "pages" in now:
        rows = [("pages loaded", "pages"), ("headings read", "headings"), ("headings with an id", "headings_with_ids")]
        print(beside(baseline=baseline, before={name: before[key] for name, key in rows if key in before},
                     now={name: now[key] for name, key in rows}))  # fmt: skip
    for name, key in (("reading", "reading_ms"), ("planning", "planning_ms")):
        ours, theirs = now[key], before.get(key)
        if theirs:
            print(f"{name} every page (median of 3): {theirs:.0f} ms at {baseline}, now {ours:.0f} ms", end="")
            print(f" ({ours / theirs:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", choices=("weather", "garden"), default="weather")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument("--measure-code", help=argparse.SUPPRESS)
    parser.add_argument("--pages", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="print every answerable question the pages missed")
    parser.add_argument("--record", action="store_true", help="copy the book's recorded page into tests/fixtures")
    parser.add_argument("--site", help="a built site's folder: only time reading and planning its pages")
    args = parser.parse_args()
    if args.measure_code:
        code, folder = Path(args.measure_code), Path(args.pages)
        if args.site:
            use_code(code)
            print(json.dumps(costs(folder)))
        else:
            print(json.dumps(measure(code=code, folder=folder, book=args.book)))
        return
    if args.site:
        site_costs(Path(args.site).resolve(), baseline=args.baseline)
        return
    use_code(ROOT)
    import site_links  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / PAGES  # not "build" or "site", which ingest leaves out of a book
        built_site(args.book, folder)
        pages = site_links.built_pages(folder)
        if args.record:
            for built, name in RECORDED[args.book]:
                (ROOT / "tests" / "fixtures" / "built-pages" / name).write_bytes((folder / built).read_bytes())
        current = measure(code=ROOT, folder=folder, book=args.book)
        baseline = None
        if args.baseline:
            options = ["--measure-code", ".", "--pages", str(folder), "--book", args.book]
            baseline = baseline_json(args.baseline, script=__file__, args=options)
        count = len(list(folder.rglob("*.html")))
    if args.verbose:
        print_missed(current["results"])
    now = summarise(current, pages=pages)
    before = summarise(baseline, pages=pages) if baseline else {}
    print(f"\nthe {args.book} book's site: {count} HTML pages")
    print(beside(baseline=args.baseline, before=before, now=now))
    if baseline:
        print()
        print_costs(baseline=args.baseline, before=baseline, now=current)


if __name__ == "__main__":
    main()
