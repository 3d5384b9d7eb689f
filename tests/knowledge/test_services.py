"""document_ingest: incremental, safe on failure, and guarded against mixing embedding models; book_import: a
whole book from one archive, updated in place, refused whole when the archive is bad."""

import io
import shutil
from pathlib import Path

import pytest

from knowledge import services
from knowledge.archives import ArchiveRejected
from knowledge.embedders import shared_document_embedder
from knowledge.loading import scan_book
from knowledge.models import Chunk, SourceDocument
from knowledge.services import (
    book_import,
    document_create,
    document_ingest,
    vector_column_dimensions,
    vector_index_resize,
)
from knowledge.signals import document_indexed
from knowledge.sources import SourceRejected
from tests.archive_factory import zip_folder, zip_members
from tests.conftest import GUIDE_MD

pytestmark = pytest.mark.django_db


def test_unchanged_document_does_nothing(make_document, embedder_spy):
    document = make_document()
    ids_before = list(document.chunks.values_list("id", flat=True))
    updated_before = document.updated_at
    embedder_spy.reset()
    result = document_ingest(document=document)
    assert result.unchanged
    assert embedder_spy.embedded == 0
    document.refresh_from_db()
    assert list(document.chunks.values_list("id", flat=True)) == ids_before
    assert document.updated_at == updated_before


def test_a_new_site_generator_alone_gives_the_chunks_its_anchors_without_embedding(make_document, embedder_spy):
    # The admin's "Site generator" changes anchors, not text: the chunks must take the new ones all the same.
    document = make_document(text="# Guide\n\n## Step 1.2: Install\n\nRun the installer.\n")
    assert set(document.chunks.values_list("anchor", flat=True)) == {"step-1-2-install"}
    SourceDocument.objects.filter(pk=document.pk).update(url_style="docusaurus")
    document.refresh_from_db()
    embedder_spy.reset()
    assert not document_ingest(document=document).unchanged
    assert set(document.chunks.values_list("anchor", flat=True)) == {"step-12-install"}
    assert embedder_spy.embedded == 0


def test_changed_document_reembeds_only_changed_chunks(make_document, embedder_spy):
    document = make_document()
    before = {chunk.section: chunk for chunk in document.chunks.all()}
    embedder_spy.reset()
    document.text = GUIDE_MD.replace("two centuries", "three centuries")
    document.save()
    result = document_ingest(document=document)
    assert result.status == "ready" and not result.unchanged
    assert embedder_spy.calls == 1
    assert embedder_spy.embedded == result.embedded == 1
    assert result.reused == document.chunk_count - 1
    after = {chunk.section: chunk for chunk in document.chunks.all()}
    assert "three centuries" in after["Field Guide > Trees > Conifers"].text
    assert list(after["Field Guide > Birds"].embedding) == pytest.approx(list(before["Field Guide > Birds"].embedding))


