"""Markdown as a reader reads it: one CommonMark parser for sections, fences, tables, lists, front matter, MDX."""

import json
from pathlib import Path

import pytest
from haystack import Document

from knowledge.ingestion import MarkdownSplitter
from knowledge.markdown import parse_markdown, reads_as_mdx, split_front_matter, without_fence_lines
from knowledge.slugs import HeadingIds

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def blocks(text: str, **options):
    return [(b.kind, b.section, b.text) for b in parse_markdown(text, **options).blocks]


def test_front_matter_is_parsed_never_indexed():
    text = "---\ntitle: Real title\nslug: /x\ntags: [a, b]\n---\n\n# Heading\n\nBody text here.\n"
    parsed = parse_markdown(text)
    assert parsed.front_matter == {"title": "Real title", "slug": "/x", "tags": ["a", "b"]}
    assert parsed.title == "Real title"
    assert all("slug" not in b.text and "---" not in b.text for b in parsed.blocks)


def test_broken_front_matter_is_reported_and_skipped():
    front, body, error = split_front_matter("---\ntitle: [unclosed\n---\nText.\n")
    assert front == {} and "not valid YAML" in error and body.strip() == "Text."


def test_setext_and_atx_headings_both_make_sections():
    text = "Title\n=====\n\nIntro.\n\nPart\n----\n\nIn part.\n\n### Deep ###\n\nDeeper.\n"
    assert blocks(text) == [
        ("paragraph", "Title", "Intro."),
        ("paragraph", "Title > Part", "In part."),
        ("paragraph", "Title > Part > Deep", "Deeper."),
    ]


def test_fences_close_only_by_commonmark_rules():
    # ```text is not closed by ```yaml (an info string): the comment lines stay code, never headings.
    text = (
        "# Page\n\n```text\n# not a heading\n```yaml\n# still code\n```\n\n## Real\n\nAfter.\n\n"
        "~~~\n## tilde code\n~~~\n"
    )
    parsed = parse_markdown(text)
    assert [name for _, name, _ in parsed.headings] == ["Page", "Real"]
    code = [b.text for b in parsed.blocks if b.kind == "code"]
    assert "# not a heading" in code[0] and "# still code" in code[0]
    assert "## tilde code" in code[1]


def test_reader_text_has_no_markdown_syntax():
    text = "A **bold** and _em_ [link](https://x.org) ![a diagram](d.png) `code()` line.\n<!-- truncate -->\n"
    assert blocks(text) == [("paragraph", "", "A bold and em link a diagram code() line.")]


def test_lists_keep_items_and_numbers():
    text = "Specs:\n\n1. Weight: 89 kg\n2. Height: 1.5 m\n   - nested item\n\n* bullet\n"
    assert blocks(text) == [
        ("paragraph", "", "Specs:"),
        ("list", "", "1. Weight: 89 kg\n2. Height: 1.5 m\n  • nested item"),
        ("list", "", "• bullet"),
    ]


def test_a_section_made_of_subsections_has_their_outline():
    # A textbook's "Key characteristics": nothing under the heading but one subsection per item, or a lead-in.
    text = (
        "# Physical AI\n\nIntro.\n\n## Key characteristics\n\n### 1. Embodiment\n\n"
        "#### Sensors\n\nEyes.\n\n#### Motors\n\nArms.\n\n### 2. Real-time operation\n\nNo pause.\n\n"
        "## Challenges\n\nIt faces two challenges:\n\n### Safety\n\nHarm.\n\n### Cost\n\nMoney.\n\n"
        "## History\n\nIt began in the 1950s.\n\n### Early robots\n\nArms.\n"
    )
    parsed = parse_markdown(text, style="docusaurus")
    outlines = [(b.section, b.anchor, b.text) for b in parsed.blocks if b.kind == "outline"]
    assert outlines == [
        # The section's heading introduces its outline: the headings one level down, not deeper ones.
        ("Physical AI > Key characteristics", "key-characteristics", "Key characteristics:"),
        ("Physical AI > Key characteristics", "key-characteristics", "• 1. Embodiment\n• 2. Real-time operation"),
        # A subsection with nothing of its own before its subsections has one too.
        ("Physical AI > Key characteristics > 1. Embodiment", "1-embodiment", "1. Embodiment:"),
        ("Physical AI > Key characteristics > 1. Embodiment", "1-embodiment", "• Sensors\n• Motors"),
        # After a lead-in of its own, the list follows it; a section with text (History) has no outline.
        ("Physical AI > Challenges", "challenges", "• Safety\n• Cost"),
    ]
    texts = [b.text for b in parsed.blocks]
    assert texts.index("It faces two challenges:") + 1 == texts.index("• Safety\n• Cost") == texts.index("Harm.") - 1
    # The outline stands where the subsections start: after the section's own text, before the first of them.
    assert texts.index("Intro.") < texts.index("Key characteristics:") < texts.index("1. Embodiment:")
    assert texts.index("• Sensors\n• Motors") + 1 == texts.index("Eyes.")
    # Headings alone are no text to index.
    assert not parse_markdown("## Parts\n\n### One\n\n### Two\n").has_text


