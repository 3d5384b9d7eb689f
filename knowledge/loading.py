"""Find a book's files on disk and plan how each is loaded: its key, title, citation link, or why it is skipped.

A read-only step for the bulk-loading commands; the writes are in ``services``.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .autodoc import MkDocstrings
from .includes import IncludeMarkdown, inline_includes
from .macros import MkDocsMacros
from .markdown import parse_markdown, reads_as_mdx
from .notebooks import (
    NOTEBOOK_HEADING_IDS,
    NotebookUnreadable,
    NotebookView,
    notebook_as_shown,
    notebook_markdown,
    script_notebook,
)
from .pdf import pdf_title
from .sites import (
    SiteLayout,
    asset_reference,
    build_address,
    docusaurus_outer_folders,
    docusaurus_page_title,
    mkdocs_page_title,
    page_reference,
    site_layout,
    site_root,
)
from .slugs import STYLES
from .sources import HTML_EXTENSIONS, MARKDOWN_EXTENSIONS, MIME_BY_EXTENSION

_IGNORED_FOLDERS = frozenset({"node_modules", "build", "site", "__pycache__"})
# What a built site holds beside its pages: Sphinx's copies of the pages' sources and its assets; and the pages a
# generator makes of no page of the book (an error page; Sphinx's index, module index and search pages).
_BUILT_SITE_COPIES = ("_sources/", "_static/")
_BUILT_SITE_PAGES = frozenset({"404.html", "genindex.html", "py-modindex.html", "search.html"})
_METADATA_KEYS = ("description", "tags", "keywords", "sidebar_label", "sidebar_position", "id", "slug", "authors")


@dataclass(frozen=True)
class BookFile:
    """One file of a book and how to load it (``skip`` says why it is not loaded)."""

    path: Path
    key: str
    legacy_key: str
    title: str = ""
    reference: str = ""
    url_style: str = "plain"
    markdown_format: str = ""  # how the site reads its Markdown (knowledge.models.MarkdownFormat)
    heading_ids: dict[str, Any] = field(default_factory=dict)  # the site's heading-id settings (HeadingIds)
    metadata: dict[str, Any] = field(default_factory=dict)
    skip: str = ""
    site_folder: Path | None = None  # its site's folder (what a page may include files from)
    include_boundary: Path | None = None  # where a page's included files may be, when not only its site's folder
    snippet_paths: tuple[Path, ...] = ()  # where an MkDocs page's snippets are looked up
    snippet_append: tuple[str, ...] = ()  # and the snippets appended to each of its pages
    include_markdown: IncludeMarkdown | None = None  # an MkDocs site's include-markdown plugin
    macros: MkDocsMacros | None = None  # and its macros plugin
    autodoc: MkDocstrings | None = None  # and mkdocstrings' settings
    notebook_view: NotebookView | None = None  # a notebook page of an MkDocs site: what the page shows of it

    def read(self) -> bytes:
        """The file's bytes; for a page of a Docusaurus or MkDocs site, with the files it includes inlined; for a
        notebook page, without what the page leaves out."""
        data = self.path.read_bytes()
        if self.notebook_view is not None:
            text = data.decode("utf-8", errors="replace")
            try:
                notebook = script_notebook(text) if self.path.suffix.lower() == ".py" else text
                return notebook_as_shown(notebook, view=self.notebook_view).encode()
            except NotebookUnreadable:
                return data  # stored as it is, the upload's check says what is wrong with it
        if self.site_folder is None or self.path.suffix.lower() not in MARKDOWN_EXTENSIONS:
            return data
        text = data.decode("utf-8", errors="replace")
        inlined = inline_includes(
            text,
            path=self.path,
            style=self.url_style,
            root=self.site_folder,
            base_paths=self.snippet_paths,
            auto_append=self.snippet_append,
            boundary=self.include_boundary,
            include_markdown=self.include_markdown,
            macros=self.macros,
            autodoc=self.autodoc,
        )
        return data if inlined == text else inlined.encode("utf-8")

    @property
    def file_name(self) -> str:
        """The name the document is stored under: a script an MkDocs site shows as a notebook is stored as the
        notebook it reads as (``tips.py.ipynb``)."""
        name = self.path.name
        return f"{name}.ipynb" if self.notebook_view is not None and self.path.suffix.lower() == ".py" else name


@dataclass
class BookScan:
    """Every file found under the given paths, and the unsupported ones counted by extension."""

    files: list[BookFile]
    unsupported: Counter = field(default_factory=Counter)
    roots: list[str] = field(default_factory=list)
    style: str = "plain"

    @property
    def loadable(self) -> list[BookFile]:
        """The files to load."""
        return [file for file in self.files if not file.skip]

    def skipped_summary(self) -> str:
        """'12 skipped: 7 empty, 5 unsupported (.json, .yml)', or '' when nothing was skipped."""
        reasons = Counter(file.skip for file in self.files if file.skip)
        parts = [f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        unsupported = sum(self.unsupported.values())
        if unsupported:
            parts.append(f"{unsupported} unsupported ({', '.join(sorted(self.unsupported))})")
        total = sum(reasons.values()) + unsupported
        return f"{total} skipped: {', '.join(parts)}" if total else ""


def scan_book(
    paths: list[str],
    *,
    site: str = "auto",
    site_url: str = "",
    docs_route: str | None = None,
    reference_base: str = "",
) -> BookScan:
    """Plan the loading of files and folders (raises FileNotFoundError, ValueError for an unknown site).

    ``site_url`` and ``docs_route`` override what the site's config says (``docs_route``: Docusaurus's docs
    routeBasePath, ``docs`` when neither says)."""
    if site != "auto" and site not in STYLES:
        raise ValueError(f"Unknown site {site!r}: use auto, {', '.join(STYLES)}.")
    found: dict[str, BookFile] = {}
    unsupported: Counter = Counter()
    roots: list[str] = []
    styles: set[str] = set()
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"{raw} does not exist.")
        style, base = _site(root, site)
        styles.add(style)
        # Without --site-url, the address the site's own config gives (links then work off the site too), and
        # its routes as the config sets them; a build inside its project is published where the project says.
        address = site_url or (build_address(root) if style == "plain" else "")
        layout = site_layout(style=style, root=base, site_url=address, docs_route=docs_route)
        # A Docusaurus site's docs may sit beside its folder (path: '../docs'): they are its pages too.
        outer = docusaurus_outer_folders(layout=layout, root=base) if style == "docusaurus" and base else []
        if root.is_dir():
            roots.extend(folder.resolve().as_posix() for folder in (root, *outer))
        paths = [*_files(root), *(path for folder in outer for path in _files(folder))]
        for path in paths:
            notebook_view = _notebook_view(path, style=style, layout=layout)
            if path.suffix.lower() not in MIME_BY_EXTENSION and notebook_view is None:
                unsupported[path.suffix.lower() or "(no extension)"] += 1
                continue
            file = _plan(
                path,
                root=root,
                style=style,
                base=base,
                layout=layout,
                reference_base=reference_base,
                notebook_view=notebook_view,
            )
            found[file.key] = file
    files = sorted(found.values(), key=lambda file: file.key)
    return BookScan(files=files, unsupported=unsupported, roots=roots, style="/".join(sorted(styles)))


def _site(root: Path, site: str) -> tuple[str, Path | None]:
    detected, base = site_root(root)
    if site == "auto":
        return detected, base
    if site == "plain" or detected == site:
        return site, base
    # Asked for a generator whose config is not here: the folder is the site root if it holds docs/ or
    # blog/, otherwise it is the docs folder itself.
    folder = root if root.is_dir() else root.parent
    if (folder / "docs").is_dir() or (folder / "blog").is_dir():
        return site, folder
    return site, None


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return [path for path in sorted(root.rglob("*")) if path.is_file() and not _ignored(path.relative_to(root).parts)]


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts) or any(part in _IGNORED_FOLDERS for part in parts[:-1])


def _plan(
    path: Path,
    *,
    root: Path,
    style: str,
    base: Path | None,
    layout: SiteLayout,
    reference_base: str,
    notebook_view: NotebookView | None,
) -> BookFile:
    folder = root if root.is_dir() else root.parent
    legacy_key = relative_path(path, start=folder.parent).as_posix()
    # A built site (a plain folder with an index.html at its top) links its pages from the site's root.
    # Its address is the one given for the site (--site-url, the import form's) unless a reference base is.
    built_site = style == "plain" and root.is_dir() and (root / "index.html").is_file()
    link_path = relative_path(path, start=root).as_posix() if built_site else legacy_key
    if built_site and not reference_base and layout.base_url:
        reference_base = layout.base_url.rstrip("/") + "/"
    key = path.resolve().as_posix()
    site_folder = (base or folder) if style != "plain" else None
    outer = site_folder is not None and not path.resolve().is_relative_to(site_folder.resolve())
    plan = BookFile(
        path=path,
        key=key,
        legacy_key=legacy_key,
        url_style=style,
        markdown_format=layout.markdown_format,
        heading_ids=layout.heading_ids.to_dict(),
        site_folder=site_folder,
        # A page beside the site's folder (docs at ../docs) includes partials from beside it too.
        include_boundary=site_folder.parent if outer else None,
        snippet_paths=layout.snippet_paths,
        snippet_append=layout.snippet_append,
        include_markdown=layout.include_markdown,
        macros=layout.macros,
        autodoc=layout.autodoc,
        notebook_view=notebook_view,
    )
    data = plan.read()
    if not data.strip():
        return _replace(plan, skip="empty", title=path.name)
    if plan.notebook_view is not None:
        relative = _site_relative(path, style=style, base=base, folder=folder)
        return _notebook_page(plan, data=data, relative=relative, layout=layout)
    if built_site and (link_path in _BUILT_SITE_PAGES or link_path.startswith(_BUILT_SITE_COPIES)):
        return _replace(plan, skip="not a page of the site", title=path.name)
    if path.suffix.lower() in HTML_EXTENSIONS:
        from .html_pages import html_outline  # noqa: PLC0415 - a heavy import, only where HTML is read

        outline = html_outline(data)
        plan = _replace(plan, title=outline.title or _title_from_name(path))
        if outline.unlisted:
            return _replace(plan, skip="unlisted")
        if outline.redirect:
            return _replace(plan, skip="redirects elsewhere")
        if outline.lists_posts:
            return _replace(plan, skip="a list of posts")  # their openings, again; each post is loaded as a page
        if not outline.has_text:
            return _replace(plan, skip="empty")  # a page of headings alone, or of the site's furniture alone
    if path.suffix.lower() not in MARKDOWN_EXTENSIONS:
        plan = _replace(plan, title=plan.title or title_for(path, data), url_style="plain")
        if style == "plain":
            return _replace(plan, reference=f"{reference_base}{link_path}" if reference_base else link_path)
        # A PDF or text file of a site: linked where the site publishes it.
        relative = _site_relative(path, style=style, base=base, folder=folder)
        reference, why = asset_reference(style=style, path=relative, layout=layout)
        return (
            _replace(plan, skip=f"not on the site ({why})")
            if reference is None
            else _replace(plan, reference=reference)
        )
    text = data.decode("utf-8", errors="replace")
    mdx = reads_as_mdx(file_name=path.name, style=style, markdown_format=layout.markdown_format)
    parsed = parse_markdown(text, style=style, mdx=mdx, heading_ids=layout.heading_ids)
    front = parsed.front_matter
    relative = _site_relative(path, style=style, base=base, folder=folder) if style != "plain" else None
    if style == "mkdocs":
        title = mkdocs_page_title(path=relative, title=parsed.title, layout=layout)
    elif style == "docusaurus":
        title = docusaurus_page_title(path=relative, title=parsed.title, front_matter=front, layout=layout)
    else:
        title = parsed.title
    title = (title or _title_from_name(path))[:300]
    metadata = {name: front[name] for name in _METADATA_KEYS if name in front}
    plan = _replace(plan, title=title, metadata=_jsonable(metadata))
    if front.get("draft") is True:
        return _replace(plan, skip="draft")
    if front.get("unlisted") is True:
        return _replace(plan, skip="unlisted")
    if not parsed.has_text:
        return _replace(plan, skip="empty")
    if style == "plain":
        return _replace(plan, reference=f"{reference_base}{legacy_key}" if reference_base else legacy_key)
    if style == "docusaurus" and path.name.startswith("_"):
        return _replace(plan, skip="partial (not a page)")
    reference, why = page_reference(style=style, path=relative, front_matter=front, layout=layout, title=title)
    if reference is None:
        return _replace(plan, skip=f"not on the site ({why})")
    return _replace(plan, reference=reference)


def _notebook_view(path: Path, *, style: str, layout: SiteLayout) -> NotebookView | None:
    """What the page of a notebook shows, when the file is one of an MkDocs site's notebook pages."""
    jupyter = layout.jupyter if style == "mkdocs" else None
    return jupyter.view if jupyter is not None and jupyter.shows(path) else None


