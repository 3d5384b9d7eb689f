"""Included files inlined as the site renders them: MkDocs snippets, mkdocs-include-markdown-plugin directives
and Docusaurus partials, from inside the site's folder only."""

from pathlib import Path

import pytest

from knowledge import includes
from knowledge.includes import IncludeMarkdown, inline_includes
from knowledge.loading import scan_book
from knowledge.markdown import parse_markdown


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "site"
    write(root, "includes/note.md", "Shared note.\n")
    write(root, "includes/lines.txt", "one\ntwo\nthree\nfour\n")
    write(root, "includes/parts.md", "# --8<-- [start:a]\nPart A.\n# --8<-- [end:a]\n<!-- --8<-- [start:b] -->\nB.\n")
    write(root, "includes/nested.md", 'Outer.\n--8<-- "includes/note.md"\n')
    write(root, "includes/loop.md", 'Loop.\n--8<-- "includes/loop.md"\n')
    write(tmp_path, "secret.md", "Outside the site.\n")
    return root


def snippets(site: Path, text: str, **options) -> str:
    page = write(site, "docs/page.md", text)
    return inline_includes(text, path=page, style="mkdocs", root=site, **options)


def test_mkdocs_snippets_are_inlined_line_by_line_and_as_blocks(site):
    text = 'Before.\n\n--8<-- "includes/note.md"\n\n--8<--\nincludes/nested.md\n;includes/note.md\n\n--8<--\nAfter.'
    assert snippets(site, text) == "Before.\n\nShared note.\n\nOuter.\nShared note.\n\nAfter."


def test_mkdocs_snippets_take_lines_sections_and_the_markers_indentation(site):
    text = (
        '```\n    --8<-- "includes/lines.txt:2:3"\n```\n--8<-- \'includes/parts.md:a\'\n--8<-- "includes/lines.txt:3"'
    )
    assert snippets(site, text) == "```\n    two\n    three\n```\nPart A.\nthree\nfour"


def test_mkdocs_snippets_never_leave_the_site_loop_or_download(site):
    text = (
        '--8<-- "../secret.md"\n--8<-- "/etc/hostname"\n--8<-- "https://example.org/x.md"\n'
        '--8<-- "includes/missing.md"\n--8<-- "includes/loop.md"\n;--8<-- "includes/note.md"'
    )
    assert snippets(site, text) == 'Loop.\n;--8<-- "includes/note.md"'  # knowledge.markdown shows it unescaped


def test_an_escaped_snippet_line_shows_once_without_its_escape_and_any_marker_length_is_a_snippet(site):
    text = (
        'Write ;--8<-- "x.md" as follows.\n\n;--8<-- "includes/note.md"\n\n---8<--- "includes/note.md"\n\n'
        '```text\n;--8<-- "includes/note.md"\n--8<-- "includes/note.md"\n```\n\n-8<-\nincludes/note.md\n-8<-\n'
    )
    blocks = parse_markdown(snippets(site, text), style="mkdocs").blocks
    assert [block.text for block in blocks] == [
        'Write ;--8<-- "x.md" as follows.',
        '--8<-- "includes/note.md"',
        "Shared note.",
        '```text\n--8<-- "includes/note.md"\nShared note.\n```',
        "Shared note.",
    ]


def test_mkdocs_snippets_are_looked_up_in_the_configured_base_paths(site):
    write(site, "docs/snippets/tip.md", "A tip.\n")
    assert snippets(site, '--8<-- "tip.md"', base_paths=[site / "docs" / "snippets", site]) == "A tip."
    assert snippets(site, '--8<-- "tip.md"') == ""


def partials(site: Path, text: str, *, name: str = "docs/guide/page.mdx") -> str:
    page = write(site, name, text)
    return inline_includes(text, path=page, style="docusaurus", root=site)


def test_docusaurus_partials_are_inlined_where_they_are_used(site):
    write(
        site,
        "docs/guide/_setup.mdx",
        "---\ntitle: ignored\n---\n\nimport Inner from '@site/docs/_inner.md';\n\n<Inner />\n",
    )
    write(site, "docs/_inner.md", "Inner text.")
    text = (
        "import Setup from './_setup.mdx';\nimport Tabs from '@theme/Tabs';\n\n# Page\n\n<Setup />\n\n"
        '```jsx\n<Setup />\n```\n\n  <Setup title="again" />\n'
    )
    assert partials(site, text) == (
        "import Setup from './_setup.mdx';\nimport Tabs from '@theme/Tabs';\n\n# Page\n\n"
        "\nimport Inner from '@site/docs/_inner.md';\n\n\nInner text.\n\n\n\n```jsx\n<Setup />\n```\n\n"
        "\nimport Inner from '@site/docs/_inner.md';\n\n\nInner text.\n\n\n"
    )


