"""Jupyter notebooks read as the page mkdocs-jupyter makes of them (checked against a real MkDocs 1.6 build with
mkdocs-jupyter 0.26 and nbconvert 7: the text of each kind of cell and output below is what that page shows)."""

import json
from pathlib import Path

import pytest

from knowledge.markdown import parse_markdown
from knowledge.notebooks import (
    NOTEBOOK_HEADING_IDS,
    MkDocsJupyter,
    NotebookToDocument,
    NotebookUnreadable,
    NotebookView,
    notebook_as_shown,
    notebook_markdown,
    read_notebook,
    script_notebook,
)


def markdown_cell(source: str, **metadata) -> dict:
    return {"cell_type": "markdown", "metadata": metadata, "source": source}


def code_cell(source: str, *outputs: dict, **metadata) -> dict:
    return {"cell_type": "code", "execution_count": 1, "metadata": metadata, "outputs": list(outputs), "source": source}


def raw_cell(source: str, **metadata) -> dict:
    return {"cell_type": "raw", "metadata": metadata, "source": source}


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def result(data: dict, **metadata) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": metadata}


def display(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def notebook(*cells: dict, language: str = "python") -> str:
    kernel = {"name": language, "language": language, "display_name": language}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}, "cells": list(cells)})


DATAFRAME = (
    "<div>\n<style scoped>\n    .dataframe tbody tr th { vertical-align: top; }\n</style>\n"
    '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n      <th></th>\n'
    "      <th>station</th>\n      <th>rain_mm</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th>0</th>\n"
    "      <td>Oslo</td>\n      <td>12.5</td>\n    </tr>\n\n    <tr>\n      <th>1</th>\n      <td>Bergen</td>\n"
    "      <td>31.0</td>\n    </tr>\n  </tbody>\n</table>\n</div>"
)


def test_cells_read_as_the_page_shows_them():
    text = notebook(
        markdown_cell("# Rain gauge\n\nThis notebook counts **tips** of the bucket."),
        code_cell(
            "print('hello')\nprint('world')",
            stream("hello\n"),
            stream("world\n"),
            stream("a warning\n", name="stderr"),
        ),
        code_cell("41 + 1", result({"text/plain": "42"})),
        code_cell("", stream("an empty cell's output\n")),
    )
    assert notebook_markdown(text) == (
        "# Rain gauge\n\nThis notebook counts **tips** of the bucket.\n\n"
        "```python\nprint('hello')\nprint('world')\n```\n\n"
        "```output\nhello\nworld\n```\n\n```output\na warning\n```\n\n"
        "```python\n41 + 1\n```\n\n```output\n42\n```\n\n"
        "```output\nan empty cell's output\n```\n"
    )


def test_code_is_fenced_in_the_kernels_language():
    assert notebook_markdown(notebook(code_cell("summary(cars)"), language="R")).startswith("```R\nsummary(cars)")
    bare = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [code_cell("x = 1")]})
    assert notebook_markdown(bare) == "```python\nx = 1\n```\n"


def test_a_result_shows_what_nbconvert_shows_of_its_representations():
    text = notebook(
        code_cell("df", result({"text/html": DATAFRAME, "text/plain": "  station  rain_mm\n0 Oslo 12.5"})),
        code_cell("Markdown('x')", display({"text/markdown": "A **bold** result", "text/plain": "<Markdown>"})),
        code_cell("Math('x')", display({"text/latex": "$x^2$", "text/plain": "<Math>"})),
        code_cell("plot()", display({"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480>"})),
        code_cell("js()", display({"application/javascript": "alert(1)", "text/plain": "<Javascript>"})),
        code_cell("data()", display({"application/json": {"a": 1}})),
    )
    blocks = parse_markdown(notebook_markdown(text)).blocks
    texts = [block.text for block in blocks if not block.text.startswith("```python")]
    # The table's rows as rows (its style sheet is not text); a figure, a script or JSON shows no text.
    assert texts == ["0; station: Oslo; rain_mm: 12.5\n1; station: Bergen; rain_mm: 31.0", "A bold result", "$x^2$"]


def test_a_traceback_and_a_progress_bar_read_as_the_terminal_shows_them():
    error = {
        "output_type": "error",
        "ename": "ZeroDivisionError",
        "evalue": "division by zero",
        "traceback": ["\x1b[0;31m-----\x1b[0m", "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"],
    }
    text = notebook(code_cell("1/0", error), code_cell("fit()", stream("epoch 1\r 50%\r100%\ndone\n")))
    assert "```output\n-----\nZeroDivisionError: division by zero\n```" in notebook_markdown(text)
    assert "```output\n100%\ndone\n```" in notebook_markdown(text)


def test_raw_cells_show_only_as_html():
    text = notebook(
        raw_cell("a raw cell with no type <b>shows</b>"),
        raw_cell("<p>an HTML raw cell</p>", raw_mimetype="text/html"),
        raw_cell("\\section{LaTeX}", raw_mimetype="text/latex"),
    )
    assert [block.text for block in parse_markdown(notebook_markdown(text)).blocks] == [
        "a raw cell with no type shows",
        "an HTML raw cell",
    ]


def test_a_fence_a_markdown_cell_leaves_open_ends_with_the_cell():
    text = notebook(markdown_cell("## Setup\n\n```python\nx = 1\n"), markdown_cell("After the cell."))
    blocks = parse_markdown(notebook_markdown(text)).blocks
    assert [block.text for block in blocks] == ["```python\nx = 1\n```", "After the cell."]


