"""A book as its PDF edition: the fixture book printed to a PDF as LaTeX or a print-to-PDF export prints one, asked
its own questions, beside the code at an earlier revision.

    .venv/bin/python bench/pdf_book.py [--book weather|garden] [--baseline REV]

The book's pages, as ingestion reads them, are printed one after the other: a cover, a table of contents with dot
leaders, then each page as a numbered chapter (its sections numbered, "2.1 Wind", its code in Courier), 46 lines a
page under a running head with the page number at the foot; the PDF's outline (bookmarks) holds the chapters and
sections, as LaTeX's hyperref writes them (sections without their numbers). The PDF is ingested as one document into a
throwaway database and every question of tests/fixtures/<book>-book-questions.json is asked through the chat
service (offline answerer). "Cited page holds the gold" counts correct answers whose first citation opens the PDF
at a page that prints the answer. Then how long reading the PDF takes, against Haystack's PyPDFToDocument
(the converter before), in the same run.
"""

import argparse
import json
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from _setup import baseline_json
from book import ANSWERABLE, answer_shares, asked, beside, book_paths, contains, print_missed, share, use_code

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "94d06a6"  # main before PDFs were read page by page
REFERENCE = "https://books.example.org/"
LINES_PER_PAGE = 46
WIDTH = 92


def _printable(text: str) -> str:
    """Text in the PDF font's encoding (Windows-1252), as a PDF prints what its font has."""
    return text.encode("cp1252", errors="replace").decode("cp1252")