def test_failed_rebuild_keeps_old_chunks_and_reports(make_document, monkeypatch):
    document = make_document()
    other = make_document(title="Other", text="# Other\n\nAn unrelated note about moss.")
    old_texts = list(document.chunks.values_list("text", flat=True))
    other_chunks = list(other.chunks.values_list("id", flat=True))

    def broken(*args, **kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(shared_document_embedder(), "run", broken)
    document.text = GUIDE_MD + "\n## New\n\nA brand new section about wolves.\n"
    document.save()
    result = document_ingest(document=document)
    assert result.status == "failed"
    assert "model crashed" in result.error
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.FAILED
    assert "model crashed" in document.error
    assert list(document.chunks.values_list("text", flat=True)) == old_texts
    assert list(other.chunks.values_list("id", flat=True)) == other_chunks


def test_failure_in_the_swap_rolls_back(make_document, monkeypatch):
    document = make_document()
    old_ids = list(document.chunks.values_list("id", flat=True))

    def exploding_bulk_create(*args, **kwargs):
        raise services.DatabaseError("disk full")

    monkeypatch.setattr(Chunk.objects, "bulk_create", exploding_bulk_create)
    document.text = GUIDE_MD.replace("lemmings", "voles")
    document.save()
    result = document_ingest(document=document)
    assert result.status == "failed"
    assert list(document.chunks.values_list("id", flat=True)) == old_ids


def test_document_without_text_fails_readably(make_document):
    document = make_document(text="# Only a heading\n")
    assert document.status == SourceDocument.Status.FAILED
    assert "No text could be extracted" in document.error
    assert document.chunk_count == 0


def test_a_file_without_text_is_not_called_a_scanned_pdf(make_document):
    document = make_document(title="Notes", text="", file_name="notes.md", file_data=b"# Heading\n\n## Another\n")
    assert document.status == SourceDocument.Status.FAILED
    assert "No text could be extracted from notes.md" in document.error
    assert "OCR" not in document.error and "PDF" not in document.error


def test_a_pdf_without_text_suggests_ocr(make_document):
    from tests.pdf_factory import make_pdf

    document = make_document(title="Scan", text="", file_name="scan.pdf", file_data=make_pdf([""]))
    assert document.status == SourceDocument.Status.FAILED
    assert "OCR" in document.error


def test_a_document_of_too_many_passages_fails_before_embedding(make_document, embedder_spy, settings):
    settings.KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT = 50
    old = make_document(title="Many headings", text="# Start\n\nSome text.\n")
    old_chunks = list(old.chunks.values_list("id", flat=True))
    embedder_spy.reset()
    old.text = "".join(f"## Heading {n}\n\nText {n}.\n\n" for n in range(500))
    old.save()
    result = document_ingest(document=old)
    assert result.status == SourceDocument.Status.FAILED
    assert "more than 50 passages (KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT)" in result.error
    assert embedder_spy.calls == 0  # nothing was embedded
    assert list(old.chunks.values_list("id", flat=True)) == old_chunks  # the old index stays


def test_empty_text_is_rejected():
    with pytest.raises(SourceRejected, match="empty"):
        services.document_create(title="Empty", text="   \n")


def test_documents_from_another_model_are_flagged_and_excluded(make_document, settings):
    from knowledge.selectors import chunk_search, documents_needing_reindex

    document = make_document()
    SourceDocument.objects.filter(pk=document.pk).update(embedding_model="openai:text-embedding-3-small:384")
    assert list(documents_needing_reindex()) == [document]
    vector = list(document.chunks.first().embedding)
    assert chunk_search(query="snowy owl", embedding=vector, top_k=5) == []


def test_resizing_the_vector_column_for_a_new_model(make_document):
    make_document()
    assert vector_column_dimensions() == 384
    assert vector_index_resize(dimensions=384) is False
    assert vector_index_resize(dimensions=8) is True
    assert vector_column_dimensions() == 8
    assert Chunk.objects.count() == 0
    assert SourceDocument.objects.get().status == SourceDocument.Status.PENDING
    vector_index_resize(dimensions=384)
    document = SourceDocument.objects.get()
    assert document_ingest(document=document, force=True).status == "ready"


def test_document_indexed_is_sent_and_a_failing_receiver_never_fails_the_document(make_document, caplog):
    seen = []

    def failing(*, document_id, **_):
        seen.append(document_id)
        raise RuntimeError("a listener broke")

    document_indexed.connect(failing, dispatch_uid="test.failing")
    try:
        document = make_document()
        assert document_ingest(document=document).unchanged
    finally:
        document_indexed.disconnect(dispatch_uid="test.failing")
    assert seen == [document.pk, document.pk]  # rebuilt, then found unchanged
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.READY and document.chunk_count > 0
    assert "a listener broke" in caplog.text


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def import_book(data: bytes, *, name: str = "garden", file_name: str = "garden-main.zip", **options):
    return book_import(name=name, archive=io.BytesIO(data), file_name=file_name, **options)


@pytest.fixture
def garden(tmp_path) -> Path:
    root = tmp_path / "garden-main"
    shutil.copytree(FIXTURES / "garden-book", root)
    return root


def test_a_book_archive_loads_as_ingest_loads_its_folder(tmp_path):
    folder = tmp_path / "weather-book"
    shutil.copytree(FIXTURES / "weather-book", folder)
    site = "https://weather.example.org/"
    result = import_book(zip_folder(folder, top="weather-book-main"), name="weather", site_url=site)
    scan = scan_book([str(folder)], site_url=site)
    assert (result.style, result.queued, result.unchanged, result.failed, result.removed) == (
        "docusaurus",
        30,
        0,
        (),
        (),
    )
    assert (
        result.skipped
        == scan.skipped_summary()
        == ("11 skipped: 2 empty, 1 draft, 1 partial (not a page), 7 unsupported (.jpeg, .js, .json, .py, .yml)")
    )
    documents = SourceDocument.objects.all()
    # The same documents the folder gives: titles, citation links, site rules and front matter.
    planned = {(f.title, f.reference, f.url_style, f.markdown_format) for f in scan.loadable}
    assert {(d.title, d.reference, d.url_style, d.markdown_format) for d in documents} == planned
    assert {d.status for d in documents} == {SourceDocument.Status.READY}
    assert SourceDocument.objects.get(source_key="book:weather/docs/05-maintenance.md").chunk_count > 0
    # A Docusaurus partial is inlined where a page imports it, from the unpacked archive.
    assert Chunk.objects.filter(text__contains="push 6 V back").exists()


def test_a_built_site_imported_as_an_archive_links_its_pages_at_the_sites_address():
    firmware = (FIXTURES / "built-pages" / "docusaurus-firmware.html").read_bytes()
    members = {
        "public/index.html": "<html><body><main><h1>Weather</h1><p>Build your own station.</p></main></body></html>",
        "public/docs/software/firmware/index.html": firmware,
    }
    result = import_book(zip_members(members), name="weather", site_url="https://weather.example.org")
    assert (result.style, result.queued, result.failed) == ("plain", 2, ())
    page = SourceDocument.objects.get(title="Firmware")
    assert page.reference == "https://weather.example.org/docs/software/firmware/index.html"
    assert page.status == SourceDocument.Status.READY
    assert page.chunks.filter(anchor="main-loop", section="Firmware > The main loop").exists()


def test_importing_the_same_book_again_updates_it_in_place(garden, embedder_spy):
    first = import_book(zip_folder(garden, top="garden-main"))
    assert (first.style, first.queued, first.failed) == ("mkdocs", 8, ())
    # MkDocs snippets are read from the archive's own files.
    assert Chunk.objects.filter(text__contains="The last spring frost in this handbook's region").exists()
    compost = SourceDocument.objects.get(source_key="book:garden/docs/soil/compost.md")
    chunks_before = set(Chunk.objects.values_list("id", flat=True))

    embedder_spy.reset()
    again = import_book(zip_folder(garden, top="garden-main"))
    assert (again.queued, again.unchanged, again.removed) == (0, 8, ())
    assert embedder_spy.embedded == 0
    assert set(Chunk.objects.values_list("id", flat=True)) == chunks_before

    schedule = garden / "docs" / "watering" / "schedule.md"
    schedule.write_text(schedule.read_text() + "\nWater the leeks at dawn in a dry May.\n")
    (garden / "docs" / "soil" / "compost.md").unlink()
    changed = import_book(zip_folder(garden, top="garden-main"))
    assert (changed.queued, changed.unchanged, changed.removed) == (1, 6, (compost.title,))
    assert not SourceDocument.objects.filter(pk=compost.pk).exists()
    assert Chunk.objects.filter(text__contains="Water the leeks at dawn").exists()


def test_a_repository_with_its_docs_beside_the_site_is_imported_whole(monorepo_book):
    repo = monorepo_book
    result = import_book(zip_folder(repo, top="mono-main"), name="mono", file_name="mono-main.zip")
    assert (result.style, result.queued, result.failed) == ("docusaurus", 3, ())
    assert set(SourceDocument.objects.values_list("source_key", "reference")) == {
        ("book:mono/../docs/intro.md", "https://mono.example.org/docs/intro"),
        ("book:mono/../docs/guide/setup.mdx", "https://mono.example.org/docs/guide/setup"),
        ("book:mono/src/pages/about.md", "https://mono.example.org/about"),
    }
    assert Chunk.objects.filter(text__contains="Tighten the four bolts by hand").exists()
    assert import_book(zip_folder(repo, top="mono-v2"), name="mono").unchanged == 3


def test_a_page_the_book_no_longer_publishes_is_removed_like_a_deleted_one(garden):
    import_book(zip_folder(garden))
    compost = garden / "docs" / "soil" / "compost.md"
    compost.write_text("---\ndraft: true\n---\n" + compost.read_text())
    result = import_book(zip_folder(garden))
    assert result.removed == ("Compost",) and "1 draft" in result.skipped
    assert not SourceDocument.objects.filter(source_key="book:garden/docs/soil/compost.md").exists()


def test_without_pruning_pages_gone_from_the_archive_stay(garden):
    import_book(zip_folder(garden))
    (garden / "docs" / "soil" / "compost.md").unlink()
    result = import_book(zip_folder(garden), prune=False)
    assert (result.queued, result.unchanged, result.removed) == (0, 7, ())
    assert SourceDocument.objects.filter(source_key="book:garden/docs/soil/compost.md").exists()


def test_two_books_and_other_documents_keep_their_own_pages(garden):
    pasted = document_create(title="Pasted", text="# Pasted\n\nThe heron waits.\n")
    import_book(zip_folder(garden), name="garden")
    import_book(zip_members({"notes/a.md": "# A note\n\nThe otter swims at dusk.\n"}), name="notes")
    import_book(zip_members({"notes/b.md": "# B note\n\nThe vole digs.\n"}), name="notes")
    keys = set(SourceDocument.objects.values_list("source_key", flat=True))
    assert {"book:notes/b.md", "book:garden/docs/index.md", None} <= keys
    assert "book:notes/a.md" not in keys
    assert SourceDocument.objects.filter(pk=pasted.pk).exists()


def test_a_refused_archive_changes_nothing(garden):
    import_book(zip_folder(garden))
    before = sorted(SourceDocument.objects.values_list("source_key", "updated_at"))
    chunks = Chunk.objects.count()
    hostile = zip_members({"docs/index.md": "# Replaced\n\nText.\n", "../../escape.md": "# Escape\n"})
    with pytest.raises(ArchiveRejected, match="outside its own folder"):
        import_book(hostile)
    with pytest.raises(ArchiveRejected, match="could not be read as a .zip"):
        import_book(b"these are not the pages you are looking for")
    with pytest.raises(ArchiveRejected, match="no pages to load"):
        import_book(zip_members({"logo.png": b"\x89PNG", "README": "text"}))
    with pytest.raises(ArchiveRejected, match="cannot name a book"):
        import_book(zip_folder(garden), name="../garden")
    assert sorted(SourceDocument.objects.values_list("source_key", "updated_at")) == before
    assert Chunk.objects.count() == chunks


def test_an_archive_over_the_size_limit_is_refused_before_it_is_read(garden, settings):
    data = zip_folder(garden)
    settings.KNOWLEDGE_MAX_ARCHIVE_BYTES = len(data) - 1
    with pytest.raises(ArchiveRejected, match="the limit for a book archive"):
        import_book(data)
    assert SourceDocument.objects.count() == 0


def test_a_refused_page_is_reported_and_keeps_its_document(garden, settings):
    import_book(zip_folder(garden))
    compost = SourceDocument.objects.get(source_key="book:garden/docs/soil/compost.md")
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 8000
    (garden / "docs" / "soil" / "compost.md").write_text("# Compost\n\n" + "Turn the heap. " * 800)
    result = import_book(zip_folder(garden))
    assert len(result.failed) == 1 and result.failed[0].startswith("docs/soil/compost.md: ")
    assert "the limit is" in result.failed[0]
    assert result.removed == ()
    compost.refresh_from_db()
    assert compost.status == SourceDocument.Status.READY and compost.chunk_count > 0


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_book_at_once_take_turns(garden):
    import threading

    from django.db import connection

    data = zip_folder(garden)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(import_book(data))
        except Exception as error:  # noqa: BLE001 - the test reports whatever a thread raised
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # One of them created the eight pages; the other, waiting its turn, found them unchanged.
    assert sorted((r.queued, r.unchanged) for r in results) == [(0, 8), (8, 0)]
    assert SourceDocument.objects.filter(source_key__startswith="book:garden/").count() == 8


def test_no_room_for_temporary_files_is_a_clear_refusal(garden, monkeypatch):
    import errno
    import tempfile

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_room)
    with pytest.raises(ArchiveRejected, match="could not unpack .* nothing was changed"):
        import_book(zip_folder(garden))
    assert SourceDocument.objects.count() == 0
