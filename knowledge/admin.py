"""Admin for curating the knowledge base. Thin: forms and actions call services."""

from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from .archives import book_name_for
from .models import BOOK_KEY_PREFIX, Chunk, SourceDocument, UrlStyle, book_key
from .selectors import documents_needing_reindex, imported_books, ingestion_worker_latest
from .services import (
    BookImport,
    book_import,
    document_default_title,
    document_delete,
    document_schedule_ingest,
    document_set_source,
    worker_stale_after,
)
from .sources import SUPPORTED_EXTENSIONS, SourceRejected, reference_check, source_check_size

CHUNK_PREVIEW_LIMIT = 200


class SourceDocumentForm(forms.ModelForm):
    upload = forms.FileField(
        required=False,
        help_text=f"A {SUPPORTED_EXTENSIONS} file. It replaces the pasted text. "
        f"At most {settings.KNOWLEDGE_MAX_UPLOAD_BYTES // 1_048_576} MB.",
    )

    class Meta:
        model = SourceDocument
        fields = ["title", "reference", "url_style", "upload", "text"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields[
            "title"
        ].help_text = (
            "Leave empty to use the front-matter title, the first heading, a PDF's own title or the file name."
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            cleaned["reference"] = reference_check(reference=cleaned.get("reference") or "")
        except SourceRejected as error:
            self.add_error("reference", str(error))
        if not cleaned.get("url_style"):
            cleaned["url_style"] = self.instance.url_style = UrlStyle.PLAIN
        upload = cleaned.get("upload")
        text = cleaned.get("text") or ""
        try:
            if upload:
                # Refuse an oversize file before reading it into memory.
                source_check_size(file_name=upload.name, size=upload.size)
                document_set_source(document=self.instance, file_name=upload.name, file_data=upload.read())
                cleaned["text"] = ""
            elif text.strip() or not self.instance.file_data:
                document_set_source(document=self.instance, text=text)
                cleaned["text"] = self.instance.text
        except SourceRejected as error:
            self.add_error("upload" if upload else "text", str(error))
            return cleaned
        if not (cleaned.get("title") or "").strip():
            cleaned["title"] = document_default_title(document=self.instance)
            self.instance.title = cleaned["title"]
        return cleaned


class BookImportForm(forms.Form):
    archive = forms.FileField(
        label="Book archive",
        help_text="A .zip of the book's repository or folder: a Docusaurus or MkDocs site (its config and docs "
        f"folder), or a folder of {SUPPORTED_EXTENSIONS} files. At most "
        f"{settings.KNOWLEDGE_MAX_ARCHIVE_BYTES // 1_048_576} MB. GitHub's “Download ZIP” works as it is.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    name = forms.CharField(
        required=False,
        max_length=100,
        help_text="Importing under the same name again updates that book. Default: the archive's file name.",
    )
    site_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Site address",
        help_text="Where the book is published, e.g. https://book.example.org/, for citation links. Default: "
        "the address in the site's config.",
    )
    prune = forms.BooleanField(
        required=False,
        initial=True,
        label="Remove the pages the book no longer has (gone from the archive, or now drafts)",
    )

    def import_arguments(self) -> dict:
        """The book_import() arguments of a valid form."""
        archive = self.cleaned_data["archive"]
        return {
            "name": self.cleaned_data["name"].strip() or book_name_for(file_name=archive.name),
            "archive": archive,
            "file_name": archive.name,
            "site_url": self.cleaned_data["site_url"],
            "prune": self.cleaned_data["prune"],
        }


class ImportedBookFilter(admin.SimpleListFilter):
    """The pages of one book imported as an archive."""

    title = "imported book"
    parameter_name = "book"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(book.name, f"{book.name} ({book.pages})") for book in imported_books()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SourceDocument]) -> QuerySet[SourceDocument]:
        if not self.value():
            return queryset
        return queryset.filter(source_key__startswith=book_key(name=self.value(), path=""))


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    form = SourceDocumentForm
    change_list_template = "admin/knowledge/sourcedocument/change_list.html"

    class Media:
        css = {"all": ["knowledge/admin.css"]}

    list_display = ["title", "status_badge", "chunk_count", "embedding_model", "source", "updated_at"]
    list_filter = ["status", "embedding_model", ImportedBookFilter]
    search_fields = ["title", "reference", "file_name"]
    actions = ["reindex_selected", "delete_selected_documents"]
    readonly_fields = [
        "status_badge",
        "error",
        "source",
        "markdown_format",
        "heading_ids",
        "chunk_count",
        "embedding_model",
        "indexed_at",
        "created_at",
        "updated_at",
        "chunks_preview",
    ]
    fieldsets = [
        (None, {"fields": ["title", "reference", "url_style"]}),
        ("Source", {"fields": ["upload", "text", "source", "markdown_format", "heading_ids"]}),
        ("Index", {"fields": ["status_badge", "error", "chunk_count", "embedding_model", "indexed_at"]}),
        ("Chunks", {"classes": ["collapse"], "fields": ["chunks_preview"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by the service-backed action
        return actions

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        self._report_worker(request)
        stale = documents_needing_reindex().count()
        if stale:
            self.message_user(
                request,
                f"{stale} document(s) were indexed with another embedding model and are not searched. "
                "Run `python manage.py reindex` to rebuild the index.",
                messages.WARNING,
            )
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def _report_worker(self, request: HttpRequest) -> None:
        worker = ingestion_worker_latest()
        if worker is None:
            self.message_user(
                request,
                "No ingestion worker has reported yet: new documents stay pending until one runs "
                "(`python manage.py ingestion_worker`; `make run` starts it).",
                messages.WARNING,
            )
            return
        ago = int((timezone.now() - worker.last_seen).total_seconds())
        if timezone.now() - worker.last_seen > worker_stale_after():
            self.message_user(
                request,
                f"The ingestion worker was last seen {ago} s ago ({worker.state}): documents stay pending until "
                "it runs again.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"Ingestion worker: {worker.state}, last heartbeat {ago} s ago.", messages.INFO)

    def get_urls(self) -> list:
        own = path(
            "import-book/",
            self.admin_site.admin_view(self.import_book_view),
            name="knowledge_sourcedocument_import_book",
        )
        return [own, *super().get_urls()]

    def has_import_permission(self, request: HttpRequest) -> bool:
        """Importing adds, changes and (with pruning) deletes documents."""
        return all(
            check(request)
            for check in (self.has_add_permission, self.has_change_permission, self.has_delete_permission)
        )

    def import_book_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = BookImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = book_import(**form.import_arguments())
            except SourceRejected as error:
                form.add_error("archive", str(error))
            except DatabaseError:
                form.add_error(None, "The database is not available; nothing was changed. Try again in a moment.")
            else:
                self._report_import(request, result)
                return redirect("admin:knowledge_sourcedocument_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a book",
            "opts": self.opts,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
            "books": imported_books(),
        }
        return TemplateResponse(request, "admin/knowledge/sourcedocument/import_book.html", context)

    def _report_import(self, request: HttpRequest, result: BookImport) -> None:
        parts = [f"{result.queued} page(s) queued for indexing", f"{result.unchanged} unchanged"]
        if result.skipped:
            parts.append(result.skipped)
        if result.removed:
            more = ", …" if len(result.removed) > 10 else ""
            parts.append(f"{len(result.removed)} removed: {', '.join(result.removed[:10])}{more}")
        self.message_user(request, f"Imported “{result.name}” ({result.style}): {'; '.join(parts)}.")
        for failure in result.failed[:20]:
            self.message_user(request, f"Not loaded: {failure}", messages.ERROR)
        if len(result.failed) > 20:
            self.message_user(request, f"… and {len(result.failed) - 20} more not loaded.", messages.ERROR)

    def save_model(self, request: HttpRequest, obj: SourceDocument, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change or {"upload", "text", "title", "url_style"} & set(form.changed_data):
            document_schedule_ingest(document=obj)
            self.message_user(request, f"“{obj.title}” is queued for indexing; its status updates when it is done.")

    def delete_model(self, request: HttpRequest, obj: SourceDocument) -> None:
        document_delete(document=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SourceDocument]) -> None:
        for document in queryset:
            document_delete(document=document)

    @admin.action(description="Re-index selected documents", permissions=["change"])
    def reindex_selected(self, request: HttpRequest, queryset: QuerySet[SourceDocument]) -> None:
        count = 0
        for document in queryset:
            document_schedule_ingest(document=document)
            count += 1
        self.message_user(request, f"Queued {count} document(s) for re-indexing.")

    @admin.action(description="Delete selected documents and their chunks", permissions=["delete"])
    def delete_selected_documents(self, request: HttpRequest, queryset: QuerySet[SourceDocument]) -> None:
        count = 0
        for document in queryset:
            document_delete(document=document)
            count += 1
        self.message_user(request, f"Deleted {count} document(s).")

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: SourceDocument) -> str:
        label = obj.get_status_display()
        if obj.status == SourceDocument.Status.FAILED and obj.error:
            label = f"{label}: {Truncator(obj.error).chars(80)}"
        return format_html('<strong class="status-badge status-{}">{}</strong>', obj.status, label)

    @admin.display(description="Source")
    def source(self, obj: SourceDocument) -> str:
        # A book's pages are often all index.md: its path in the book tells them apart.
        if obj.source_key and obj.source_key.startswith(BOOK_KEY_PREFIX):
            book, _, page = obj.source_key.removeprefix(BOOK_KEY_PREFIX).partition("/")
            return f"{page} (imported book {book})"
        if obj.source_key and obj.file_name:
            return f"{'/'.join(PurePosixPath(obj.source_key).parts[-3:])} ({obj.mime_type})"
        if obj.file_name:
            return f"{obj.file_name} ({obj.mime_type})"
        return f"Pasted text ({len(obj.text):,} characters)" if obj.text else "-"

    @admin.display(description="Chunks")
    def chunks_preview(self, obj: SourceDocument) -> str:
        # Rendered as text, never through pgvector's form widget, which crashes on vector values.
        chunks = list(obj.chunks.only("position", "section", "anchor", "text")[:CHUNK_PREVIEW_LIMIT])
        if not chunks:
            return "No chunks yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (c.position, c.section or "-", f"#{c.anchor}" if c.anchor else "-", Truncator(c.text).chars(300))
                for c in chunks
            ),
        )
        note = f"Showing {len(chunks)} of {obj.chunk_count}." if obj.chunk_count > len(chunks) else ""
        return format_html(
            "<p>{}</p><table><thead><tr><th>#</th><th>Section</th><th>Anchor</th><th>Text</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            note,
            rows,
        )


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["document", "position", "section", "excerpt"]
    list_filter = ["document"]
    search_fields = ["text", "section", "document__title"]
    list_select_related = ["document"]
    fields = ["document", "position", "section", "anchor", "start_char", "end_char", "text"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chunk]:
        return super().get_queryset(request).defer("embedding", "search_vector")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Chunk | None = None) -> bool:
        return False

    @admin.display(description="Text")
    def excerpt(self, obj: Chunk) -> str:
        return Truncator(obj.text).chars(120)