def printed_book(book: str) -> tuple[list[str], list[tuple[str, int, int]], str]:
    """The book's pages printed: (page texts, outline, title)."""
    from knowledge.loading import scan_book  # noqa: PLC0415
    from knowledge.markdown import parse_markdown, reads_as_mdx  # noqa: PLC0415

    scan = scan_book([str(book_paths(book)[0])])
    title = {"weather": "Weather Station Handbook", "garden": "Kitchen Garden Handbook"}[book]
    body: list[tuple[str, tuple[str, int] | None]] = []  # (line, (outline title, depth) where a heading starts)
    for chapter, file in enumerate((f for f in scan.loadable if f.path.suffix in (".md", ".mdx")), start=1):
        parsed = parse_markdown(
            file.read().decode("utf-8", errors="replace"),
            style=file.url_style,
            mdx=reads_as_mdx(file_name=file.path.name, style=file.url_style, markdown_format=file.markdown_format),
        )
        name = file.title or parsed.title or file.path.stem
        body.append((_printable(f"{chapter} {name}"), (_printable(name), 0)))
        numbers: list[int] = []
        section = ""
        for block in parsed.blocks:
            if block.section != section and " > " in block.section:
                depth = block.section.count(" > ")
                numbers = (numbers + [0] * depth)[:depth]
                numbers[-1] += 1
                heading = block.section.split(" > ")[-1]
                number = ".".join(map(str, [chapter, *numbers]))
                body.append((_printable(f"{number} {heading}"), (_printable(heading), min(depth, 3))))
            section = block.section
            code = block.kind == "code"
            lines = [line for line in block.text.split("\n") if not line.startswith("```")]
            for line in lines:
                # Code is set in Courier (tests.pdf_factory's tab), as PDF exports set it.
                for wrapped in textwrap.wrap(_printable(line), WIDTH) or [""]:
                    body.append(("\t" + wrapped if code else wrapped, None))
    pages: list[list[str]] = []
    outline_at: list[tuple[str, int, int]] = []
    contents: list[tuple[str, int]] = []
    for line, heading in body:
        if not pages or len(pages[-1]) >= LINES_PER_PAGE:
            pages.append([])
        if heading is not None:
            outline_at.append((heading[0], len(pages) - 1, heading[1]))
            contents.append((line, len(pages)))
        pages[-1].append(line)
    toc_pages = -(-len(contents) // LINES_PER_PAGE)
    front = 1 + toc_pages  # the cover and the contents come first
    toc = [f"{line} {'. ' * 12}{page + front}" for line, page in contents]
    printed = [f"{title}\nThe printed edition"]
    printed += ["Contents\n" + "\n".join(toc[i : i + LINES_PER_PAGE]) for i in range(0, len(toc), LINES_PER_PAGE)]
    printed += ["\n".join([title, *lines, str(number + front + 1)]) for number, lines in enumerate(pages)]
    outline = [(name, page + front, depth) for name, page, depth in outline_at]
    return printed, outline, title


def measure(*, code: Path, pdf: Path, book: str) -> dict:
    """Ingest the PDF with the code at ``code`` and ask every question; returns per-question results."""
    use_code(code)
    from django.core.management import call_command  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    questions = json.loads(book_paths(book)[1].read_text())["questions"]
    results = []
    with isolated_database(suffix="pdf_book"):
        call_command("ingest", str(pdf.parent), "--reference-base", REFERENCE, "--no-progress")
        from knowledge.models import Chunk  # noqa: PLC0415

        chunks = list(Chunk.objects.values_list("section", flat=True))
        for question in questions:
            row, links = asked(question)
            results.append({**row, "link": links[0] if links else ""})
    return {"results": results, "chunks": len(chunks), "sections": sum(1 for s in chunks if s) / max(len(chunks), 1)}


def summarise(run: dict, *, pages: list[str]) -> dict[str, object]:
    results = run["results"]
    correct = [r for r in results if r["kind"] in ANSWERABLE and contains(r["answer"], r["gold"])]

    def page_holds(row: dict) -> bool:
        page = row["link"].partition("#page=")[2]
        return page.isdigit() and 0 < int(page) <= len(pages) and contains(pages[int(page) - 1], row["gold"])

    return {
        **answer_shares(results),
        "cited page holds the gold (correct answers)": share(correct, page_holds),
        "chunks": str(run["chunks"]),
        "chunks with a section": f"{run['sections']:.3f}",
    }


def reading_times(pdf: bytes, *, rounds: int = 5) -> tuple[float, float]:
    """Median ms to read the PDF: ours (knowledge.pdf), Haystack's PyPDFToDocument; alternating rounds."""
    from haystack.components.converters import PyPDFToDocument  # noqa: PLC0415
    from haystack.dataclasses import ByteStream  # noqa: PLC0415

    from knowledge.pdf import PdfToDocument  # noqa: PLC0415

    ours, theirs = PdfToDocument(), PyPDFToDocument()
    times: dict[str, list[float]] = {"ours": [], "pypdf": []}
    for _ in range(rounds):
        for name, converter in (("ours", ours), ("pypdf", theirs)):
            started = time.perf_counter()
            converter.run(sources=[ByteStream(pdf)])
            times[name].append((time.perf_counter() - started) * 1000)
    return statistics.median(times["ours"]), statistics.median(times["pypdf"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", choices=("weather", "garden"), default="weather")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument("--measure-code", help=argparse.SUPPRESS)
    parser.add_argument("--pdf", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="print every answerable question the PDF missed")
    args = parser.parse_args()
    if args.measure_code:
        print(json.dumps(measure(code=Path(args.measure_code), pdf=Path(args.pdf), book=args.book)))
        return
    use_code(ROOT)
    from tests.pdf_factory import make_pdf  # noqa: PLC0415

    pages, outline, title = printed_book(args.book)
    data = make_pdf(pages, outline=outline)
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "edition" / f"{args.book}-handbook.pdf"
        pdf.parent.mkdir()
        pdf.write_bytes(data)
        current = measure(code=ROOT, pdf=pdf, book=args.book)
        baseline = None
        if args.baseline:
            baseline = baseline_json(
                args.baseline, script=__file__, args=["--measure-code", ".", "--pdf", str(pdf), "--book", args.book]
            )
    if args.verbose:
        print_missed(current["results"])
    now = summarise(current, pages=pages)
    before = summarise(baseline, pages=pages) if baseline else {}
    print(f"\n{title}, printed: {len(pages)} pages, {len(outline)} bookmarks, {len(data) / 1024:.0f} KB")
    print(beside(baseline=args.baseline, before=before, now=now))
    ours, theirs = reading_times(data)
    print(f"\nreading the PDF (median of 5): ours {ours:.0f} ms, PyPDFToDocument {theirs:.0f} ms, {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
