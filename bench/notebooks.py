"""What reading a Jupyter notebook costs, against parsing the Markdown it becomes (the step ingestion takes next).

    .venv/bin/python bench/notebooks.py

A textbook chapter as a notebook: 120 cells (60 Markdown cells of a paragraph and a heading every tenth, 60 code
cells, each printing a line, every tenth displaying a 20-row pandas table as HTML and every fifth a plot: a PNG
with its text). Rows: the site's view applied (cells removed by tag, written back as notebook JSON, as a book's
notebook page is stored), the notebook read into Markdown (nbformat, then each cell and output), and the Markdown
parsed as ingestion parses a page, which is the baseline of the ratio column. Each time is the best of five runs.
"""

import json

from _setup import best_ms, setup, table

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" * 40


def dataframe(rows: int) -> str:
    body = "".join(f"<tr><th>{n}</th><td>Station {n}</td><td>{n * 1.5}</td></tr>\n" for n in range(rows))
    header = "<thead><tr><th></th><th>station</th><th>rain_mm</th></tr></thead>"
    style = "<style scoped>\n.dataframe td { padding: 2px; }\n</style>"
    return f'<div>\n{style}\n<table class="dataframe">\n{header}\n<tbody>\n{body}</tbody>\n</table>\n</div>'


def chapter() -> str:
    """The notebook's JSON."""
    prose = "The gauge tips once for every 0.2 mm of rain, and the logger counts the tips each minute. " * 3
    cells = []
    for n in range(60):
        heading = f"## Section {n // 10}\n\n" if n % 10 == 0 else ""
        cells.append({"cell_type": "markdown", "metadata": {}, "source": heading + prose})
        outputs = [{"output_type": "stream", "name": "stdout", "text": f"step {n}: {n * 0.2:.1f} mm\n"}]
        if n % 10 == 0:
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": n,
                    "metadata": {},
                    "data": {"text/html": dataframe(20), "text/plain": "a table"},
                }
            )
        if n % 5 == 0:
            outputs.append(
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": "<Figure>"}}
            )
        tags = ["hide"] if n % 15 == 0 else []
        source = f"total = tips * 0.2\nprint(f'step {n}: {{total:.1f}} mm')"
        cells.append(
            {
                "cell_type": "code",
                "execution_count": n,
                "metadata": {"tags": tags},
                "outputs": outputs,
                "source": source,
            }
        )
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def main() -> None:
    setup()
    from knowledge.markdown import parse_markdown
    from knowledge.notebooks import NOTEBOOK_HEADING_IDS, NotebookView, notebook_as_shown, notebook_markdown

    text = chapter()
    view = NotebookView(remove_cell_tag="hide")
    shown = notebook_as_shown(text, view=view)
    markdown = notebook_markdown(shown)
    parse = best_ms(lambda: parse_markdown(markdown, style="mkdocs", heading_ids=NOTEBOOK_HEADING_IDS))
    rows = [
        ("the site's view applied (stored notebook)", best_ms(lambda: notebook_as_shown(text, view=view))),
        ("notebook read into Markdown", best_ms(lambda: notebook_markdown(shown))),
        ("its Markdown parsed (baseline)", parse),
    ]
    print(f"notebook: {len(text) / 1024:.0f} KB, 120 cells; its Markdown: {len(markdown) / 1024:.0f} KB\n")
    print(table(["step", "ms", "x parse"], [[name, f"{ms:.1f}", f"{ms / parse:.2f}"] for name, ms in rows]))


if __name__ == "__main__":
    main()
