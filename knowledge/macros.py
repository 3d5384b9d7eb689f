"""mkdocs-macros-plugin's variables in a page, written as the plugin writes them: ``{{ version }}`` from
mkdocs.yml's ``extra`` (or a file it lists in ``include_yaml``), ``{{ config.site_name }}``, a page's own front
matter. The plugin renders a page as a Jinja template; only its variables are read here. A book's Python macros
are never run, and other Jinja (``{% if %}``, ``{% for %}``, a filter, a name nobody defines) is left as written,
as the plugin leaves an undefined name by default.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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


# A variable, with Jinja's whitespace control: `{{ name }}`, `{{ extra.version }}`, `{{ page.meta['author'] }}`.
_NAME = r"[A-Za-z_]\w*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME}|\s*\[\s*(?:'[^'\n]*'|\"[^\"\n]*\"|\d+)\s*\])*"
_STEP = re.compile(rf"\.\s*({_NAME})|\[\s*(?:'([^'\n]*)'|\"([^\"\n]*)\"|(\d+))\s*\]")


def render_macros(text: str, *, macros: MkDocsMacros) -> str:
    """The page with its variables written in (its front matter is left as it is: MkDocs reads it first)."""
    if macros.variable_start not in text and macros.comment_start not in text:
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

    def rendered(part: str) -> str:
        part = "".join(piece for piece, closed in _between(part, *comment) if not closed)  # comments show nothing
        out: list[str] = []
        position = 0
        for match in variable.finditer(part):
            value = _lookup(variables, match.group("path"))
            if value is None:
                continue  # undefined, or not a plain value: as written, as the plugin keeps it
            before = part[position : match.start()]
            out.append(before.rstrip() if match.group("trim_before") else before)  # `{{-` trims what is before
            out.append(value)
            position = match.end()
            if match.group("trim_after"):  # `-}}` trims what follows
                position = _SPACE.match(part, position).end()
        out.append(part[position:])
        return "".join(out)

    # A raw block shows what is in it as written, without its tags.
    pieces = _between(text[head:], *raw)
    return text[:head] + "".join(_inner(piece, raw) if closed else rendered(piece) for piece, closed in pieces)


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