def test_tables_become_rows_that_carry_their_header():
    text = "| Robot | Weight |\n| --- | --- |\n| Atlas | 89 kg |\n| Spot | 32 kg |\n"
    assert blocks(text) == [("table", "", "Robot: Atlas; Weight: 89 kg\nRobot: Spot; Weight: 32 kg")]


@pytest.mark.parametrize("mdx", [False, True])
def test_html_tables_become_rows_that_carry_their_header(mdx):
    # Docusaurus and MkDocs render a raw HTML table as a table: its rows, not its cells run together.
    text = (
        "<table>\n  <thead><tr><th>Sensor</th><th>Price</th></tr></thead>\n  <tbody>\n"
        "  <tr><td>BME280</td><td>5 &amp; 6 EUR</td></tr>\n"
        "  <tr><td><b>SHT45</b><br>(new)</td><td>7 EUR<script>x()</script></td></tr>\n"
        "  </tbody>\n</table>\n\nAfter.\n"
    )
    assert blocks(text, mdx=mdx) == [
        ("table", "", "Sensor: BME280; Price: 5 & 6 EUR\nSensor: SHT45 (new); Price: 7 EUR"),
        ("paragraph", "", "After."),
    ]


def test_html_tables_without_a_header_row_or_cut_by_blank_lines_keep_their_text():
    headless = (
        "<table><tr><th>Weight</th><td>89 kg</td></tr><tr><th>Height</th><td>1.5 m</td></tr>"
        "<tr><td>plain</td><td>cells</td></tr></table>\n"
    )
    assert blocks(headless) == [("table", "", "Weight: 89 kg\nHeight: 1.5 m\nplain; cells")]
    # Its text outside the cells (a caption) comes before its rows, never lost.
    captioned = (
        "<figure>\n<table>\n<tr><th>Gland</th><th>Cable</th></tr>\n<tr><td>PG9</td><td>4–8 mm</td></tr>\n</table>\n"
        "<!-- a comment -->\n<figcaption>Gland sizes &amp; the <b>station</b>.</figcaption>\n</figure>\n"
    )
    assert blocks(captioned) == [
        ("paragraph", "", "Gland sizes & the station."),
        ("table", "", "Gland: PG9; Cable: 4–8 mm"),
    ]
    # GitHub's way to put Markdown in a cell: blank lines end the HTML block, and the cell's text is a paragraph.
    split = "<table>\n<tr>\n<td>\n\n**Bold** cell text.\n\n</td>\n</tr>\n</table>\n"
    assert blocks(split) == [("paragraph", "", "Bold cell text.")]


def test_mdx_imports_exports_comments_and_jsx_are_read_as_text():
    text = (
        "import Tabs from '@theme/Tabs';\nexport const meta = {\n  a: 1,\n};\n\n# Firmware\n\n{/* hidden */}\n\n"
        '<Tabs>\n<TabItem value="a" label="A">\n\nInside the tab.\n\n</TabItem>\n</Tabs>\n\n'
        'Text with <Highlight color="red">inline JSX</Highlight> kept.\n\n'
        ":::note Supported boards\nThe ESP32 works.\n:::\n\n:::tip[Power]\nSleep between readings.\n:::\n"
    )
    assert blocks(text, mdx=True) == [
        ("paragraph", "Firmware", "A:"),
        ("paragraph", "Firmware", "Inside the tab."),
        ("paragraph", "Firmware", "Text with inline JSX kept."),
        ("paragraph", "Firmware", "Supported boards: The ESP32 works."),
        ("paragraph", "Firmware", "Power: Sleep between readings."),
    ]


def test_docusaurus_tabs_read_as_their_label_and_content():
    text = (
        "# Install\n\n<Tabs\n  groupId=\"os\"\n  values={[\n    {label: 'Raspberry Pi OS', value: 'pi'},\n"
        '    { value: "mac", label: "macOS" },\n  ]}>\n<TabItem value="pi">\n\n```bash\nsudo apt install tool\n```\n\n'
        '</TabItem>\n<TabItem value="mac" default>\n\n    Indented text is text in MDX.\n\n</TabItem>\n'
        '<TabItem value="win">\n\nNo label: the value names it.\n\n</TabItem>\n</Tabs>\n\n'
        '<Tabs groupId="pm">\n  <TabItem value="npm" label="npm" default>npm i tool</TabItem>\n'
        "  <TabItem value=\"yarn\" label={'Yarn'}>yarn add tool</TabItem>\n</Tabs>\n\n"
        '<Tabs values={constants.managers}>\n<TabItem value="uv">\n\nuv add tool\n\n</TabItem>\n</Tabs>\n'
    )
    assert blocks(text, mdx=True) == [
        ("paragraph", "Install", "Raspberry Pi OS:"),
        ("code", "Install", "```bash\nsudo apt install tool\n```"),
        ("paragraph", "Install", "macOS:"),
        ("paragraph", "Install", "Indented text is text in MDX."),
        ("paragraph", "Install", "win:"),
        ("paragraph", "Install", "No label: the value names it."),
        ("paragraph", "Install", "npm: npm i tool Yarn: yarn add tool"),
        ("paragraph", "Install", "uv:"),
        ("paragraph", "Install", "uv add tool"),
    ]
    # Line numbers are kept: the code block starts where its fence is in the file.
    code = next(b for b in parse_markdown(text, mdx=True).blocks if b.kind == "code")
    assert code.start_line == text.split("\n").index("```bash")


