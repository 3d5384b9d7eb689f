"""Source documents curated by admins, and the embedded chunks retrieval searches."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

SEARCH_CONFIG = "english"


class UrlStyle(models.TextChoices):
    """Which site generator's rules make a document's section anchors."""

    PLAIN = "plain", "Plain (this project's book)"
    DOCUSAURUS = "docusaurus", "Docusaurus"
    MKDOCS = "mkdocs", "MkDocs"


class MarkdownFormat(models.TextChoices):
    """How a Docusaurus site reads its Markdown files (its config's markdown.format)."""

    DEFAULT = "", "As the site generator does by default"
    MDX = "mdx", "MDX (every file)"
    MD = "md", "CommonMark (every file)"
    DETECT = "detect", "By extension (.mdx as MDX, .md as CommonMark)"


# The source key of a page of a book imported as an archive in the admin: stable across imports, whatever
# temporary folder the archive was unpacked to.
BOOK_KEY_PREFIX = "book:"


def book_key(*, name: str, path: str) -> str:
    """``book:<name>/<the page's path in the book>``."""
    return f"{BOOK_KEY_PREFIX}{name}/{path}"


class SourceDocument(models.Model):
    """One source of knowledge: an uploaded file or pasted text, and its indexing state."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INDEXING = "indexing", "Indexing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=300)
    reference = models.CharField(
        max_length=1000,
        blank=True,
        help_text="A URL or reference shown in citations, e.g. https://example.org/book/chapter-1.",
    )
    source_key = models.CharField(
        max_length=1000,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Stable key for bulk loads (the file path given to `manage.py ingest`).",
    )
    url_style = models.CharField(
        max_length=16,
        choices=UrlStyle.choices,
        default=UrlStyle.PLAIN,
        blank=True,
        verbose_name="site generator",
        help_text="Builds section anchors in citation links the way this site generator does.",
    )
    markdown_format = models.CharField(
        max_length=8,
        choices=MarkdownFormat.choices,
        default=MarkdownFormat.DEFAULT,
        blank=True,
        editable=False,
        help_text="How the site reads its Markdown (markdown.format in docusaurus.config), as ingest found it.",
    )
    heading_ids = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=(
            "How the site gives its headings ids, where it changes its generator's default (mkdocs.yml's toc "
            "slugify and separator, Docusaurus's markdown.anchors.maintainCase), as ingest found it."
        ),
    )
    metadata = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Front matter kept with the document (description, tags)."
    )
    text = models.TextField(blank=True, help_text="Pasted text or Markdown. Leave empty when uploading a file.")
    file_name = models.CharField(max_length=255, blank=True, editable=False)
    file_data = models.BinaryField(null=True, blank=True, editable=False)
    mime_type = models.CharField(max_length=100, default="text/markdown", editable=False)

    extracted_text = models.TextField(blank=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True, editable=False)
    chunk_count = models.PositiveIntegerField(default=0, editable=False)
    embedding_model = models.CharField(max_length=200, blank=True, editable=False)
    indexed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    """A passage of a document with its section, offsets, embedding and full-text vector."""

    document = models.ForeignKey(SourceDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    section = models.CharField(max_length=1000, blank=True)
    anchor = models.CharField(max_length=300, blank=True, help_text="The section's anchor on the book's site.")
    start_char = models.PositiveIntegerField()
    end_char = models.PositiveIntegerField()
    # sha256 of the text that was embedded (context + text): equal hashes reuse the stored vector.
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS)
    search_vector = models.GeneratedField(
        expression=SearchVector("section", weight="A", config=SEARCH_CONFIG)
        + SearchVector("text", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="chunk_unique_position"),
        ]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class Lexeme(models.Model):
    """How many chunks hold a full-text lexeme: BM25's document frequency, kept by triggers on the chunk table."""

    lexeme = models.TextField(primary_key=True)
    chunks = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.lexeme} ({self.chunks})"


class LexiconStats(models.Model):
    """The chunk table's totals BM25 reads (one row, kept by the same triggers): chunks and their lexemes."""

    chunks = models.BigIntegerField(default=0)
    lexemes = models.BigIntegerField(default=0, help_text="The sum of every chunk's distinct lexemes.")

    class Meta:
        verbose_name_plural = "lexicon stats"

    def __str__(self) -> str:
        return f"{self.chunks} chunks, {self.lexemes} lexemes"


class IngestionWorker(models.Model):
    """An ingestion worker process, as it last reported itself (its heartbeat)."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True)
    state = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host} ({self.state})"
