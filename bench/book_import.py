"""What importing a book archive in the admin costs before the response: unpack, plan every page, store the
changed ones and queue them for indexing (the indexing itself is the worker's, measured by bench/ingestion.py).

A synthetic book: the Docusaurus fixture book with its docs copied `--copies` times (about 25 pages a copy),
zipped as GitHub's "Download ZIP" wraps a repository. Three imports in a throwaway database: every page new, the
same archive again, and an archive with ten pages changed.

    .venv/bin/python bench/book_import.py [--copies 40] [--repeat 3]

Baseline in the same run: the same three loads from the unpacked folder, planned and stored the way `ingest`
does before it embeds (scan_book, then each page stored and queued), in a second throwaway database.
"""

import argparse
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _setup import ROOT, setup, table

FIXTURE = ROOT / "tests" / "fixtures" / "weather-book"


def make_book(folder: Path, *, copies: int) -> Path:
    book = folder / "big-book"
    shutil.copytree(FIXTURE, book)
    for copy in range(copies):
        shutil.copytree(FIXTURE / "docs", book / "docs" / f"copy-{copy:03d}")
    return book


def zipped(book: Path) -> bytes:
    """The book as one .zip, inside its folder as GitHub wraps a repository."""
    with tempfile.TemporaryDirectory() as temporary:
        archive = shutil.make_archive(str(Path(temporary) / book.name), "zip", root_dir=book.parent, base_dir=book.name)
        return Path(archive).read_bytes()


def change_pages(book: Path, *, count: int) -> None:
    pages = sorted((book / "docs").glob("copy-*/05-maintenance.md"))[:count]
    for page in pages:
        page.write_text(page.read_text() + "\nCheck the mast guy wires after every storm.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup()
    from django.db import transaction  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415
    from knowledge.loading import scan_book  # noqa: PLC0415
    from knowledge.services import book_file_upsert, book_import, document_schedule_ingest  # noqa: PLC0415

    def from_archive(book: Path) -> tuple[float, int]:
        data = zipped(book)
        started = time.perf_counter()
        result = book_import(name="big", archive=io.BytesIO(data), file_name="big-book-main.zip")
        return time.perf_counter() - started, result.queued

    def from_folder(book: Path) -> tuple[float, int]:
        started = time.perf_counter()
        queued = 0
        with transaction.atomic():
            for file in scan_book([str(book)]).loadable:
                document, changed = book_file_upsert(file=file)
                if changed:
                    document_schedule_ingest(document=document)
                    queued += 1
        return time.perf_counter() - started, queued

    samples: dict[tuple[str, str], list[float]] = {}
    queued: dict[str, int] = {}
    pages = size = 0
    for round_ in range(args.repeat):
        for way, load in (("archive", from_archive), ("folder", from_folder)):
            with tempfile.TemporaryDirectory() as temporary, isolated_database(suffix=f"import_{way}"):
                book = make_book(Path(temporary), copies=args.copies)
                pages = len(scan_book([str(book)]).loadable)
                size = len(zipped(book))
                for step in ("every page new", "the same book again", "10 pages changed"):
                    if step == "10 pages changed":
                        change_pages(book, count=10)
                    seconds, count = load(book)
                    samples.setdefault((step, way), []).append(seconds)
                    queued[step] = count
        print(f"round {round_ + 1} of {args.repeat} done")
    rows = []
    for step in ("every page new", "the same book again", "10 pages changed"):
        archive = statistics.median(samples[(step, "archive")])
        folder = statistics.median(samples[(step, "folder")])
        rows.append([step, queued[step], f"{archive:.2f}", f"{folder:.2f}", f"{archive / folder:.2f}x"])
    print(f"{pages} pages, archive {size / 1_048_576:.1f} MB; median of {args.repeat} runs")
    print(table(["import", "queued", "archive s", "folder s (baseline)", "archive / folder"], rows))


if __name__ == "__main__":
    main()
