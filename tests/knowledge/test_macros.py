"""mkdocs-macros-plugin pages, rendered as the plugin renders them (each expected text below is what the plugin
itself, 1.5.0 under MkDocs 1.6.1, writes for the page, but where a comment says otherwise), in Jinja's sandbox in
a child process with limits."""

from pathlib import Path

from knowledge.loading import scan_book
from knowledge.macros import MkDocsMacros, render_macros

CONFIG = """site_name: Macro Book
extra:
  version: 2.4.1
  limits:
    max_upload_mb: 25
  released: true
plugins:
  - macros:
      include_yaml:
        - data/tool.yml
        - facts: data/facts.yml
        - ../outside.yml
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pages(root: Path) -> dict[str, str]:
    return {file.path.name: file.read().decode() for file in scan_book([str(root)]).loadable}


def book(tmp_path: Path, config: str = CONFIG) -> Path:
    root = tmp_path / "book"
    write(root, "mkdocs.yml", config)
    write(root, "data/tool.yml", "tool_name: Waterer\nport: 8080\n")
    write(root, "data/facts.yml", "founded: 1998\n")
    write(tmp_path, "outside.yml", "secret: kept out\n")
    return root


def test_variables_from_extra_config_yaml_files_and_front_matter_are_written_in(tmp_path):
    root = book(tmp_path)
    write(
        root,
        "docs/index.md",
        "---\ntitle: Home\nauthor: Ada\n---\n# {{ config.site_name }}\n\n"
        "Version {{ version }} of {{ tool_name }} listens on port {{ port }}.\n"
        "Uploads: {{ limits.max_upload_mb }} MB ({{ limits['max_upload_mb'] }}). Released: {{ released }}.\n"
        "Founded in {{ facts.founded }} by {{ author }} ({{ page.meta.author }}). {{ secret }}\n\n"
        "{# a comment\nover lines #}Unknown {{ nothing }} stays.\n\n{% raw %}Raw {{ version }} stays.{% endraw %}\n\n"
        "Trim:   {{- version -}}   done.\n\n{% if released %}Shown when released.{% endif %}\n\n"
        "```\ncode {{ version }}\n```\n",
    )
    assert pages(root)["index.md"] == (
        "---\ntitle: Home\nauthor: Ada\n---\n# Macro Book\n\n"
        "Version 2.4.1 of Waterer listens on port 8080.\n"
        "Uploads: 25 MB (25). Released: True.\n"
        "Founded in 1998 by Ada (Ada). {{ secret }}\n\n"
        "Unknown {{ nothing }} stays.\n\nRaw {{ version }} stays.\n\n"
        "Trim:2.4.1done.\n\nShown when released.\n\n"
        "```\ncode 2.4.1\n```\n"
    )


def test_a_page_can_opt_out_or_in_and_other_markers_are_read(tmp_path):
    root = book(tmp_path, CONFIG.replace("      include_yaml:", "      render_by_default: false\n      include_yaml:"))
    write(root, "docs/off.md", "# Off\n\nVersion {{ version }}.\n")
    write(root, "docs/on.md", "---\nrender_macros: true\n---\n# On\n\nVersion {{ version }}.\n")
    assert pages(root) == {
        "off.md": "# Off\n\nVersion {{ version }}.\n",
        "on.md": "---\nrender_macros: true\n---\n# On\n\nVersion 2.4.1.\n",
    }
    macros = MkDocsMacros(variables={"version": "2"}, variable_start="[[", variable_end="]]")
    assert render_macros("[[ version ]] {{ version }}", macros=macros) == "2 {{ version }}"
    assert render_macros("---\nrender_macros: false\n---\n{{ version }}", macros=macros) == (
        "---\nrender_macros: false\n---\n{{ version }}"
    )


def test_macros_come_after_include_markdown_and_before_snippets_as_the_site_builds_them(tmp_path):
    config = CONFIG.replace("plugins:\n", "plugins:\n  - include-markdown\n")
    root = book(tmp_path, config + "markdown_extensions:\n  - pymdownx.snippets\n")
    write(root, "docs/shared.md", "Shared {{ version }}.\n")
    write(root, "snippet.md", "Snippet {{ version }}.\n")
    write(root, "docs/page.md", '# Page\n\n{% include-markdown "shared.md" %}\n--8<-- "snippet.md"\n')
    assert pages(root)["page.md"] == "# Page\n\nShared 2.4.1.\n\nSnippet {{ version }}.\n"


def test_without_the_plugin_nothing_is_written_in_and_an_unclosed_tag_leaves_the_rest_readable(tmp_path):
    root = book(tmp_path, "site_name: Plain\nextra:\n  version: 1\n")
    write(root, "docs/index.md", "# Plain\n\nVersion {{ version }}.\n")
    assert pages(root)["index.md"] == "# Plain\n\nVersion {{ version }}.\n"
    # The plugin fails a page with a comment or raw tag never closed (an attribute list such as {#custom-id}
    # opens a Jinja comment) and shows an error instead; here its variables are still written in.
    macros = MkDocsMacros(variables={"version": "2"})
    text = "## Heading {#custom-id}\n\n" * 3 + "{% raw %} {{ version }}"
    assert render_macros(text, macros=macros) == "## Heading {#custom-id}\n\n" * 3 + "{% raw %} 2"


def test_a_variable_never_takes_a_value_from_the_environment_reading_the_book(tmp_path, monkeypatch):
    # MkDocs reads `!ENV` from the machine that builds the site; here that would be the server's own secrets.
    monkeypatch.setenv("BOOK_SECRET", "server-secret")
    root = book(tmp_path, "site_name: S\nextra:\n  key: !ENV [BOOK_SECRET, 'no key']\nplugins:\n  - macros\n")
    write(root, "docs/index.md", "# Keys\n\nThe key is {{ key }}.\n")
    assert pages(root)["index.md"] == "# Keys\n\nThe key is no key.\n"


def test_a_jinja_include_is_read_from_the_include_folder_with_the_pages_variables(tmp_path):
    root = book(tmp_path)
    write(root, "docs/partials/note.md", 'Note for {{ version }}.\n{% include "partials/inner.md" %}\n')
    write(root, "docs/partials/inner.md", "Inner {{ tool_name }}.\n")
    write(
        root,
        "docs/inc.md",
        '# Includes\n\nBefore.\n{% include "partials/note.md" %}\nAfter.\n\n'
        "Trimmed:   {%- include 'partials/inner.md' -%}   end.\n\n"
        '{% include "partials/missing.md" ignore missing %}Gone. {% include "../../outside.yml" %}\n',
    )
    # (The plugin fails a page whose include is missing; one outside the book is left as written here.)
    assert pages(root)["inc.md"] == (
        "# Includes\n\nBefore.\nNote for 2.4.1.\nInner Waterer.\nAfter.\n\n"
        'Trimmed:Inner Waterer.end.\n\nGone. {% include "../../outside.yml" %}\n'
    )


BLOCKS_CONFIG = """site_name: Macro Book
extra:
  version: 2.4.1
  released: true
  platforms:
    - name: Linux
      supported: true
      min: "5.4"
    - name: Windows
      supported: false
  limits:
    max_upload_mb: 25
