"""A page of an mkdocs-macros-plugin site, rendered as the plugin renders it: a Jinja template with
mkdocs.yml's ``extra`` (and the files it lists in ``include_yaml``), ``config``, the page's own front matter and
``page``, the files ``{% include "file.md" %}`` names (from its ``include_dir``, inside the book), and Jinja's
blocks and filters (``{% if %}``, ``{% for %}``, ``{% set %}``, ``| upper``).

The template runs in Jinja's sandbox, in a child process with limits (``knowledge.jinja_sandbox``). A book's
Python macros and filters are never run: a call to one is kept as written and such a filter leaves its value as
it is; a name nobody defines is kept as written, as the plugin keeps it by default. A page the sandbox cannot
render (an error in its Jinja, which the plugin would show as an error page; an include outside the book; a
limit reached) has its variables and includes written in and the rest left as written.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from .book_files import MAX_CHARS, MAX_DEPTH, URL, inside, mkdocs_file_title, read_text
from .jinja_sandbox import JinjaSandbox, TemplateJob, shared_jinja_sandbox
from .markdown import front_matter_length, split_front_matter


@dataclass(frozen=True)
class MkDocsMacros:
    """The macros plugin as a site's mkdocs.yml sets it up: its variables and Jinja's markers."""

    variables: dict[str, Any] = field(default_factory=dict)
    variable_start: str = "{{"
    variable_end: str = "}}"
    comment_start: str = "{#"
    comment_end: str = "#}"
    block_start: str = "{%"
    block_end: str = "%}"
    render_by_default: bool = True  # False: only pages whose front matter says render_macros: true
    include_dir: Path | None = None  # where `{% include "file.md" %}` looks (the docs folder by default)
    boundary: Path | None = None  # the folder included files must be in (the site's)
    docs_dir: Path | None = None  # the site's docs folder (a page's `page.file.src_path` is relative to it)
    nav_titles: dict[str, str] = field(default_factory=dict)  # a page's title in the nav, by its path in docs_dir
    undefined: str = "keep"  # on_undefined: keep, silent, strict or lax
    extensions: tuple[str, ...] = ()  # j2_extensions (only Jinja's own `do` and `loopcontrols` are loaded)

    def markers(self) -> dict[str, str]:
        """Jinja's markers by Jinja's names."""
        return {
            "block_start_string": self.block_start,
            "block_end_string": self.block_end,
            "variable_start_string": self.variable_start,
            "variable_end_string": self.variable_end,
            "comment_start_string": self.comment_start,
            "comment_end_string": self.comment_end,
        }


# A variable, with Jinja's whitespace control: `{{ name }}`, `{{ extra.version }}`, `{{ page.meta['author'] }}`.
_NAME = r"[A-Za-z_]\w*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME}|\s*\[\s*(?:'[^'\n]*'|\"[^\"\n]*\"|\d+)\s*\])*"
_STEP = re.compile(rf"\.\s*({_NAME})|\[\s*(?:'([^'\n]*)'|\"([^\"\n]*)\"|(\d+))\s*\]")


def render_macros(
    text: str, *, macros: MkDocsMacros, path: Path | None = None, sandbox: JinjaSandbox | None = None
) -> str:
    """The page (at ``path``) rendered; its front matter is left as it is: MkDocs reads it first. ``sandbox``:
    where templates run (the process's own by default)."""
    if not any(marker in text for marker in (macros.variable_start, macros.comment_start, macros.block_start)):
        return text
    head = front_matter_length(text)
    meta, _, _ = split_front_matter(text)
    wanted = meta.get("render_macros")
    if wanted is False or (not macros.render_by_default and wanted is not True):
        return text
    # What the plugin gives a page: the site's variables, then its own front matter's, and `page`.
    variables = {**macros.variables, **meta, "page": _page(text[head:], meta=meta, path=path, macros=macros)}
    job = TemplateJob(
        source=text[head:],
        variables=variables,
        markers=macros.markers(),
        undefined=macros.undefined,
        extensions=macros.extensions,
        include_dir=macros.include_dir,
        boundary=macros.boundary,
        name=str(path or ""),
    )
    rendered = (sandbox or shared_jinja_sandbox()).render(job)
    if rendered is not None:
        # Jinja drops a template's last newline; the page keeps it.
        return text[:head] + rendered + ("\n" if text.endswith("\n") and not rendered.endswith("\n") else "")
    return text[:head] + _written_in(text[head:], variables=variables, macros=macros)


def _page(body: str, *, meta: dict[str, Any], path: Path | None, macros: MkDocsMacros) -> dict[str, Any]:
    """What a template reads of ``page``: its front matter, its title as MkDocs gives it to the plugin (the nav's,
    the front matter's, the `# heading` on its first line, else from its file name) and its file."""
    page: dict[str, Any] = {"meta": meta}
    docs = macros.docs_dir.resolve() if macros.docs_dir else None
    where = path.resolve().relative_to(docs) if path and docs and path.resolve().is_relative_to(docs) else None
    heading = _FIRST_HEADING.match(body)
    if where is not None and where.as_posix() in macros.nav_titles:
        page["title"] = macros.nav_titles[where.as_posix()]
    elif "title" in meta:
        page["title"] = meta["title"]
    elif heading:
        page["title"] = heading.group(1).lstrip("# ")
    elif where is not None:
        page["title"] = mkdocs_file_title(PurePosixPath(where.as_posix()))
    if where is not None:
        page["file"] = {"src_path": where.as_posix(), "name": where.stem}
    return page


# MkDocs' title from a page's Markdown as plugins see it: the first line that is not blank, when it is a `# heading`.
_FIRST_HEADING = re.compile(r"\s*# (.*?)\s*(?:\n|$)")


def _written_in(text: str, *, variables: dict[str, Any], macros: MkDocsMacros) -> str:
    """The page with only its variables and includes written in, for a page the sandbox cannot render."""
    block = re.escape(macros.block_start), re.escape(macros.block_end)
    raw = re.compile(rf"{block[0]}-?\s*raw\s*-?{block[1]}"), re.compile(rf"{block[0]}-?\s*endraw\s*-?{block[1]}")
    comment = re.compile(re.escape(macros.comment_start)), re.compile(re.escape(macros.comment_end))
    variable = re.compile(
        rf"{re.escape(macros.variable_start)}(?P<trim_before>-?)\s*(?P<path>{_PATH})\s*"
        rf"(?P<trim_after>-?){re.escape(macros.variable_end)}"
    )
    include = re.compile(
        rf"{block[0]}(?P<trim_before>-?)\s*include\s+(?P<quote>[\"'])(?P<name>[^\"'\n]+)(?P=quote)"
        rf"(?P<missing>\s+ignore\s+missing)?(?:\s+(?:with|without)\s+context)?\s*(?P<trim_after>-?){block[1]}"
    )
    budget = [MAX_CHARS]

    def included(match: re.Match[str], depth: int) -> str | None:
        found = _included_file(macros, match.group("name"))
        if found is None or depth >= MAX_DEPTH or budget[0] <= 0:
            return "" if match.group("missing") else None  # the plugin fails the page: kept as written
        # Jinja reads a template without its last newline, and renders it with the page's variables.
        template = read_text(found).removesuffix("\n")
        budget[0] -= len(template)
        return rendered(template, depth=depth + 1)

    def rendered(part: str, depth: int = 0) -> str:
        part = "".join(piece for piece, closed in _between(part, *comment) if not closed)  # comments show nothing
        if macros.include_dir is not None:
            part = _substituted(part, include, lambda match: included(match, depth))
        return _substituted(part, variable, lambda match: _lookup(variables, match.group("path")))

    pieces = _between(text, *raw)
    return "".join(_inner(piece, raw) if closed else rendered(piece) for piece, closed in pieces)


def _substituted(text: str, pattern: re.Pattern[str], value: Callable[[re.Match[str]], str | None]) -> str:
    """``text`` with each match of ``pattern`` replaced by its value (None: left as written), and Jinja's
    whitespace control: ``{{-``/``{%-`` trims what is before, ``-}}``/``-%}`` what follows."""
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() < position or (written := value(match)) is None:
            continue
        before = text[position : match.start()]
        out.append(before.rstrip() if match.group("trim_before") else before)
        out.append(written)
        position = match.end()
        if match.group("trim_after"):
            position = _SPACE.match(text, position).end()
    out.append(text[position:])
    return "".join(out)


def _between(text: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, whether it is an opening tag to its closing one); found in one pass: an opening
    tag never closed ends the search."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    while (start := opening.search(text, position)) and (end := closing.search(text, start.end())):
        pieces += [(text[position : start.start()], False), (text[start.start() : end.end()], True)]
        position = end.end()
    return [*pieces, (text[position:], False)]


def _inner(text: str, tags: tuple[re.Pattern[str], re.Pattern[str]]) -> str:
    """What is between a piece's opening and closing tags."""
    opening, closing = tags
    inside = text[opening.match(text).end() :]
    return inside[: closing.search(inside).start()]


def _included_file(macros: MkDocsMacros, name: str) -> Path | None:
    """The file an include names, when it is in ``include_dir`` and inside the book."""
    if macros.include_dir is None or name.startswith("/") or URL.match(name):
        return None
    return inside(macros.include_dir / name, macros.boundary or macros.include_dir)


def _lookup(variables: dict[str, Any], path: str) -> str | None:
    """A variable's value as Jinja prints it, when it is a plain value (text, number, yes/no, date); else None."""
    first = re.match(_NAME, path)
    value: Any = variables.get(first.group(0), _MISSING)
    for step in _STEP.finditer(path, first.end()):
        key = next(group for group in step.groups() if group is not None)
        if isinstance(value, dict):
            value = value.get(key, _MISSING)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            value = _MISSING
    if isinstance(value, bool | int | float | str | date) and value is not _MISSING:
        return str(value)
    return None


_MISSING: Any = object()
_SPACE = re.compile(r"\s*")
