"""mkdocs-macros-plugin's variables, written into a page as the plugin writes them (each expected text below is
what the plugin itself, 1.5.0, writes for the page, but where a comment says otherwise); the rest of Jinja is left
as written."""

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
        "Trim:2.4.1done.\n\n{% if released %}Shown when released.{% endif %}\n\n"  # blocks are not run
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