def test_mdx_statements_start_a_block_and_mdx_code_blocks_are_unwrapped():
    text = (
        "import A from './a';\nimport {\n  B,\n} from './b';\n\nTo use it you must\nimport the module first.\n\n"
        '```mdx-code-block\n<Tabs>\n<TabItem value="a" label="Apple">An apple.</TabItem>\n</Tabs>\n```\n\n'
        "```jsx\nimport Tabs from '@theme/Tabs';\n```\n"
    )
    assert blocks(text, mdx=True) == [
        ("paragraph", "", "To use it you must import the module first."),
        ("paragraph", "", "Apple: An apple."),
        ("code", "", "```jsx\nimport Tabs from '@theme/Tabs';\n```"),
    ]


def test_markdown_files_of_a_docusaurus_site_are_mdx():
    assert reads_as_mdx(file_name="intro.mdx", style="plain")
    assert reads_as_mdx(file_name="guide/Install.MD", style="docusaurus")
    assert not reads_as_mdx(file_name="install.md", style="mkdocs")
    assert not reads_as_mdx(file_name="install.md", style="plain")
    assert not reads_as_mdx(file_name="", style="docusaurus")


@pytest.mark.parametrize(
    ("markdown_format", "md", "mdx"),
    [("", True, True), ("mdx", True, True), ("md", False, False), ("detect", False, True)],
)
def test_a_docusaurus_sites_markdown_format_decides_how_its_files_read(markdown_format, md, mdx):
    for file_name, expected in (("a.md", md), ("a.markdown", md), ("a.mdx", mdx)):
        assert reads_as_mdx(file_name=file_name, style="docusaurus", markdown_format=markdown_format) is expected
    assert not reads_as_mdx(file_name="a.md", style="mkdocs", markdown_format="mdx")  # a Docusaurus setting


def test_a_docusaurus_pages_own_format_wins_over_the_sites():
    body = "# Page\n\nimport Tabs from '@theme/Tabs';\n\nRun it:\n\n    make build\n"
    as_md = ["Run it:", "```\nmake build\n```"]
    for front in ("format: md", "mdx:\n  format: md"):
        parsed = parse_markdown(f"---\n{front}\n---\n{body}", style="docusaurus", mdx=True)
        assert [b.text for b in parsed.blocks] == ["import Tabs from '@theme/Tabs';", *as_md]
    parsed = parse_markdown(f"---\nformat: mdx\n---\n{body}", style="docusaurus", mdx=False)
    assert [b.text for b in parsed.blocks] == ["Run it:", "make build"]
    parsed = parse_markdown(f"---\nformat: md\n---\n{body}", style="mkdocs", mdx=True)  # Docusaurus only
    assert [b.text for b in parsed.blocks] == ["Run it:", "make build"]


def test_code_blocks_keep_their_language_and_title():
    text = (
        '```js title="docusaurus.config.js" {2} showLineNumbers\nexport default {};\n```\n\n'
        "```py title='sort.py' linenums=\"1\"\ndef sort(): ...\n```\n\n"
        '``` { .yaml .copy title="mkdocs.yml" }\nsite_url: x\n```\n\n'
        "```{2}\nno language\n```\n\n"
        "````md title='it\"s.md'\n```js\nnested\n```\n````\n\n    indented()\n"
    )
    assert [b.text for b in parse_markdown(text).blocks] == [
        '```js title="docusaurus.config.js"\nexport default {};\n```',
        '```py title="sort.py"\ndef sort(): ...\n```',
        '```yaml title="mkdocs.yml"\nsite_url: x\n```',
        "```\nno language\n```",
        "````md title='it\"s.md'\n```js\nnested\n```\n````",
        "```\nindented()\n```",
    ]
    assert without_fence_lines(parse_markdown(text).blocks[4].text) == "```js\nnested\n```"


def test_mkdocs_admonitions_collapsibles_and_tabs_are_read_as_their_label_and_text():
    text = (
        '# Install\n\n!!! note "Before you start"\n    You need Python 3.11.\n    Check `python --version`.\n\n'
        '=== "pip"\n\n    ```bash\n    pip install tool\n    ```\n\n'
        '??? tip "Faster installs"\n    Use a mirror:\n\n    - PyPI mirror\n\n'
        '    !!! warning ""\n        Nested text.\n\n'
        "!!! danger inline end\n\tNever as root.\n\n    Not even once.\n\nAfter it.\n\n    indented_code()\n\n"
        '```\n!!! note "inside a fence"\n    still code\n```\n'
    )
    assert blocks(text, style="mkdocs") == [
        ("paragraph", "Install", "Before you start: You need Python 3.11. Check python --version."),
        ("paragraph", "Install", "pip:"),
        ("code", "Install", "```bash\npip install tool\n```"),
        ("paragraph", "Install", "Faster installs: Use a mirror:"),
        ("list", "Install", "• PyPI mirror"),
        ("paragraph", "Install", "Nested text."),
        ("paragraph", "Install", "Danger: Never as root."),
        ("paragraph", "Install", "Not even once."),
        ("paragraph", "Install", "After it."),
        ("code", "Install", "```\nindented_code()\n```"),
        ("code", "Install", '```\n!!! note "inside a fence"\n    still code\n```'),
    ]
    # Lines keep their numbers: the last block starts where its fence is in the file.
    assert parse_markdown(text).blocks[-1].start_line == text.split("\n").index("```")


