"""The admin, through the test client as a staff user: add, upload, actions, bad files."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from knowledge.models import Chunk, SourceDocument
from tests.archive_factory import zip_folder, zip_members
from tests.conftest import GUIDE_MD
from tests.pdf_factory import make_pdf

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:knowledge_sourcedocument_add")
CHANGELIST_URL = reverse("admin:knowledge_sourcedocument_changelist")


def add(client: Client, **data):
    payload = {"title": "Doc", "reference": "", "text": "", **data}
    return client.post(ADD_URL, payload)


def form_errors(response) -> str:
    return " ".join(str(error) for error in response.context["adminform"].form.errors.values())


def test_anonymous_users_are_sent_to_login():
    client = Client()
    for url in (CHANGELIST_URL, ADD_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    assert add(client, title="Sneaky", text="# Hi\n\nText.").status_code == 302
    assert SourceDocument.objects.count() == 0


def test_non_staff_users_are_refused():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="reader", password="a-long-test-pass")
    client = Client()
    client.force_login(user)
    assert client.get(CHANGELIST_URL).status_code == 302


def test_add_pasted_text_indexes_it(staff_client):
    response = add(staff_client, title="Guide", reference="https://example.org/guide", text=GUIDE_MD)
    assert response.status_code == 302
    document = SourceDocument.objects.get(title="Guide")
    assert document.status == SourceDocument.Status.READY
    assert document.chunk_count == Chunk.objects.filter(document=document).count() > 0
    page = staff_client.get(reverse("admin:knowledge_sourcedocument_change", args=[document.pk]))
    assert page.status_code == 200
    assert b"snowy owl" in page.content
    assert b"Field Guide &gt; Birds" in page.content


def test_upload_markdown_file(staff_client):
    upload = SimpleUploadedFile("guide.md", GUIDE_MD.encode(), content_type="text/markdown")
    assert add(staff_client, title="Uploaded", upload=upload).status_code == 302
    document = SourceDocument.objects.get(title="Uploaded")
    assert document.file_name == "guide.md"
    assert document.status == SourceDocument.Status.READY


MDX = b"""---
title: Firmware
description: Flash it.
---

import Tabs from '@theme/Tabs';

# Firmware heading

:::tip[Power]
Sleep between readings.
:::

