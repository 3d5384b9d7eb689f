"""Jupyter notebooks (and the Python scripts Jupytext reads as notebooks) read as the page mkdocs-jupyter makes of
them (nbconvert's), in Markdown.

Markdown cells read as written; a code cell is fenced code in the notebook's language, followed by its saved
outputs as the page shows them: printed text, plain results and tracebacks (without their colours) as
``output`` blocks, HTML results (a pandas table) and Markdown results as written, LaTeX as its source. Images, widgets,
diagrams and scripts show no text. Nothing is run: a site that executes its notebooks when it builds shows fresh
outputs, the index reads the saved ones.
"""

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from haystack import Document, component
from haystack.components.converters.utils import get_bytestream_from_source
from haystack.dataclasses import ByteStream

from .markdown import fence_marker, fence_roles, fenced
from .slugs import HeadingIds

NOTEBOOK_MIME = "application/x-ipynb+json"
# What mkdocs-jupyter makes pages of: notebooks, and Python scripts read as notebooks by Jupytext.
NOTEBOOK_SUFFIXES = frozenset({".ipynb", ".py"})
# The info string of the fenced block a cell's printed output, plain result or traceback reads as.
OUTPUT_INFO = "output"
# A notebook page's headings get their ids from nbconvert as the plugin patches it: Python-Markdown's slugify
# whatever the site's toc settings say, and a repeated heading gets the same id again.
NOTEBOOK_HEADING_IDS = HeadingIds(unique=False)
# What nbconvert's HTML export shows of a result with several representations: the first of these it has.
_DISPLAY_PRIORITY = (
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/vnd.mermaid",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
)
# Raw cells the HTML export writes into the page (as HTML); others (LaTeX, reST) are left out.
_RAW_SHOWN = frozenset({"", "text/html"})
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_BLANK_LINE = re.compile(r"\n[ \t]*(?=\n)")


class NotebookUnreadable(ValueError):
    """The file is not a Jupyter notebook that can be read; the message says why."""


@dataclass(frozen=True)
class NotebookView:
    """What a site's mkdocs-jupyter shows of each notebook: its code (``show_input``; off with ``no_input``)
    and what its ``remove_tag_config`` removes: cells, inputs, all of a cell's outputs, or single outputs
    tagged with these tags ('' for none)."""

    show_input: bool = True
    remove_cell_tag: str = ""
    remove_input_tag: str = ""
    remove_all_outputs_tag: str = ""
    remove_single_output_tag: str = ""


@dataclass(frozen=True)
class MkDocsJupyter:
    """The mkdocs-jupyter plugin's settings in an MkDocs config: which notebooks are pages, whether a notebook's
    first H1 is its page's title, and what its page shows."""

    include: tuple[str, ...] = ("*.py", "*.ipynb", "*.md")
    ignore: tuple[str, ...] = ()
    ignore_h1_titles: bool = False
    view: NotebookView = field(default_factory=NotebookView)

    def shows(self, path: Path) -> bool:
        """Whether the notebook or Python script at ``path`` is a page of the site: its absolute path matches an
        ``include`` pattern and no ``ignore`` pattern, from the right, as the plugin matches them. (The plugin
        also makes pages of Jupytext Markdown, which reads as the Markdown it is.)"""
        if path.suffix.lower() not in NOTEBOOK_SUFFIXES:
            return False
        absolute = PurePath(path.resolve())
        if any(_matches(absolute, pattern) for pattern in self.ignore):
            return False
        return any(_matches(absolute, pattern) for pattern in self.include)


def _matches(path: PurePath, pattern: str) -> bool:
    try:
        return path.match(pattern)
    except ValueError:  # an empty pattern: the plugin's build stops there; here it matches nothing
        return False


def read_notebook(text: str) -> Any:
    """The notebook in ``text`` (any nbformat version, upgraded to 4); NotebookUnreadable when it is not one."""
    import nbformat  # noqa: PLC0415 - only books with notebooks need it

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise NotebookUnreadable(f"it is not valid JSON ({str(error)[:120]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise NotebookUnreadable("it has no nbformat version, so it is not a Jupyter notebook")
    if data["nbformat"] >= 4 and not isinstance(data.get("cells"), list):
        raise NotebookUnreadable("it has no list of cells")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a notebook that fails the schema is still read, as nbconvert does
            notebook = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:  # noqa: BLE001 - nbformat raises its own, jsonschema's and Python's errors
        raise NotebookUnreadable(f"its structure cannot be read ({type(error).__name__})") from None
    return notebook


def script_notebook(text: str) -> str:
    """A Python script as the notebook Jupytext reads it as (its percent, light or other format found as the
    plugin's Jupytext finds it: ``# %% [markdown]`` cells, or comment blocks as Markdown), as notebook JSON."""
    import jupytext  # noqa: PLC0415 - only books with script pages need it
    import nbformat  # noqa: PLC0415

    try:
        return nbformat.writes(jupytext.reads(text, fmt="py"))
    except Exception as error:  # noqa: BLE001 - Jupytext raises many kinds of error for text it cannot read
        raise NotebookUnreadable(f"Jupytext cannot read it as a notebook ({type(error).__name__})") from None


def _text(value: Any) -> str:
    """A notebook field's text (a string, or a list of lines as files store it)."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return value if isinstance(value, str) else ""


def _tags(item: Any) -> list[str]:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


def notebook_as_shown(text: str, *, view: NotebookView) -> str:
    """The notebook with what its site's page leaves out removed (``view``), as notebook JSON."""
    import nbformat  # noqa: PLC0415

    notebook = read_notebook(text)
    cells = []
    for cell in notebook.cells:
        tags = _tags(cell)
        if view.remove_cell_tag and view.remove_cell_tag in tags:
            continue
        input_removed = bool(view.remove_input_tag) and view.remove_input_tag in tags
        if cell.get("cell_type") != "code":
            if not input_removed:  # nbconvert hides a Markdown or raw cell whose input its tag removes
                cells.append(cell)
            continue
        if input_removed or not view.show_input:
            cell["source"] = ""
        if view.remove_all_outputs_tag and view.remove_all_outputs_tag in tags:
            cell["outputs"] = []
        elif view.remove_single_output_tag:
            outputs = cell.get("outputs") or []
            cell["outputs"] = [output for output in outputs if view.remove_single_output_tag not in _tags(output)]
        cells.append(cell)
    notebook.cells = cells
    return nbformat.writes(notebook)


def _language(notebook: Any) -> str:
    metadata = notebook.get("metadata") or {}
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name), str) and section[name].strip():
            return section[name].strip().split()[0]
    return "python"