def test_mkdocs_blocks_inside_a_list_item_are_read_as_the_site_shows_them():
    # As a real MkDocs Material build shows them: a block indented four spaces under an item, after a blank line,
    # is in the item (as a directive of mkdocs-include-markdown-plugin inside one writes it); right after the
    # item's text it is text; after a paragraph it is code.
    text = (
        "# Steps\n\n1.  Step one.\n\n    !!! note\n        Jira is optional.\n\n1.  Step two.\n\nThen:\n\n"
        '- Item a\n\n    !!! tip "Careful"\n        Body of tip.\n\n'
        '- Item b\n    ??? warning "Hidden"\n        Hidden.\n\nThen:\n\n'
        "- Outer\n\n    - Inner\n\n        !!! info\n            Deep note.\n\nThen:\n\n"
        '1.  Pick:\n\n    === "pip"\n        pip install x\n\n    === "uv"\n        uv add x\n\n'
        "A paragraph.\n\n    !!! note\n        This is code.\n"
    )
    assert blocks(text, style="mkdocs") == [
        ("list", "Steps", "1. Step one. Note: Jira is optional.\n2. Step two."),
        ("paragraph", "Steps", "Then:"),
        ("list", "Steps", '• Item a Careful: Body of tip.\n• Item b ??? warning "Hidden" Hidden.'),
        ("paragraph", "Steps", "Then:"),
        ("list", "Steps", "• Outer\n  • Inner Info: Deep note."),
        ("paragraph", "Steps", "Then:"),
        ("list", "Steps", "1. Pick: pip: pip install x uv: uv add x"),
        ("paragraph", "Steps", "A paragraph."),
        ("code", "Steps", "```\n!!! note\n    This is code.\n```"),
    ]


def test_an_mkdocs_block_on_a_list_items_own_line_is_that_items():
    # A real MkDocs build puts the block in the item: `1.  !!! note "Optional"` shows the note titled "Optional"
    # as item 1, its content indented four spaces past the item's.
    text = (
        '# Steps\n\n1.  !!! note "Optional"\n        Jira is optional.\n\n2.  Second step.\n\nThen:\n\n'
        '-   ??? tip\n        Hidden tip.\n-   !!! warning ""\n        Untitled.\n'
        '-   === "pip"\n        pip install x\n'
    )
    assert blocks(text, style="mkdocs") == [
        ("list", "Steps", "1. Optional: Jira is optional.\n2. Second step."),
        ("paragraph", "Steps", "Then:"),
        ("list", "Steps", "• Tip: Hidden tip.\n• Untitled.\n• pip: pip install x"),
    ]


def test_pymdownx_blocks_are_read_as_their_title_and_content_without_fences_or_options():
    text = (
        "# Exercises\n\n/// details | Exercise 1: Design tests\n    type: question\n    open: false\n\n"
        "Design black box tests for a fine calculator.\n///\n///\n\n"
        "/// note\nThe fine is capped.\n///\n\n/// admonition\n    type: tip\n- Start at the boundaries\n///\n\n"
        "/// admonition |\nUntitled text.\n///\n\n/// tab | pip\n```bash\npip install tool\n```\n///\n\n"
        "//// html | div\n/// warning | Careful\n    attrs: {class: wide}\nNested text.\n///\n////\n\n"
        "| a | b |\n| - | - |\n| 1 | 2 |\n\n/// caption\nTable 1: the fines.\n///\n\n"
        "/// details | Indented code first\n\n    indented_code()\n///\n\n"
        "/// details | Options then code\n    type: note\n\n    more_code()\n///\n\n"
        "```\n/// note | inside a fence\n///\n```\n"
    )
    assert blocks(text, style="mkdocs") == [
        ("paragraph", "Exercises", "Exercise 1: Design tests: Design black box tests for a fine calculator."),
        ("paragraph", "Exercises", "Note: The fine is capped."),
        ("paragraph", "Exercises", "Tip:"),
        ("list", "Exercises", "• Start at the boundaries"),
        ("paragraph", "Exercises", "Untitled text."),
        ("paragraph", "Exercises", "pip:"),
        ("code", "Exercises", "```bash\npip install tool\n```"),
        ("paragraph", "Exercises", "Careful: Nested text."),
        ("table", "Exercises", "a: 1; b: 2"),
        ("paragraph", "Exercises", "Table 1: the fines."),
        ("paragraph", "Exercises", "Indented code first:"),
        ("code", "Exercises", "```\nindented_code()\n```"),
        ("paragraph", "Exercises", "Options then code:"),
        ("code", "Exercises", "```\nmore_code()\n```"),
        ("code", "Exercises", "```\n/// note | inside a fence\n///\n```"),
    ]
    # Lines keep their numbers: the last block starts where its fence is in the file.
    assert parse_markdown(text).blocks[-1].start_line == text.split("\n").index("```", text.count("\n") - 4)


