"""What rendering an mkdocs-macros page in the Jinja sandbox costs, against parsing the page it makes (the step
ingestion takes next), and what hostile templates cost.

    .venv/bin/python bench/macros.py

A page as macros books write them: a version table built by a loop over `extra`, conditions, filters, a
`{% set %}`, a Jinja macro imported from a partial and an included note, about 4 KB of text around them. The
sandbox's child process is started once per process that reads books (the first page pays for it: the second
row); then each page is one exchange with it. Then hostile templates: ten billion loop steps, a value of ten
billion characters, a list doubled sixty times, against the time limit that stops them. Each time is the best of
five runs (one for the child's start and the hostile templates).
"""

import tempfile
from pathlib import Path

from _setup import best_ms, setup, table, write_file

CONFIG = """site_name: Bench
extra:
  version: 2.4.1
  released: true
  platforms:
{platforms}
plugins:
  - macros
"""


def book(root: Path) -> str:
    """The site's files, and the text of its macros page."""
    platforms = "".join(
        f"    - name: Platform {n}\n      supported: {n % 3 != 0}\n      min: '{n}.0'\n" for n in range(20)
    )
    write_file(root, "mkdocs.yml", CONFIG.format(platforms=platforms))
    write_file(
        root,
        "docs/partials/lib.md",
        '{% macro badge(text, kind="info") -%}**[{{ kind | upper }}] {{ text }}**{%- endmacro %}\n',
    )
    write_file(root, "docs/partials/note.md", "> This page is about version {{ version }}.\n")
    prose = "The tool waters the garden on a schedule and reports what it did. " * 8 + "\n\n"
    return (
        "# Platforms for {{ version }}\n\n"
        '{% import "partials/lib.md" as lib %}{% include "partials/note.md" %}\n\n'
        + prose * 3
        + "| Platform | Supported | Minimum |\n| --- | --- | --- |\n"
        + "{% for p in platforms -%}\n"
        + '| {{ p.name }} | {{ "yes" if p.supported else "no" }} | {{ p.min }} |\n{% endfor %}\n'
        + '{% if released %}{{ lib.badge("Released") }}{% else %}{{ lib.badge("Beta", kind="warn") }}{% endif %}\n\n'
        + "{% set supported = platforms | selectattr('supported') | list %}"
        + "{{ supported | length }} of {{ platforms | length }} platforms are supported.\n\n"
        + prose * 3
    )


def main() -> None:
    setup()
    from knowledge.jinja_sandbox import RENDER_SECONDS, JinjaSandbox, TemplateJob
    from knowledge.macros import render_macros
    from knowledge.markdown import parse_markdown
    from knowledge.sites import site_layout

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        text = book(root)
        page = write_file(root, "docs/page.md", text)
        macros = site_layout(style="mkdocs", root=root).macros
        sandbox = JinjaSandbox()
        try:

            def render() -> str:
                return render_macros(text, macros=macros, path=page, sandbox=sandbox)

            first = best_ms(render, times=1)
            rendered = render()
            assert "{%" not in rendered and "Platform 19" in rendered, rendered[:300]
            parsing = best_ms(lambda: parse_markdown(rendered, style="mkdocs"))
            rows.append(["a macros page (vs parsing what it makes)", f"{parsing:.2f}", f"{best_ms(render):.2f}"])
            rows.append(["the same, starting the sandbox's process", f"{parsing:.2f}", f"{first:.2f}"])
            limit = RENDER_SECONDS * 1000
            for name, hostile in (
                (
                    "ten billion loop steps",
                    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                ),
                ("a value of ten billion characters", "{{ 'a' * 10000000000 }}"),
                (
                    "a list doubled sixty times",
                    "{% set n = namespace(x=[1]) %}{% for i in range(60) %}{% set n.x = n.x + n.x %}{% endfor %}",
                ),
            ):
                ours = best_ms(lambda hostile=hostile: sandbox.render(TemplateJob(source=hostile)), times=1)
                rows.append([f"{name} (vs the time limit)", f"{limit:.2f}", f"{ours:.2f}"])
        finally:
            sandbox.close()
    print(table(["page", "baseline ms", "ours ms"], rows))
    for row in rows:
        print(f"{row[0]}: {float(row[2]) / float(row[1]):.3f}x the baseline")


if __name__ == "__main__":
    main()