plugins:
  - macros:
      include_yaml:
        - data/tool.yml
      j2_extensions:
        - jinja2.ext.do
        - jinja2.ext.loopcontrols
"""


def blocks_book(tmp_path: Path, config: str = BLOCKS_CONFIG) -> Path:
    root = tmp_path / "book"
    write(root, "mkdocs.yml", config)
    write(root, "data/tool.yml", "tool_name: Waterer\nsteps:\n  - Fill the tank\n  - Set the timer\n")
    return root


def test_jinja_blocks_filters_and_loops_are_run_as_the_plugin_runs_them(tmp_path):
    root = blocks_book(tmp_path)
    write(
        root,
        "docs/index.md",
        "---\nlevel: 3\n---\n# {{ config.site_name }} {{ version }}\n\n"
        "{% if released %}Version {{ version }} is out.{% else %}Not released yet.{% endif %}\n"
        "{% if level > 2 %}Advanced readers.{% endif %}\n\n"
        "| Platform | Supported | Minimum |\n| --- | --- | --- |\n"
        '{% for p in platforms -%}\n| {{ p.name }} | {{ "yes" if p.supported else "no" }} | '
        '{{ p.min | default("n/a") }} |\n{% endfor %}\n\n'
        'Supported: {{ platforms | selectattr("supported") | map(attribute="name") | join(", ") }}; '
        "{{ platforms | length }} platforms; {{ tool_name | upper }}.\n\n"
        "{% set total = limits.max_upload_mb * 2 -%}\n"
        "Twice the limit is {{ total }} MB, {{ (total / 3) | round(1) }}.\n\n"
        "{% for step in steps %}\n{{ loop.index }}. {{ step }}\n{%- endfor %}\n\n"
        'Page "{{ page.title }}". {% for i in range(3) %}{% if i == 1 %}{% continue %}{% endif %}Item {{ i }}. '
        '{% endfor %}{% set items = [] %}{% do items.append("a") %}{{ items | join }}\n'
        "{%- if not released %}\nhidden\n{%- endif %}\nEnd.\n",
    )
    assert pages(root)["index.md"] == (
        "---\nlevel: 3\n---\n# Macro Book 2.4.1\n\nVersion 2.4.1 is out.\nAdvanced readers.\n\n"
        "| Platform | Supported | Minimum |\n| --- | --- | --- |\n| Linux | yes | 5.4 |\n| Windows | no | n/a |\n\n\n"
        "Supported: Linux; 2 platforms; WATERER.\n\nTwice the limit is 50 MB, 16.7.\n\n\n"
        "1. Fill the tank\n2. Set the timer\n\n"
        'Page "{{ config.site_name }} {{ version }}". Item 0. Item 2. a\nEnd.\n'  # MkDocs' title: the H1 as written
    )


def test_jinja_includes_imports_and_macros_of_the_book_are_read_from_inside_it(tmp_path):
    root = blocks_book(tmp_path)
    write(root, "docs/partials/note.md", '> Note for {{ version }}: {{ word | default("none") }}\n')
    write(
        root,
        "docs/partials/lib.md",
        '{% macro badge(text, kind="info") -%}\n**[{{ kind | upper }}] {{ text }}**\n{%- endmacro %}\n',
    )
    write(
        root,
        "docs/inc.md",
        '# Includes\n\n{% set word = "set" %}\n{% include "partials/note.md" %}\n'
        '{% import "partials/lib.md" as lib %}\n'
        'Badge: {{ lib.badge("Beta") }} and {{ lib.badge("Old", kind="warn") }}.\n'
        '{% from "partials/lib.md" import badge %}{{ badge("Again") }}\n',
    )
    assert pages(root)["inc.md"] == (
        "# Includes\n\n\n> Note for 2.4.1: set\n\nBadge: **[INFO] Beta** and **[WARN] Old**.\n**[INFO] Again**\n"
    )
    # MkDocs' page title and file, as a template sees them.
    write(root, "docs/guide/no-title_page.md", 'On "{{ page.title }}" ({{ page.file.src_path }}).\n')
    write(root, "docs/guide/Upper_Case.md", "On {{ page.title }}.\n")
    found = pages(root)
    assert found["no-title_page.md"] == 'On "No title page" (guide/no-title_page.md).\n'
    assert found["Upper_Case.md"] == "On Upper Case.\n"


def test_what_the_books_python_would_do_is_kept_as_written_and_never_run(tmp_path):
    # A book's main.py macros and filters are not run: a call reads as written (the plugin, with no main.py,
    # fails the whole page; with it, writes the macro's result), an unknown filter leaves its value.
    root = blocks_book(tmp_path, BLOCKS_CONFIG + "      module_name: main\n")
    write(root, "main.py", "raise SystemExit('never imported')\n")
    write(
        root,
        "docs/py.md",
        "# Py\n\n{{ button('Download', size=2) }} {{ version | shout }} {{ secrets.GITHUB_TOKEN }} "
        "{% if released %}shown{% endif %}\n",
    )
    assert pages(root)["py.md"] == ("# Py\n\n{{ button('Download', size=2) }} 2.4.1 {{ secrets.GITHUB_TOKEN }} shown\n")


def test_on_undefined_is_read_from_the_plugins_settings(tmp_path):
    # An attribute of an undefined name fails the page in the plugin but with `lax` (it shows an error page
    # instead); here such a page reads as written, and with `keep` the rest of it is still rendered.
    page = "# U\n\nA {{ nothing }} B {{ nothing.deeper }} C\n"
    expected = {"keep": page, "silent": page, "lax": "# U\n\nA  B  C\n", "strict": page}
    for setting, text in expected.items():
        root = blocks_book(tmp_path / setting, BLOCKS_CONFIG + f"      on_undefined: {setting}\n")
        write(root, "docs/u.md", page)
        assert pages(root)["u.md"] == text, setting
    root = blocks_book(tmp_path / "silent-plain", BLOCKS_CONFIG + "      on_undefined: silent\n")
    write(root, "docs/u.md", "A {{ nothing }} B\n")
    assert pages(root)["u.md"] == "A  B\n"


def test_a_pages_title_in_the_nav_is_its_title_in_templates(tmp_path):
    # MkDocs gives a page the title the nav lists it with before its front matter's or heading's.
    root = blocks_book(
        tmp_path, BLOCKS_CONFIG + "nav:\n  - Start here: index.md\n  - Guide:\n    - Set-up steps: guide/setup.md\n"
    )
    write(root, "docs/index.md", "---\ntitle: Front\n---\nOn {{ page.title }}.\n")
    write(root, "docs/guide/setup.md", "# Setup\n\nOn {{ page.title }}.\n")
    write(root, "docs/other.md", "On {{ page.title }}.\n")
    found = pages(root)
    assert found["index.md"] == "---\ntitle: Front\n---\nOn Start here.\n"
    assert found["setup.md"] == "# Setup\n\nOn Set-up steps.\n"
    assert found["other.md"] == "On Other.\n"
