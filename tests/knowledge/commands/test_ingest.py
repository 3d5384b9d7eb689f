"""The ingest and reindex management commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import Chunk, SourceDocument
from tests.conftest import GUIDE_MD
from tests.pdf_factory import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(tmp_path):
    root = tmp_path / "book"
    (root / "part-1").mkdir(parents=True)
    (root / "part-1" / "guide.md").write_text(GUIDE_MD)
    (root / "part-1" / "notes.txt").write_text("Plain notes about lichen on granite.")
    (root / "appendix.pdf").write_bytes(make_pdf(["Appendix: the midnight sun lasts for weeks."]))
    (root / "image.png").write_bytes(b"\x89PNG not loaded")
    (root / ".hidden.md").write_text("# Hidden\n\nNot loaded.")
    return root


def run(*args) -> str:
    out = StringIO()
    call_command(*args, "--no-progress", stdout=out)
    return out.getvalue()


def test_ingest_loads_a_folder_and_is_idempotent(book, embedder_spy):
    first = run("ingest", str(book))
    assert "3 documents (3 new or changed, 0 unchanged, 0 failed)" in first
    assert set(SourceDocument.objects.values_list("source_key", flat=True)) == {
        (book / "part-1" / "guide.md").resolve().as_posix(),
        (book / "part-1" / "notes.txt").resolve().as_posix(),
        (book / "appendix.pdf").resolve().as_posix(),
    }
    assert set(SourceDocument.objects.values_list("reference", flat=True)) == {
        "book/part-1/guide.md",
        "book/part-1/notes.txt",
        "book/appendix.pdf",
    }
    assert SourceDocument.objects.get(reference="book/part-1/guide.md").title == "Field Guide"
    snapshot = list(Chunk.objects.order_by("id").values_list("id", "text"))
    updated = list(SourceDocument.objects.order_by("id").values_list("updated_at", flat=True))
    embedder_spy.reset()

    second = run("ingest", str(book))
    assert "3 documents (0 new or changed, 3 unchanged, 0 failed)" in second
    assert embedder_spy.embedded == 0
    assert list(Chunk.objects.order_by("id").values_list("id", "text")) == snapshot
    assert list(SourceDocument.objects.order_by("id").values_list("updated_at", flat=True)) == updated


def test_ingest_picks_up_changes(book, embedder_spy):
    run("ingest", str(book))
    (book / "part-1" / "notes.txt").write_text("Plain notes about lichen on basalt.")
    embedder_spy.reset()
    out = run("ingest", str(book))
    assert "1 new or changed, 2 unchanged" in out
    assert embedder_spy.embedded == 1


def test_ingest_reports_bad_files_and_keeps_going(book):
    (book / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    with pytest.raises(CommandError, match="1 file"):
        run("ingest", str(book))
    assert SourceDocument.objects.filter(status="ready").count() == 3


def test_ingest_missing_path():
    with pytest.raises(CommandError, match="does not exist"):
        run("ingest", "/nonexistent/folder")


def test_reindex_rebuilds_everything(book, embedder_spy):
    run("ingest", str(book))
    chunks = Chunk.objects.count()
    embedder_spy.reset()
    out = run("reindex")
    assert "Re-indexed 3 documents" in out
    assert embedder_spy.embedded == chunks