def _notebook_page(plan: BookFile, *, data: bytes, relative: PurePosixPath, layout: SiteLayout) -> BookFile:
    """A notebook that mkdocs-jupyter makes a page of: titled by its first H1 (unless the plugin's
    ignore_h1_titles), else as MkDocs titles a page; its headings' ids as the plugin gives them."""
    try:
        markdown = notebook_markdown(data.decode("utf-8", errors="replace"))
    except NotebookUnreadable:
        return _replace(plan, title=_title_from_name(plan.path))  # refused with the reason when it is stored
    parsed = parse_markdown(markdown, style="mkdocs", heading_ids=NOTEBOOK_HEADING_IDS)
    first_h1 = "" if layout.jupyter is None or layout.jupyter.ignore_h1_titles else parsed.title
    title = (first_h1 or mkdocs_page_title(path=relative, title="", layout=layout))[:300]
    plan = _replace(plan, title=title, heading_ids=NOTEBOOK_HEADING_IDS.to_dict())
    if not parsed.has_text:
        return _replace(plan, skip="empty")
    reference, why = page_reference(style="mkdocs", path=relative, front_matter={}, layout=layout, title=title)
    return _replace(plan, skip=f"not on the site ({why})") if reference is None else _replace(plan, reference=reference)


def _site_relative(path: Path, *, style: str, base: Path | None, folder: Path) -> PurePosixPath:
    """The file's path relative to the site root (the docs folder is prefixed when given on its own)."""
    if base is not None:
        return relative_path(path, start=base)  # ../docs/intro.md for docs beside the site's folder
    docs_dir = "docs"
    return PurePosixPath(docs_dir) / relative_path(path, start=folder)