def test_docusaurus_partials_never_leave_the_site_or_loop(site):
    write(site, "docs/guide/_loop.mdx", "import Loop from './_loop.mdx';\n\nLooped.\n\n<Loop />\n")
    text = (
        "import Secret from '../../../secret.md';\nimport Pkg from 'some-package/README.md';\n"
        "import Loop from './_loop.mdx';\n\n<Secret />\n<Pkg />\n<Loop />"
    )
    lines = partials(site, text).split("\n")
    assert lines[4:6] == ["", ""] and "Outside the site." not in lines
    assert "\n".join(lines[6:]).count("Looped.") == 1


def test_code_a_docusaurus_page_imports_with_raw_loader_is_the_code_block_it_shows(site):
    write(site, "docs/guide/hello.py", "def hello():\n    return ```\n")
    write(site, "src/components/Clock.js", "export default function Clock() {}\n")
    text = (
        "import CodeBlock from '@theme/CodeBlock';\nimport Hello from '!!raw-loader!./hello.py';\n"
        'import Clock from "!!raw-loader!@site/src/components/Clock.js";\n'
        "import Secret from '!!raw-loader!../../../secret.md';\nimport Pkg from '!!raw-loader!react/package.json';\n\n"
        '<CodeBlock language="py" title="hello.py">{Hello}</CodeBlock>\n\n'
        "- In a list:\n\n  <CodeBlock language='jsx'>\n    {Clock}\n  </CodeBlock>\n\n"
        "<CodeBlock>{Secret}</CodeBlock>\n<CodeBlock>{Pkg}</CodeBlock>\n\n```mdx\n<CodeBlock>{Hello}</CodeBlock>\n```\n"
    )
    inlined = partials(site, text)
    assert inlined.split("\n")[6:] == [
        "",
        '````py title="hello.py"',
        "def hello():",
        "    return ```",
        "````",
        "",
        "",
        "- In a list:",
        "",
        "",
        "  ```jsx",
        "  export default function Clock() {}",
        "  ```",
        "",
        "",
        "",
        "",
        "",
        "```mdx",
        "<CodeBlock>{Hello}</CodeBlock>",
        "```",
        "",
    ]
    blocks = parse_markdown(inlined, style="docusaurus", mdx=True).blocks
    assert [block.text for block in blocks][:2] == [
        '````py title="hello.py"\ndef hello():\n    return ```\n````',
        "• In a list: export default function Clock() {}",
    ]


def test_other_pages_are_returned_as_they_are(site):
    text = 'import A from "./_a.mdx";\n\n<A />\n--8<-- "includes/note.md"\n'
    assert inline_includes(text, path=site / "page.md", style="plain", root=site) == text
    assert partials(site, "No imports here.") == "No imports here."


# mkdocs-include-markdown-plugin: each expected text below is what the plugin itself (7.3.0) writes for the page.


def included(site: Path, text: str, **settings) -> str:
    return snippets(site, text, include_markdown=IncludeMarkdown(**settings))


@pytest.fixture
def book(site) -> Path:
    write(site, "README.md", "# Project\n\n<!-- intro -->\nWaters gardens.\n<!-- /intro -->\n\n## Licence\n\nMIT.\n")
    write(site, "docs/.partials/note.md", "## Shared note\n\nWear gloves.\n\n- one\n- two\n")
    write(site, "docs/guide/parts/a-1.md", "Part 1.\n")
    write(site, "docs/guide/parts/a-10.md", "Part 10.\n")
    write(site, "docs/guide/parts/a-2.md", "Part 2.\n")
    write(site, "docs/guide/parts/draft.md", "Draft.\n")
    write(site, "docs/raw.txt", "one\n  two\n")
    return site


def test_include_markdown_reads_docs_and_relative_paths_start_end_and_heading_offset(book):
    text = (
        '# Page\n\n{% include-markdown ".partials/note.md" heading-offset=1 %}\n\n'
        '{%\n    include-markdown "../README.md"\n    start="<!-- intro -->"\n    end="<!-- /intro -->"\n%}\n\n'
        "{% include-markdown '../README.md' start=\"## Licence\" heading-offset=-1 %}\n"
    )
    assert included(book, text) == (
        "# Page\n\n### Shared note\n\nWear gloves.\n\n- one\n- two\n\n\n\nWaters gardens.\n\n\n\n\nMIT.\n\n"
    )


def test_include_markdown_carries_the_includer_indent_and_include_takes_the_file_as_it_is(book):
    text = (
        '- Item: {% include-markdown ".partials/note.md" %}\n\n!!! note\n    {% include-markdown "raw.txt" %}\n\n'
        '    {% include "raw.txt" %}\n  {% include "raw.txt" preserve-includer-indent=false heading-offset=2 %}\n'
        'Inline {% include-markdown "raw.txt" trailing-newlines=false dedent=true %} text.\n'
    )
    assert included(book, text) == (
        # The indent is what follows the last character that is not a space, word character, dot or backslash.
        "- Item: ## Shared note\n \n Wear gloves.\n \n - one\n - two\n\n\n"
        "!!! note\n    one\n      two\n\n\n"
        "    one\n      two\n\n  one\n  two\n\n"
        "Inline one\n         two text.\n"
    )