def test_attribute_lists_footnotes_icons_snippets_and_abbreviations_are_read_as_the_page_shows_them():
    text = (
        "# Page\n\n## Setup { #custom-setup .wide }\n\nInstall it.[^1] It matches `[^a-z]`. { .annotate }\n\n"
        "## Other {: #other-id }\n\n## Plain {#plain-id}\n\n## Classes only { .x }\n\n"
        "Click :material-check: to confirm.\n\nA set such as {size=2}\n\n"
        '--8<-- "includes/abbreviations.md"\n\n--8<--\nincludes/a.md\nincludes/b.md\n--8<--\n\n'
        "*[HTML]: Hyper Text Markup Language\n\n[^1]: The installer needs network access.\n"
    )
    parsed = parse_markdown(text, style="mkdocs")
    assert [(b.anchor, b.text) for b in parsed.blocks] == [
        ("custom-setup", "Install it. It matches [^a-z]."),
        ("classes-only", "Click to confirm."),
        ("classes-only", "A set such as {size=2}"),  # no #id, .class or {: ...}: the sentence's own
        ("classes-only", "The installer needs network access."),
    ]
    assert [(name, anchor) for _, name, anchor in parsed.headings[1:]] == [
        ("Setup", "custom-setup"),
        ("Other", "other-id"),
        ("Plain", "plain-id"),
        ("Classes only", "classes-only"),
    ]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        # As a Docusaurus 3.10 build gave them (the classic template's "Markdown Features" page uses the first).
        ("## Headings {/* #my-heading-id */}", ("Headings", "my-heading-id")),
        ("### Heading Ids {/*   #my-custom-id and a note */}", ("Heading Ids", "my-custom-id")),
        ("## Dotted {/* #v1.2 */}", ("Dotted", "v1.2")),
        # Not an id: two comments, or one whose first word has no "#".
        ("## Two {/* #a */ /* #b */}", ("Two", "two")),
        ("## Note {/* a note */}", ("Note", "note")),
    ],
)
def test_a_docusaurus_heading_takes_its_id_from_an_mdx_comment(heading, expected):
    parsed = parse_markdown(f"# Page\n\n{heading}\n\nText.\n", style="docusaurus", mdx=True)
    assert parsed.headings[1][1:] == expected
    assert parsed.blocks[0].anchor == expected[1]


def test_an_mdx_comment_heading_id_in_code_is_left_as_written():
    text = "# Page\n\n```md\n## Headings {/* #my-heading-id */}\n```\n"
    assert parse_markdown(text, style="docusaurus", mdx=True).blocks[0].text == (
        "```md\n## Headings {/* #my-heading-id */}\n```"
    )


def test_mdx_comments_are_dropped_from_text_but_kept_in_code_and_lines_keep_their_numbers():
    text = (
        "# Page\n\nBefore {/* a\nlong\ncomment */} after.\n\nWrite `{/* #custom-id */}` after a heading.\n\n"
        "```js\nconst x = 1; {/* shown */}\n```\n\nLast.\n"
    )
    blocks = parse_markdown(text, style="docusaurus", mdx=True).blocks
    assert [b.text for b in blocks] == [
        "Before after.",
        "Write {/* #custom-id */} after a heading.",
        "```js\nconst x = 1; {/* shown */}\n```",
        "Last.",
    ]
    assert blocks[-1].start_line == text.split("\n").index("Last.")


BUILT_HEADINGS = json.loads((FIXTURES / "headings-built.json").read_text())["modes"]


@pytest.mark.parametrize("mode", BUILT_HEADINGS)
def test_heading_anchors_are_the_ids_the_real_generators_built(mode):
    # tests/fixtures/headings-built.json: what Docusaurus and MkDocs built from headings.md (bench/site_links.py
    # --record), with their default rules and with the settings sites change them by: punctuation, code, links,
    # images, Unicode, repeats, tabs and no-break spaces in headings.
    built = BUILT_HEADINGS[mode]
    parsed = parse_markdown(
        (FIXTURES / "headings.md").read_text(),
        style=built["generator"],
        mdx=built["mdx"],
        heading_ids=HeadingIds.from_dict(built["heading_ids"]),
    )
    assert [anchor for level, _, anchor in parsed.headings if level == 2] == built["ids"]


@pytest.mark.parametrize(("style", "after"), [("docusaurus", "aside-2"), ("mkdocs", "aside_2"), ("plain", "aside-2")])
def test_headings_in_blockquotes_and_list_items_are_counted_but_make_no_section(style, after):
    # The generators give every heading an id, nested ones too, so a later "## Aside" is the third of its name.
    text = (
        "> # Quoted title\n\n## Intro\n\nHello.\n\n> ## Aside\n>\n> In a quote.\n\n"
        "- ## Aside\n\n  In a list.\n\n## Aside\n\nAfter.\n"
    )
    parsed = parse_markdown(text, style=style)
    assert [anchor for level, _, anchor in parsed.headings if level == 2] == ["intro", *_asides(style), after]
    assert [(block.section, block.anchor) for block in parsed.blocks] == [
        ("", ""),
        *[("Intro", "intro")] * 3,
        ("Aside", after),
    ]
    assert parsed.title == ""  # a quoted H1 is not the page's title
    # Its text leads the text after it, as an admonition's title does.
    assert [block.text for block in parsed.blocks][2:4] == ["Aside: In a quote.", "• Aside: In a list."]