<Tabs><TabItem value="a">Flash at 460800 baud.</TabItem></Tabs>
"""


def test_upload_mdx_with_front_matter_matches_the_ingest_command(staff_client, tmp_path):
    from django.core.management import call_command

    upload = SimpleUploadedFile("firmware.mdx", MDX, content_type="text/markdown")
    assert add(staff_client, title="", url_style="docusaurus", upload=upload).status_code == 302
    uploaded = SourceDocument.objects.get()
    assert uploaded.title == "Firmware" and uploaded.status == SourceDocument.Status.READY
    (tmp_path / "firmware.mdx").write_bytes(MDX)
    call_command("ingest", str(tmp_path), "--site", "docusaurus", "--no-progress", stdout=StringIO())
    loaded = SourceDocument.objects.exclude(pk=uploaded.pk).get()
    columns = ("section", "anchor", "text")
    assert list(uploaded.chunks.values_list(*columns)) == list(loaded.chunks.values_list(*columns))
    assert list(uploaded.chunks.values_list("text", flat=True)) == [
        "Power: Sleep between readings.\n\na: Flash at 460800 baud."  # a tab without a label shows its value
    ]


def test_upload_pdf_file(staff_client):
    upload = SimpleUploadedFile("a.pdf", make_pdf(["Tides are caused by the moon."]), content_type="application/pdf")
    assert add(staff_client, title="Tides", upload=upload).status_code == 302
    assert SourceDocument.objects.get(title="Tides").chunks.filter(text__contains="moon").exists()


def test_upload_jupyter_notebook(staff_client):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Tides notebook\n\nTides are caused by the moon."},
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "print(12.42)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "12.42\n"}],
        },
    ]
    data = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode()
    assert add(staff_client, title="", upload=SimpleUploadedFile("tides.ipynb", data)).status_code == 302
    document = SourceDocument.objects.get()
    assert (document.title, document.mime_type, document.status) == (
        "Tides notebook",
        "application/x-ipynb+json",
        "ready",
    )
    assert list(document.chunks.values_list("text", flat=True)) == [
        "Tides are caused by the moon.\n\n```python\nprint(12.42)\n```\n\n```output\n12.42\n```"
    ]


def encrypted_pdf() -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["secret"]))))
    writer.encrypt("password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_FILES = [
    ("corrupt.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "damaged PDF"),
    ("not-a-pdf.pdf", b"hello, I am text", "not a PDF"),
    ("report.docx", b"PK\x03\x04 word document", "unsupported type"),
    ("empty.txt", b"", "empty"),
    ("blank.md", b"   \n\n  ", "empty"),
    ("binary.txt", bytes(range(256)) * 10, "binary"),
    ("renamed.txt", make_pdf(["x"]), "PDF file with a .txt name"),
    ("broken.ipynb", b'{"cells": [', "not a Jupyter notebook that can be read: it is not valid JSON"),
    ("data.ipynb", b'{"rows": [1, 2]}', "it has no nbformat version"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[name for name, _, _ in BAD_FILES])
def test_bad_files_get_a_clear_error_and_change_nothing(staff_client, make_document, name, data, message):
    existing = make_document()
    chunks_before = list(Chunk.objects.values_list("id", flat=True))
    response = add(staff_client, title="Bad", upload=SimpleUploadedFile(name, data))
    assert response.status_code == 200
    assert message in form_errors(response)
    assert list(SourceDocument.objects.all()) == [existing]
    assert list(Chunk.objects.values_list("id", flat=True)) == chunks_before


def test_encrypted_pdf_is_refused(staff_client):
    response = add(staff_client, title="Locked", upload=SimpleUploadedFile("locked.pdf", encrypted_pdf()))
    assert response.status_code == 200
    assert "encrypted" in form_errors(response)


def test_oversize_file_is_refused(staff_client, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
    big = SimpleUploadedFile("big.txt", b"word " * (11 * 1024 * 1024))  # 55 MB
    response = add(staff_client, title="Big", upload=big)
    assert response.status_code == 200
    assert "the limit is 50.0 MB" in form_errors(response)
    assert not SourceDocument.objects.exists()


def test_windows_1252_text_is_decoded(staff_client):
    upload = SimpleUploadedFile("cafe.txt", "Caf\xe9 au lait costs \u20ac 3.".encode("cp1252"))
    assert add(staff_client, title="Cafe", upload=upload).status_code == 302
    document = SourceDocument.objects.get(title="Cafe")
    assert "Café au lait costs € 3." in document.extracted_text


def test_neither_file_nor_text_is_an_error(staff_client):
    response = add(staff_client, title="Nothing")
    assert response.status_code == 200
    assert "empty" in form_errors(response)


def test_reindex_action(staff_client, make_document, embedder_spy):
    document = make_document()
    embedder_spy.reset()
    response = staff_client.post(
        CHANGELIST_URL, {"action": "reindex_selected", "_selected_action": [document.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Queued 1 document(s)" in response.content.decode()
    document.refresh_from_db()
    assert document.status == SourceDocument.Status.READY
    assert embedder_spy.embedded == 0  # nothing changed, so nothing is re-embedded


def test_delete_action_removes_documents_and_chunks(staff_client, make_document):
    document = make_document()
    keep = make_document(title="Keep", text="# Keep\n\nKeep this.")
    response = staff_client.post(
        CHANGELIST_URL, {"action": "delete_selected_documents", "_selected_action": [document.pk]}, follow=True
    )
    assert response.status_code == 200
    assert list(SourceDocument.objects.all()) == [keep]
    assert not Chunk.objects.filter(document_id=document.pk).exists()


def test_failed_ingestion_shows_in_the_list(staff_client, make_document):
    make_document(title="Headings only", text="# Only a heading\n")
    page = staff_client.get(CHANGELIST_URL, {"status__exact": "failed"})
    assert page.status_code == 200
    assert "No text could be extracted" in page.content.decode()


def test_model_mismatch_warning_and_search(staff_client, make_document):
    document = make_document()
    SourceDocument.objects.filter(pk=document.pk).update(embedding_model="other:model:384")
    page = staff_client.get(CHANGELIST_URL, {"q": "Field"}, follow=True)
    assert "manage.py reindex" in page.content.decode()


def test_chunk_pages_render_without_the_vector_widget(staff_client, make_document):
    document = make_document()
    chunk = document.chunks.first()
    listing = staff_client.get(reverse("admin:knowledge_chunk_changelist"))
    assert listing.status_code == 200
    detail = staff_client.get(reverse("admin:knowledge_chunk_change", args=[chunk.pk]))
    assert detail.status_code == 200
    assert b'name="embedding"' not in detail.content
    assert staff_client.get(reverse("admin:knowledge_chunk_add")).status_code == 403


@pytest.mark.parametrize(
    "reference", ["javascript:alert(document.domain)//", " JavaScript:alert(1)", "java\tscript:x", "data:text/html,x"]
)
def test_references_that_are_not_web_links_are_refused(staff_client, reference):
    response = add(staff_client, title="Evil", reference=reference, text="# Evil\n\nText.")
    assert response.status_code == 200
    assert "must be a web address" in form_errors(response)
    assert SourceDocument.objects.count() == 0


def test_web_and_relative_references_are_kept(staff_client):
    for reference in ("https://book.example.org/docs/x#a", "/docs/x", "docs/x.md"):
        assert add(staff_client, title=reference, reference=reference, text="# A\n\nText.").status_code == 302
    assert SourceDocument.objects.count() == 3


def test_a_paste_over_the_form_size_default_gets_the_forms_own_message(staff_client, settings):
    # Django's own limit used to be 2.5 MB, below the text limit: a long paste got a bare "Bad Request (400)".
    settings.KNOWLEDGE_MAX_TEXT_CHARS = 2_000_000
    text = "# Long\n\n" + "word " * 700_000  # 3.5 MB
    response = staff_client.post(ADD_URL, {"title": "Long", "text": text, "url_style": "plain"})
    assert response.status_code == 200
    assert "the limit is 2,000,000" in response.content.decode()
    assert not SourceDocument.objects.exists()


IMPORT_URL = reverse("admin:knowledge_sourcedocument_import_book")
GARDEN = Path(__file__).resolve().parents[1] / "fixtures" / "garden-book"


def upload_book(client: Client, data: bytes, *, file_name: str = "garden-main.zip", **fields):
    archive = SimpleUploadedFile(file_name, data, content_type="application/zip")
    return client.post(IMPORT_URL, {"archive": archive, "prune": "on", **fields}, follow=True)


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_document_list_offers_to_import_a_book(staff_client):
    page = staff_client.get(CHANGELIST_URL)
    assert IMPORT_URL.encode() in page.content and b"Import a book" in page.content
    form = staff_client.get(IMPORT_URL)
    assert form.status_code == 200
    assert b'type="file" name="archive"' in form.content and b'enctype="multipart/form-data"' in form.content


def test_a_book_archive_is_imported_and_reported(staff_client, tmp_path, make_document):
    response = upload_book(staff_client, zip_folder(GARDEN, top="garden-main"))
    assert response.redirect_chain == [(CHANGELIST_URL, 302)]
    (report,) = [m for m in page_messages(response) if m.startswith("Imported")]
    assert report == (
        "Imported “garden-main” (mkdocs): 8 page(s) queued for indexing; 0 unchanged; "
        "7 skipped: 3 not on the site (outside the site's docs/ folder), 2 empty, 2 unsupported (.toml, .yml)."
    )
    assert SourceDocument.objects.filter(status="ready", source_key__startswith="book:garden-main/").count() == 8
    assert b"Kitchen Garden Handbook" in response.content
    assert "docs/soil/index.md (imported book garden-main)" in response.content.decode()  # not just index.md
    listing = staff_client.get(IMPORT_URL)
    # The imported books, to update by name, each linked to its pages.
    ((book,),) = [listing.context["books"]]
    assert (book.name, book.pages, book.ready, book.waiting, book.failed) == ("garden-main", 8, 8, 0, 0)
    assert f'<a href="{CHANGELIST_URL}?book=garden-main">8</a>' in listing.content.decode()
    SourceDocument.objects.filter(source_key="book:garden-main/docs/index.md").update(status="failed")
    SourceDocument.objects.filter(source_key="book:garden-main/docs/soil/index.md").update(status="pending")
    listing = staff_client.get(IMPORT_URL)
    ((book,),) = [listing.context["books"]]
    assert (book.ready, book.waiting, book.failed) == (6, 1, 1)
    assert f'<a href="{CHANGELIST_URL}?book=garden-main&amp;status__exact=failed">1</a>' in listing.content.decode()
    SourceDocument.objects.filter(source_key__startswith="book:").update(status="ready")
    make_document(title="Not in the book")
    pages = staff_client.get(CHANGELIST_URL, {"book": "garden-main"})
    assert pages.context["cl"].result_count == 8 and b"Not in the book" not in pages.content
    assert staff_client.get(CHANGELIST_URL).context["cl"].result_count == 9

    (compost,) = SourceDocument.objects.filter(source_key="book:garden-main/docs/soil/compost.md")
    shutil.copytree(GARDEN, tmp_path / "garden")
    (tmp_path / "garden" / "docs" / "soil" / "compost.md").unlink()
    again = upload_book(staff_client, zip_folder(tmp_path / "garden", top="main"), name="garden-main")
    assert any(f"1 removed: {compost.title}" in m for m in page_messages(again))


def test_a_hostile_archive_gets_the_forms_error_and_changes_nothing(staff_client, make_document):
    document = make_document()
    hostile = zip_members({"docs/a.md": "# A\n\nText.\n", "../../etc/cron.d/evil": "* * * * * root true"})
    for data, message in [
        (hostile, "outside its own folder"),
        (b"PK\x03\x04 truncated", "could not be read as a .zip archive"),
    ]:
        response = upload_book(staff_client, data)
        assert response.status_code == 200 and response.redirect_chain == []
        assert message in response.content.decode()
    assert list(SourceDocument.objects.values_list("pk", flat=True)) == [document.pk]


def test_a_bad_book_name_is_refused(staff_client):
    response = upload_book(staff_client, zip_folder(GARDEN), name="../../x")
    assert "cannot name a book" in response.content.decode()
    assert SourceDocument.objects.count() == 0


def test_importing_needs_the_rights_to_add_change_and_delete_documents():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    editor = get_user_model().objects.create_user(username="editor", password="a-long-test-pass", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_sourcedocument", "add_sourcedocument", "change_sourcedocument"])
    )
    client = Client()
    client.force_login(editor)
    assert b"Import a book" not in client.get(CHANGELIST_URL).content
    assert client.get(IMPORT_URL).status_code == 403
    assert upload_book(client, zip_folder(GARDEN)).status_code == 403
    assert SourceDocument.objects.count() == 0
    assert Client().get(IMPORT_URL).status_code == 302  # anonymous: to the login page


def test_the_list_tells_pages_of_the_same_name_apart(staff_client):
    from knowledge.services import document_upsert_from_file

    for folder in ("guide", "reference"):
        document_upsert_from_file(
            source_key=f"/srv/books/weather/{folder}/index.md",
            title=f"{folder.title()} index",
            file_name="index.md",
            data=b"# Index\n\nThe barometer falls.\n",
        )
    page = staff_client.get(CHANGELIST_URL).content.decode()
    assert "weather/guide/index.md (text/markdown)" in page
    assert "weather/reference/index.md (text/markdown)" in page
