"""What reading a page's mkdocs-include-markdown-plugin directives costs, against parsing the page they make (the
step ingestion takes next), and what hostile pages cost, against the plugin's own pattern on the same page.

    .venv/bin/python bench/includes.py

A page of an MkDocs site (in a temporary folder) with 20 directives as real books write them: numbered steps each
including a file (the includer's indent carried into it), a README's part between two markers, a glob of five
files, a heading offset. Then two hostile pages, small enough for the plugin's pattern to finish: 5,000 opening
tags that are never closed, and a line of 20,000 word characters before an opening tag that is never closed (the
plugin's pattern tries each of them as the start of a directive's indent). Each time is the best of five runs (one
for the plugin's pattern on the hostile pages).
"""

import re
import tempfile
from pathlib import Path

from _setup import best_ms, setup, table, write_file

# The plugin's pattern (mkdocs-include-markdown-plugin 7.3, directive.INCLUDE_TAG_RE): from each opening tag it
# looks for the next closing tag.
PLUGIN_PATTERN = re.compile(
    r"""(?P<_includer_indent>[ \t\w\\.]*?)\{%\s*include-markdown\s+(?:"(?P<double>([^"]|(?<=\\)")+)")?"""
    r"""(?:'(?P<single>([^']|(?<=\\)')+)')?(?P<arguments>.*?)\s*%\}""",
    re.DOTALL,
)


def book(root: Path) -> str:
    """The site's files, and the text of its page with the directives."""
    write_file(root, "mkdocs.yml", "site_name: Bench\nplugins:\n  - include-markdown\n")
    write_file(
        root, "README.md", "# Tool\n\n<!-- intro -->\n" + "The tool waters gardens.\n" * 20 + "<!-- /intro -->\n"
    )
    for step in range(12):
        write_file(root, f"docs/includes/step-{step}.md", f"Run step {step}.\n\n- check it\n- log it\n\n" * 5)
    for part in range(5):
        write_file(root, f"docs/parts/part-{part}.md", f"# Part {part}\n\n" + "A paragraph of the part.\n" * 10)
    steps = "".join(f'1.  {{%\n      include-markdown "./includes/step-{step}.md"\n    %}}\n\n' for step in range(12))
    text = (
        "# Page\n\n"
        + steps
        + '{% include-markdown "../README.md" start="<!-- intro -->" end="<!-- /intro -->" %}\n\n'
        + '{% include-markdown "parts/*.md" heading-offset=1 %}\n\n'
        + "".join(f'Note {n}: {{% include-markdown "includes/step-{n}.md" %}}\n\n' for n in range(6))
    )
    return text


def main() -> None:
    setup()
    from knowledge.includes import IncludeMarkdown, inline_includes
    from knowledge.markdown import parse_markdown

    settings = IncludeMarkdown()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        text = book(root)
        page = write_file(root, "docs/page.md", text)

        def inline(page_text: str) -> str:
            return inline_includes(page_text, path=page, style="mkdocs", root=root, include_markdown=settings)

        inlined = inline(text)
        parsing = best_ms(lambda: parse_markdown(inlined, style="mkdocs"))
        including = best_ms(lambda: inline(text))
        rows.append(["a page with 20 directives (vs parsing what they make)", f"{parsing:.2f}", f"{including:.2f}"])
        for name, hostile in (
            ("5,000 unclosed opening tags", '{% include-markdown "x.md" ' * 5_000),
            ("20,000 word characters, one unclosed tag", "a" * 20_000 + ' {% include-markdown "x.md" '),
        ):
            plugin = best_ms(lambda hostile=hostile: PLUGIN_PATTERN.findall(hostile), times=1)
            ours = best_ms(lambda hostile=hostile: inline(hostile), times=1)
            rows.append([f"{name} (vs the plugin's pattern)", f"{plugin:.2f}", f"{ours:.2f}"])
    print(table(["page", "baseline ms", "ours ms"], rows))
    for row in rows:
        print(f"{row[0]}: {float(row[2]) / float(row[1]):.4f}x the baseline")


if __name__ == "__main__":
    main()