def _asides(style: str) -> list[str]:
    return ["aside", "aside_1"] if style == "mkdocs" else ["aside", "aside-1"]


def test_mdx_string_expressions_show_their_string():
    # MDX's way to write a character it would read as markup: {'<'} shows "<", and nothing in it is markup.
    text = "Write {'<'}br /> to break a line, {\"{\"} for a brace, {'*'}stars{'*'}; `{'kept'}` in code.\n"
    assert blocks(text, mdx=True) == [
        ("paragraph", "", "Write <br /> to break a line, { for a brace, *stars*; {'kept'} in code.")
    ]
    assert blocks(text, mdx=False)[0][2].startswith("Write {'<'}br /> to break")  # CommonMark: as written


def test_mdx_expressions_show_the_constants_the_page_exports():
    text = (
        "import Highlight from '@site/src/components/Highlight';\n"
        "export const minimumVersion = '1.22';\nexport const board = {\n  name: 'ESP32',\n  flash: `4 MB*`,\n"
        "  pins: [21, 22],\n  tested: true,\n};\nexport const computed = minimumVersion + '.1';\n\n"
        "Needs MicroPython <Highlight color={board.name}>{minimumVersion}</Highlight> or later on the {board.name} "
        "({ board.flash }), pins {board.pins[0]} and {board.pins['1']}{board.tested}{board.notes}; "
        "{computed} and {nothing} stay; `{minimumVersion}` in code.\n\n```js\n{minimumVersion}\n```\n"
    )
    assert blocks(text, mdx=True)[0] == (
        "paragraph",
        "",
        "Needs MicroPython 1.22 or later on the ESP32 (4 MB*), pins 21 and 22; {computed} and {nothing} stay; "
        "{minimumVersion} in code.",
    )
    assert blocks(text, mdx=True)[1][2] == "```js\n{minimumVersion}\n```"
    # Docusaurus gives every page its front matter.
    page = "---\ntitle: Firmware\nboards: [ESP32, Pico W]\n---\n\n"
    page += "This is {frontMatter.title}, for the {frontMatter.boards[1]}.\n"
    parsed = parse_markdown(page, style="docusaurus", mdx=True)
    assert parsed.blocks[0].text == "This is Firmware, for the Pico W."
    assert "{minimumVersion}" in blocks(text, mdx=False)[-2][2]  # CommonMark: as written


def test_docusaurus_admonition_components_read_as_the_admonitions_they_are():
    # <Admonition type="tip" title="…"> is :::tip[…]: its title (else its type) labels its text.
    text = (
        "import Admonition from '@theme/Admonition';\n\n"
        '<Admonition type="tip" title="Mounting height">\n'
        "  Mount the shield 1.5 m above short grass.\n</Admonition>\n\n"
        '<Admonition type="warning">Never power the board from USB and battery.</Admonition>\n\n'
        '<Admonition type="info" icon="💡" title={\'Did you know\'}>\n\n  - one\n  - two\n\n</Admonition>\n\n'
        'Write `<Admonition type="tip">` in code.\n'
    )
    assert blocks(text, mdx=True) == [
        ("paragraph", "", "Mounting height: Mount the shield 1.5 m above short grass."),
        ("paragraph", "", "Warning: Never power the board from USB and battery."),
        ("paragraph", "", "Did you know:"),
        ("list", "", "• one\n• two"),
        ("paragraph", "", 'Write <Admonition type="tip"> in code.'),
    ]


def test_docusaurus_code_block_components_are_code():
    # As Docusaurus's docs write them: the code a template literal, its language and title attributes.
    text = (
        "# Page\n\nShow a greeting with:\n\n"
        '<CodeBlock language="jsx" title="/src/components/Hello.js" showLineNumbers>\n'
        "  {`function Hello(props) {\n  return <h1>Hello, {props.name}</h1>; // \\`x\\` \\${y}\n}`}\n"
        "</CodeBlock>\n\n"
        '<CodeBlock language="bash">\nnpm run build\n</CodeBlock>\n\n'
        "<CodeBlock>{Source}</CodeBlock>\n\n"  # a file's code no raw-loader import of this page names: unknown
        '<CodeBlock language="py">\n{source}\n</CodeBlock>\n\nAfter.\n'
    )
    blocks = parse_markdown(text, style="docusaurus", mdx=True).blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "Show a greeting with:"),
        (
            "code",
            '```jsx title="/src/components/Hello.js"\nfunction Hello(props) {\n'
            "  return <h1>Hello, {props.name}</h1>; // `x` ${y}\n}\n```",
        ),
        ("code", "```bash\nnpm run build\n```"),
        ("paragraph", "After."),
    ]
    assert blocks[-1].start_line == text.split("\n").index("After.")  # lines keep their numbers


