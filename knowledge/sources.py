"""Check uploaded files by their content before anything is stored or indexed."""

import io
import logging
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit

from django.conf import settings

from .notebooks import NOTEBOOK_MIME, NotebookUnreadable, read_notebook

logger = logging.getLogger(__name__)

# Markdown under every name a site generator reads it by (MkDocs: .md, .markdown, .mdown, .mkdn, .mkd;
# Docusaurus: .md, .mdx).
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdx", ".mdown", ".mkdn", ".mkd"})
HTML_EXTENSIONS = frozenset({".html", ".htm"})
MIME_BY_EXTENSION = {
    ".txt": "text/plain",
    ".text": "text/plain",
    **dict.fromkeys(sorted(MARKDOWN_EXTENSIONS), "text/markdown"),
    **dict.fromkeys(sorted(HTML_EXTENSIONS), "text/html"),
    ".pdf": "application/pdf",
    ".ipynb": NOTEBOOK_MIME,
}
SUPPORTED_EXTENSIONS = ", ".join(sorted(MIME_BY_EXTENSION))


class SourceRejected(ValueError):
    """A file or text that cannot become a document; the message tells the admin what to do."""


@dataclass(frozen=True)
class CheckedSource:
    """A source that passed the checks: its bytes (UTF-8 for text types) and MIME type."""

    data: bytes
    mime_type: str


def source_check_file(*, file_name: str, data: bytes) -> CheckedSource:
    """Validate an uploaded file by size, extension and content; re-encode text files as UTF-8."""
    source_check_size(file_name=file_name, size=len(data))
    if not data.strip():
        raise SourceRejected(f"“{file_name}” is empty. Upload a file with text in it.")
    extension = PurePath(file_name).suffix.lower()
    mime_type = MIME_BY_EXTENSION.get(extension)
    if mime_type is None:
        raise SourceRejected(
            f"“{file_name}” has an unsupported type ({extension or 'no extension'}). "
            f"Upload one of: {SUPPORTED_EXTENSIONS}."
        )
    if mime_type == "application/pdf":
        _check_pdf(file_name=file_name, data=data)
        return CheckedSource(data=data, mime_type=mime_type)
    if data.startswith(b"%PDF-"):
        raise SourceRejected(f"“{file_name}” is a PDF file with a {extension} name. Rename it to .pdf.")
    text = _decode_text(file_name=file_name, data=data)
    if mime_type == NOTEBOOK_MIME:
        _check_notebook(file_name=file_name, text=text)
    return CheckedSource(data=text.encode("utf-8"), mime_type=mime_type)


def reference_is_safe(reference: str) -> bool:
    """Whether a citation reference may become a link: empty, relative, or http(s)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in reference):
        return False
    scheme = urlsplit(reference.strip()).scheme.lower()
    return scheme in ("", "http", "https")


def reference_check(*, reference: str) -> str:
    """Refuse references that are not http(s) or relative links (``javascript:`` would run in the book)."""
    if not reference_is_safe(reference):
        raise SourceRejected("The reference must be a web address (https://…) or a path on the book's site (/docs/…).")
    return reference.strip()


def source_check_size(*, file_name: str, size: int) -> None:
    """Refuse files over KNOWLEDGE_MAX_UPLOAD_BYTES."""
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    if size > limit:
        raise SourceRejected(
            f"“{file_name}” is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.1f} MB. "
            "Split it into smaller files (for example one per chapter)."
        )


def source_check_text(*, text: str) -> str:
    """Validate pasted text; return it with line endings normalised."""
    if not text.strip():
        raise SourceRejected("The text is empty. Paste some text or upload a file.")
    if len(text) > settings.KNOWLEDGE_MAX_TEXT_CHARS:
        raise SourceRejected(
            f"The text has {len(text):,} characters; the limit is {settings.KNOWLEDGE_MAX_TEXT_CHARS:,}. "
            "Split it into several documents."
        )
    return text.replace("\r\n", "\n").replace("\x00", "")


def _decode_text(*, file_name: str, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    if b"\x00" in data and candidates != ["utf-16"]:
        raise SourceRejected(
            f"“{file_name}” looks like a binary file, not text. Upload a .txt, .md, .html, .ipynb or .pdf file."
        )
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) > 0.01:
            break
        return text
    raise SourceRejected(
        f"“{file_name}” is not readable text (tried UTF-8, UTF-16 and Windows-1252). Save it as UTF-8 and upload again."
    )


def _control_ratio(text: str) -> float:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls / max(len(text), 1)


def _check_notebook(*, file_name: str, text: str) -> None:
    try:
        read_notebook(text)
    except NotebookUnreadable as error:
        raise SourceRejected(
            f"“{file_name}” is not a Jupyter notebook that can be read: {error}. Save it again from Jupyter and "
            "upload it."
        ) from None


def _check_pdf(*, file_name: str, data: bytes) -> None:
    from pypdf import PdfReader  # noqa: PLC0415
    from pypdf.errors import PyPdfError  # noqa: PLC0415

    if not data.startswith(b"%PDF-"):
        raise SourceRejected(f"“{file_name}” is not a PDF file (its content does not start with %PDF).")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise SourceRejected(f"“{file_name}” is encrypted. Remove the password and upload it again.")
        if len(reader.pages) == 0:
            raise SourceRejected(f"“{file_name}” has no pages.")
    except SourceRejected:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        logger.info("rejected PDF %s: %s", file_name, error)
        raise SourceRejected(
            f"“{file_name}” is a damaged PDF that cannot be read. Export it again and upload it."
        ) from error
