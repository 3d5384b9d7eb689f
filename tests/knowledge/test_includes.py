"""Included files inlined as the site renders them: MkDocs snippets and Docusaurus partials, from inside the
site's folder only."""

from pathlib import Path

import pytest

from knowledge.includes import inline_includes
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


def test_other_pages_are_returned_as_they_are(site):
    text = 'import A from "./_a.mdx";\n\n<A />\n--8<-- "includes/note.md"\n'
    assert inline_includes(text, path=site / "page.md", style="plain", root=site) == text
    assert partials(site, "No imports here.") == "No imports here."
