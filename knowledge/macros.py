"""mkdocs-macros-plugin's variables in a page, written as the plugin writes them: ``{{ version }}`` from
mkdocs.yml's ``extra`` (or a file it lists in ``include_yaml``), ``{{ config.site_name }}``, a page's own front
matter, and the files ``{% include "file.md" %}`` names (from its ``include_dir``, inside the book). The plugin
renders a page as a Jinja template; only its variables and includes are read here. A book's Python macros are
never run, and other Jinja (``{% if %}``, ``{% for %}``, a filter, a name nobody defines) is left as written, as
the plugin leaves an undefined name by default.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .book_files import MAX_CHARS, MAX_DEPTH, URL, inside, read_text
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


# A variable, with Jinja's whitespace control: `{{ name }}`, `{{ extra.version }}`, `{{ page.meta['author'] }}`.
_NAME = r"[A-Za-z_]\w*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME}|\s*\[\s*(?:'[^'\n]*'|\"[^\"\n]*\"|\d+)\s*\])*"
_STEP = re.compile(rf"\.\s*({_NAME})|\[\s*(?:'([^'\n]*)'|\"([^\"\n]*)\"|(\d+))\s*\]")


def render_macros(text: str, *, macros: MkDocsMacros) -> str:
    """The page with its variables written in (its front matter is left as it is: MkDocs reads it first)."""
    if not any(marker in text for marker in (macros.variable_start, macros.comment_start, macros.block_start)):
        return text
    head = front_matter_length(text)
    meta, _, _ = split_front_matter(text)
    wanted = meta.get("render_macros")
    if wanted is False or (not macros.render_by_default and wanted is not True):
        return text
    # What the plugin gives a page: the site's variables, then its own front matter's, and `page.meta`.
    variables = {
        **macros.variables,
        **meta,
        "page": {"meta": meta, **({"title": meta["title"]} if "title" in meta else {})},
    }
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

    pieces = _between(text[head:], *raw)
    return text[:head] + "".join(_inner(piece, raw) if closed else rendered(piece) for piece, closed in pieces)


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