def _terminal_text(text: str) -> str:
    """Text a program printed, as it reads: colours removed, and of a line rewritten with carriage returns
    (a progress bar) only its last state."""
    lines = _ANSI.sub("", text).replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines).strip("\n")


def _html_block(html: str) -> str:
    """HTML as one Markdown HTML block (no blank line inside to end it early); the Markdown reader leaves out its
    scripts and styles, as it does a page's."""
    body = _BLANK_LINE.sub("", html).strip()
    return f"<div>\n{body}\n</div>" if body else ""


def _closed(markdown: str) -> str:
    """A Markdown cell with a fence it leaves open closed at its end: nbconvert renders each cell on its own."""
    lines = markdown.split("\n")
    opener = ""
    for index, role in fence_roles(lines):
        if role in ("open", "close"):
            opener = fence_marker(lines[index]) if role == "open" else ""
    return f"{markdown.rstrip()}\n{opener}" if opener else markdown


def _output(output: Any) -> str:
    kind = output.get("output_type") if isinstance(output, dict) else None
    if kind == "stream":
        text = _terminal_text(_text(output.get("text")))
        return fenced(text, info=OUTPUT_INFO) if text.strip() else ""
    if kind == "error":
        traceback = output.get("traceback")
        lines = [str(line) for line in traceback] if isinstance(traceback, list) else []
        text = _terminal_text("\n".join(lines) or f"{output.get('ename', '')}: {output.get('evalue', '')}")
        return fenced(text, info=OUTPUT_INFO) if text.strip() else ""
    if kind not in ("execute_result", "display_data"):
        return ""
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    shown = next((mime for mime in _DISPLAY_PRIORITY if mime in data), None)
    value = _text(data.get(shown)) if shown else ""
    if shown == "text/html":
        return _html_block(value)
    if shown == "text/markdown":
        return _closed(value.strip())
    if shown == "text/latex":
        return value.strip()
    if shown == "text/plain":
        text = _terminal_text(value)
        return fenced(text, info=OUTPUT_INFO) if text.strip() else ""
    return ""  # an image, a widget, a diagram or a script


def _outputs(outputs: list[Any]) -> list[str]:
    """Each output's Markdown; consecutive printed text of one stream reads as one block."""
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            isinstance(output, dict)
            and output.get("output_type") == "stream"
            and isinstance(previous, dict)
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            merged[-1] = {**previous, "text": _text(previous.get("text")) + _text(output.get("text"))}
        else:
            merged.append(output)
    return [_output(output) for output in merged]


def notebook_markdown(text: str) -> str:
    """The notebook in ``text`` as the Markdown of what its page shows (NotebookUnreadable when it is not one)."""
    notebook = read_notebook(text)
    language = _language(notebook)
    parts: list[str] = []
    for cell in notebook.cells:
        if not isinstance(cell, dict):
            continue
        kind, source = cell.get("cell_type"), _text(cell.get("source"))
        if kind == "markdown":
            parts.append(_closed(source.strip()))
        elif kind == "raw":
            metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            if str(metadata.get("raw_mimetype") or "").lower() in _RAW_SHOWN:
                parts.append(_html_block(source))
        elif kind == "code":
            if source.strip():
                parts.append(fenced(source.strip("\n"), info=language))
            outputs = cell.get("outputs")
            parts.extend(_outputs(outputs if isinstance(outputs, list) else []))
    return "\n\n".join(part for part in parts if part.strip()) + "\n"


@component
class NotebookToDocument:
    """Haystack converter: Jupyter notebooks to Markdown documents of what their pages show."""

    @component.output_types(documents=list[Document])
    def run(self, sources: list[str | Path | ByteStream]) -> dict[str, list[Document]]:
        """One document per notebook, with the source's meta (raises NotebookUnreadable for a broken one: the
        admin sees why)."""
        documents = []
        for source in map(get_bytestream_from_source, sources):
            markdown = notebook_markdown(source.data.decode("utf-8", errors="replace"))
            documents.append(Document(content=markdown, meta=dict(source.meta)))
        return {"documents": documents}