def relative_path(path: Path, *, start: Path) -> PurePosixPath:
    """``path`` relative to ``start``, with ``..`` when it is beside it rather than in it."""
    return PurePosixPath(Path(os.path.relpath(path.resolve(), start.resolve())).as_posix())


def _replace(plan: BookFile, **changes: Any) -> BookFile:
    return BookFile(**{**vars(plan), **changes})


def _jsonable(value: Any) -> Any:
    """Front matter as JSON (YAML dates and other scalars become strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()[:300]


def title_for(path: Path, data: bytes) -> str:
    """A file's title: front-matter title, else its first H1 (a notebook's and an HTML page's too), a PDF's own
    title, an HTML page's <title>, else its file name in words."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return pdf_title(data)[:300] or _title_from_name(path)
    if suffix in HTML_EXTENSIONS:
        from .html_pages import html_title  # noqa: PLC0415 - a heavy import, only where HTML is read

        return html_title(data) or _title_from_name(path)
    if suffix not in MARKDOWN_EXTENSIONS and suffix != ".ipynb":
        return _title_from_name(path)
    text = data.decode("utf-8", errors="replace")
    try:
        parsed = parse_markdown(notebook_markdown(text) if suffix == ".ipynb" else text, mdx=suffix == ".mdx")
    except NotebookUnreadable:
        return _title_from_name(path)
    return parsed.title[:300] or _title_from_name(path)