def test_headings_get_the_ids_the_plugin_gives_them():
    text = notebook(
        markdown_cell("# Title"),
        markdown_cell("## Loading the data (`pandas`)\n\nText."),
        markdown_cell("## Results & plots!\n\nFirst."),
        markdown_cell("## Results & plots!\n\nAgain: the same id, not results-plots_1."),
        markdown_cell("### Émigré café\n\nText."),
    )
    parsed = parse_markdown(notebook_markdown(text), style="mkdocs", heading_ids=NOTEBOOK_HEADING_IDS)
    assert parsed.title == "Title"
    assert [block.anchor for block in parsed.blocks] == [
        "loading-the-data-pandas",
        "results-plots",
        "results-plots",
        "emigre-cafe",
    ]


def test_an_older_notebook_format_is_read():
    version_3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Old notebook"},
                    {"cell_type": "code", "input": "1 + 1", "language": "python", "metadata": {}, "outputs": []},
                ]
            }
        ],
    }
    assert notebook_markdown(json.dumps(version_3)) == "## Old notebook\n\n```python\n1 + 1\n```\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"cells": []}', "no nbformat version"),
        ("[1, 2]", "no nbformat version"),
        ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {"a": 1}}', "no list of cells"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
    ids=["broken", "no-version", "a-list", "cells-not-a-list", "deeply-nested"],
)
def test_what_is_not_a_notebook_is_refused_with_the_reason(text, reason):
    with pytest.raises(NotebookUnreadable, match=reason):
        read_notebook(text)


def tagged() -> str:
    return notebook(
        markdown_cell("## Kept"),
        code_cell("secret = 1", stream("secret\n"), tags=["hide_cell"]),
        markdown_cell("A Markdown cell the site removes.", tags=["hide_cell"]),
        code_cell("shown_output = 2", result({"text/plain": "2"}), tags=["hide_input"]),
        markdown_cell("A Markdown cell whose input is removed.", tags=["hide_input"]),
        code_cell("print('no outputs')", stream("no outputs\n"), tags=["hide_output"]),
        code_cell("both()", result({"text/plain": "kept"}), result({"text/plain": "dropped"}, tags=["drop"])),
    )


def test_the_sites_remove_tag_config_removes_cells_inputs_and_outputs():
    view = NotebookView(
        remove_cell_tag="hide_cell",
        remove_input_tag="hide_input",
        remove_all_outputs_tag="hide_output",
        remove_single_output_tag="drop",
    )
    shown = notebook_markdown(notebook_as_shown(tagged(), view=view))
    assert shown == (
        "## Kept\n\n```output\n2\n```\n\n```python\nprint('no outputs')\n```\n\n"
        "```python\nboth()\n```\n\n```output\nkept\n```\n"
    )
    assert "secret" in notebook_markdown(notebook_as_shown(tagged(), view=NotebookView()))


def test_without_inputs_only_text_and_outputs_show():
    shown = notebook_markdown(notebook_as_shown(tagged(), view=NotebookView(show_input=False)))
    assert "```python" not in shown
    assert "A Markdown cell the site removes." in shown and "```output\nno outputs\n```" in shown


@pytest.mark.parametrize(
    ("plugin", "path", "page"),
    [
        (MkDocsJupyter(), "docs/rain.ipynb", True),
        (MkDocsJupyter(), "docs/tips.py", True),  # a script, read as a notebook by Jupytext
        (MkDocsJupyter(), "docs/rain.md", False),  # Jupytext Markdown reads as the Markdown it is
        (MkDocsJupyter(include=("notebooks/*.ipynb",)), "docs/notebooks/rain.ipynb", True),
        (MkDocsJupyter(include=("notebooks/*.ipynb",)), "docs/rain.ipynb", False),
        (MkDocsJupyter(ignore=("drafts/*",)), "docs/drafts/rain.ipynb", False),
        (MkDocsJupyter(ignore=("",)), "docs/rain.ipynb", True),
    ],
)
def test_which_notebooks_are_pages_follows_the_plugins_patterns(tmp_path, plugin, path, page):
    assert plugin.shows(tmp_path / Path(path)) is page


def test_the_converter_makes_a_document_with_the_sources_meta():
    from haystack.dataclasses import ByteStream

    source = ByteStream(notebook(markdown_cell("Text.")).encode(), meta={"title": "T", "url_style": "mkdocs"})
    (document,) = NotebookToDocument().run(sources=[source])["documents"]
    assert (document.content, document.meta) == ("Text.\n", {"title": "T", "url_style": "mkdocs"})


def test_a_python_script_reads_as_the_notebook_jupytext_makes_of_it():
    percent = (
        "# %% [markdown]\n# # Counting tips\n#\n# The logger's script.\n\n"
        "# %%\ntips = 42\nprint(tips * 0.2)\n\n# %% [markdown]\n# ## Sending\n#\n# Every minute.\n"
    )
    assert notebook_markdown(script_notebook(percent)) == (
        "# Counting tips\n\nThe logger's script.\n\n```python\ntips = 42\nprint(tips * 0.2)\n```\n\n"
        "## Sending\n\nEvery minute.\n"
    )
    light = "# # A light script\n#\n# Comments at the top.\n\nimport math\n\n# ## Roots\n\nprint(math.sqrt(2))\n"
    assert notebook_markdown(script_notebook(light)) == (
        "# A light script\n\nComments at the top.\n\n```python\nimport math\n```\n\n## Roots\n\n"
        "```python\nprint(math.sqrt(2))\n```\n"
    )