def test_docusaurus_magic_comments_are_left_out_of_code():
    text = (
        '# Page\n\n```js title="docusaurus.config.js"\nmodule.exports = {\n  // highlight-next-line\n'
        "  title: 'Site',\n  /* highlight-start */\n  url: 'https://x',\n  /* highlight-end */\n};\n```\n\n"
        "```html\n<!-- highlight-next-line -->\n<p>hi</p>\n```\n"
    )
    code = "```js title=\"docusaurus.config.js\"\nmodule.exports = {\n  title: 'Site',\n  url: 'https://x',\n};\n```"
    assert [b.text for b in parse_markdown(text, style="docusaurus").blocks] == [code, "```html\n<p>hi</p>\n```"]
    # Only Docusaurus gives them a meaning; elsewhere the code is as written.
    assert "// highlight-next-line" in parse_markdown(text, style="mkdocs").blocks[0].text


def test_tables_are_split_between_rows_and_every_chunk_has_the_header():
    rows = "\n".join(
        f"| Model {i} | {i * 3} kg | a rather long description of this model number {i} |" for i in range(60)
    )
    text = f"# Robots\n\n## Comparison\n\n| Model | Weight | Notes |\n| --- | --- | --- |\n{rows}\n"
    chunks = MarkdownSplitter(split_length=100, split_overlap=20).run(documents=[Document(content=text)])["documents"]
    assert len(chunks) > 3
    seen = []
    for chunk in chunks:
        lines = chunk.content.split("\n")
        assert all(line.startswith("Model: Model ") and "; Weight: " in line and "; Notes: " in line for line in lines)
        assert chunk.meta["section"] == "Robots > Comparison" and chunk.meta["anchor"] == "comparison"
        seen.extend(lines)
    assert len(seen) == 60  # every row once, none cut


def test_a_row_too_wide_for_a_chunk_stays_whole():
    wide = " ".join(f"word{i}" for i in range(80))
    text = f"| A | B |\n| --- | --- |\n| short | {wide} |\n| next | row |\n"
    chunks = MarkdownSplitter(split_length=50, split_overlap=10).run(documents=[Document(content=text)])["documents"]
    assert [c.content for c in chunks] == [f"A: short; B: {wide}", "A: next; B: row"]


def test_split_lists_repeat_their_lead_in():
    items = "\n".join(f"{i}. Step {i} of the procedure with several words in it" for i in range(1, 31))
    text = f"# Guide\n\nFollow these steps:\n\n{items}\n"
    chunks = MarkdownSplitter(split_length=80, split_overlap=10).run(documents=[Document(content=text)])["documents"]
    assert len(chunks) > 2
    assert all("Follow these steps:" in chunk.content for chunk in chunks)


def test_long_code_is_split_between_lines_and_every_part_is_fenced():
    code = "\n".join(f"step_{i} = run(task_{i}, retries=3)  # {i}" + ("\n" if i % 10 == 0 else "") for i in range(60))
    text = f'# Guide\n\nRun this script:\n\n```python title="run.py"\n{code}\n```\n\nDone.\n'
    chunks = MarkdownSplitter(split_length=80, split_overlap=10).run(documents=[Document(content=text)])["documents"]
    parts = [chunk.content for chunk in chunks if "step_" in chunk.content]
    assert len(parts) > 3
    for number, part in enumerate(parts):
        body = part.split('```python title="run.py"\n', 1)[1].removesuffix("\n\nDone.")
        assert body.endswith("\n```") and "```" not in body[:-4], part
        assert part.startswith("Run this script:\n\n```python") if number else "Run this script:" in part
    lines = [line for part in parts for line in part.split("\n") if line.startswith("step_")]
    assert lines == [line for line in code.split("\n") if line]  # every line once, whole, in order
    assert any("\n\nstep_" in part for part in parts)  # blank lines inside the code are kept


def test_nested_docusaurus_admonitions_are_read_as_their_labels_and_text():
    text = ":::::info Parent\n\nParent text.\n\n::::danger[Child]\n\nChild text.\n\n::::\n\n:::::\n\nAfter.\n"
    assert [b.text for b in parse_markdown(text, mdx=True).blocks] == [
        "Parent:",
        "Parent text.",
        "Child:",
        "Child text.",
        "After.",
    ]


def test_a_lead_in_longer_than_half_a_chunk_is_not_repeated():
    lead = " ".join(["word"] * 50) + ":"
    items = "\n".join(f"- item {i} with a few more words" for i in range(40))
    text = f"# Guide\n\n{lead}\n\n{items}\n"
    chunks = MarkdownSplitter(split_length=80, split_overlap=10).run(documents=[Document(content=text)])["documents"]
    assert sum(lead in chunk.content for chunk in chunks) == 1
    assert all(len(chunk.content.split()) <= 80 for chunk in chunks)


def test_pymdownx_keys_mark_caret_and_tilde_read_as_an_mkdocs_page_shows_them():
    text = (
        "# Page\n\n## Press ++ctrl+s++ to save\n\n"
        "Press ++ctrl+alt+del++ or ++cmd+page-up++. C++ and C++ stay, as do a ++ b ++ c, i++ and a == b.\n\n"
        "This is ==very important==, H~2~O, x^2^ and ^^inserted^^; `==code==` and `++x++` stay.\n"
    )
    parsed = parse_markdown(text, style="mkdocs")
    assert [(b.anchor, b.text) for b in parsed.blocks] == [
        (
            "press-ctrls-to-save",
            "Press Ctrl+Alt+Del or Cmd+Page Up. C++ and C++ stay, as do a ++ b ++ c, i++ and a == b.",
        ),
        ("press-ctrls-to-save", "This is very important, H2O, x2 and inserted; ==code== and ++x++ stay."),
    ]
    # Other sites do not have these extensions: the text is theirs as written.
    assert "++ctrl+alt+del++" in parse_markdown(text, style="docusaurus").blocks[0].text