def test_include_markdown_globs_in_the_plugins_order_less_what_it_excludes(book):
    text = (
        '{% include-markdown "guide/parts/*.md" order="natural-name" exclude="./guide/parts/draft.md" %}'
        '{% include-markdown "guide/parts/a-*.md" order="-alpha-path" %}'
        # The plugin compares a ./ glob's names as it joined them, "./" and all, so this exclude misses.
        '{% include-markdown "./guide/parts/d*.md" exclude="./guide/parts/draft.md" %}'
    )
    assert included(book, text) == "Part 1.\nPart 2.\nPart 10.\nPart 2.\nPart 10.\nPart 1.\nDraft.\n"


def test_include_markdown_nests_includes_from_the_included_files_folder_unless_told_not_to(book):
    write(book, "docs/guide/nested.md", 'Nested.\n{% include-markdown "./parts/a-2.md" %}')
    text = '{% include-markdown "guide/nested.md" %}|{% include-markdown "guide/nested.md" recursive=false %}'
    assert included(book, text) == 'Nested.\nPart 2.\n|Nested.\n{% include-markdown "./parts/a-2.md" %}'


def test_include_markdown_never_leaves_the_book_loops_or_downloads(book, tmp_path):
    write(book, "docs/loop.md", 'Loop.\n{% include-markdown "loop.md" %}\n')
    text = (
        '{% include-markdown "../../secret.md" %}{% include-markdown "/etc/hostname" %}'
        '{% include-markdown "https://example.org/x.md" %}{% include-markdown "missing.md" %}'
        '{% include-markdown "loop.md" %}{% include-markdown %}|{% include-markdown "raw.txt"'
    )
    assert (tmp_path / "secret.md").is_file()
    assert included(book, text) == 'Loop.\n\n|{% include-markdown "raw.txt"'


def test_include_markdown_keeps_the_text_before_a_directive_and_bounds_what_its_indent_grows_to(book, monkeypatch):
    monkeypatch.setattr(includes, "MAX_CHARS", 1000)
    write(book, "docs/long.md", "line\n" * 100)
    # The words before a directive are the indent of every line it includes (the plugin's rule): 21 characters
    # on 100 lines would pass the limit, so nothing is included and the words stay.
    text = 'By the end. {% include-markdown "missing.md" %} After.\n' + "x" * 20 + ' {% include-markdown "long.md" %}'
    assert included(book, text) == "By the end.  After.\n" + "x" * 20 + " "
    assert included(book, 'Long: {% include-markdown "long.md" %}') == "Long: " + "line\n " * 99 + "line\n"
    unclosed = '{% include-markdown "long.md" ' * 3
    assert included(book, unclosed) == unclosed


def test_include_markdown_takes_its_settings_tags_and_names_from_mkdocs_yml(book):
    write(
        book,
        "mkdocs.yml",
        "site_name: Book\nplugins:\n  - search\n  - include-markdown:\n      opening_tag: '{!'\n"
        "      closing_tag: '!}'\n      heading_offset: 1\n      preserve_includer_indent: false\n"
        "      directives:\n        include-markdown: md\n      exclude:\n        - skipped.md\n",
    )
    page = (
        '---\ntitle: "{! md .partials/note.md !}"\n---\n- {! md ".partials/note.md" !}\n{% include "raw.txt" %}\n'
        '{! md ".partials/note.md" !}\n'
    )
    write(book, "docs/page.md", page)
    write(book, "docs/skipped.md", page)
    files = {file.path.name: file.read().decode() for file in scan_book([str(book)]).loadable}
    # The heading offset moves only headings at a line's start, as the plugin's does.
    note = "## Shared note\n\nWear gloves.\n\n- one\n- two\n\n"
    assert files["page.md"] == (
        f'---\ntitle: "{{! md .partials/note.md !}}"\n---\n- {note}{{% include "raw.txt" %}}\n#{note}'
    )
    assert files["skipped.md"] == page


def test_include_markdown_directives_are_text_where_the_plugin_is_not_enabled(book):
    page = '{% include-markdown ".partials/note.md" %}\n'
    write(book, "docs/page.md", page)
    for plugins in ("", "plugins:\n  - include-markdown:\n      enabled: false\n"):
        write(book, "mkdocs.yml", f"site_name: Book\n{plugins}")
        files = {file.path.name: file.read().decode() for file in scan_book([str(book)]).loadable}
        assert files["page.md"] == page