def test_an_html_blocks_style_sheet_and_script_are_not_text():
    text = (
        '# Page\n\n<div class="note">\n<style>\n.note { color: red; }\n</style>\nMount the mast first.\n'
        "<script>track('note');</script>\n</div>\n"
    )
    assert blocks(text) == [("paragraph", "Page", "Mount the mast first.")]


def test_material_cards_buttons_and_figures_read_as_an_mkdocs_page_shows_them():
    # Checked against an MkDocs Material 9.8 build with attr_list and md_in_html.
    text = (
        "# Page\n\n"
        '<div class="grid cards" markdown>\n\n'
        "-   :material-clock-fast:{ .lg .middle } __Set up in 5 minutes__\n\n    ---\n\n"
        "    Install [`mkdocs-material`](#){: .code } with `pip`.\n\n"
        "</div>\n\n"
        "[Subscribe](#){ .md-button .md-button--primary } today, or [read](#){ .md-button } first.\n\n"
        '<figure markdown="span">\n'
        '  ![A raised bed](bed.jpg){ width="300" }\n'
        "  <figcaption>The bed in May.</figcaption>\n"
        "</figure>\n\n"
        "<div markdown>\nSome *text* inside.\n</div>\n\n"
        '<div class="markdown-body">\nPlain **HTML**.\n</div>\n\n'
        '```html\n<div markdown="1">\n```\n'
    )
    assert [(b.kind, b.text) for b in parse_markdown(text, style="mkdocs").blocks] == [
        ("list", "• Set up in 5 minutes: Install mkdocs-material with pip."),
        ("paragraph", "Subscribe today, or read first."),
        ("paragraph", "A raised bed"),
        ("paragraph", "The bed in May."),
        ("paragraph", "Some text inside."),
        ("paragraph", "Plain **HTML**."),  # not Markdown: no markdown attribute
        ("code", '```html\n<div markdown="1">\n```'),
    ]


def test_an_attribute_list_on_a_heading_link_styles_the_link_and_a_spaced_one_names_the_heading():
    # Python-Markdown's attr_list: one right after an element is the element's; after a space, the heading's.
    text = "# Page\n\n## [Setup](#){ #link-id }\n\nA.\n\n## [Usage](#) { #usage-id }\n\nB.\n"
    parsed = parse_markdown(text, style="mkdocs")
    assert [(name, anchor) for _, name, anchor in parsed.headings[1:]] == [("Setup", "setup"), ("Usage", "usage-id")]


def test_a_closing_run_of_hashes_before_a_headings_attribute_list_is_not_its_text():
    # Hatch's docs: "### Global lock-envs ### {: #lock-envs }". Python-Markdown's attr_list drops the #s left in
    # front of the list; a # that ends a word (C#) stays.
    text = "# Page\n\n### Global lock-envs ### {: #lock-envs }\n\nA.\n\n### Using C# {: #cs }\n\nB.\n"
    parsed = parse_markdown(text, style="mkdocs")
    assert [(name, anchor) for _, name, anchor in parsed.headings[1:]] == [
        ("Global lock-envs", "lock-envs"),
        ("Using C#", "cs"),
    ]
    assert parsed.blocks[0].section == "Page > Global lock-envs"


def test_inline_code_shows_without_its_inlinehilite_language_on_an_mkdocs_page():
    text = "# Page\n\nRun `#!python range(3)` or `:::bash ls -l`; `#!` alone and `x #!y` stay.\n"
    assert parse_markdown(text, style="mkdocs").blocks[0].text == "Run range(3) or ls -l; #! alone and x #!y stay."
    assert "#!python range(3)" in parse_markdown(text, style="docusaurus").blocks[0].text


def test_definition_lists_read_as_terms_with_their_definitions_on_an_mkdocs_page():
    text = (
        "# Terms\n\nTilth\n:   The crumbly top layer\n    of a worked soil.\n\n"
        "Green manure\n:   A crop grown to be dug back in.\n:   It keeps nutrients in\n\n"
        "Mulch\n:   Cover for the soil\n:   a layer of straw\n\n"
        "Compost\n\n:   Organic matter.\n\n    A second paragraph.\n"
    )
    parsed = parse_markdown(text, style="mkdocs")
    assert [(b.kind, b.lines) for b in parsed.blocks] == [
        (
            "list",
            (
                "• Tilth: The crumbly top layer of a worked soil.",
                "• Green manure: A crop grown to be dug back in. It keeps nutrients in",
                "• Mulch: Cover for the soil; a layer of straw",
                "• Compost: Organic matter. A second paragraph.",
            ),
        )
    ]
    # Without Python-Markdown's def_list (Docusaurus, a plain page) the lines are a paragraph, as written.
    assert parse_markdown(text, style="docusaurus").blocks[0].text.startswith("Tilth : The crumbly")
