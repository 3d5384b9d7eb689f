"""Markdown as a reader sees it: front matter, MDX, and CommonMark blocks (markdown-it-py tokens).

One parser for everything Markdown: ingestion's sections, paragraphs, lists, tables and code, and the demo
book's HTML, come from the same tokens. Blocks carry the text a reader reads (no emphasis markers, link or
image syntax; code verbatim inside its fence).
"""

import html
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.deflist import deflist_plugin

from .html_tables import html_tables
from .mdx_exports import REFERENCE, exported_constant, reference_text
from .slugs import HeadingIds, heading_slugger

_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})(.*)$")
_MDX_ESM = re.compile(r"^(import|export)\s")
# An MDX {/* comment */}, or `inline code` (matched so that a comment written in code stays: code shows it).
# Inline code (kept as written), an MDX comment (dropped), a string written as an expression, {'<'}: MDX's way
# to write a character it would otherwise read as markup (shown as the string), or a constant the page exports,
# {version} (shown as its value).
_MDX_COMMENT_OR_CODE = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`))|\{/\*.*?\*/\}"
    r"|\{\s*(?P<quote>['\"])(?P<string>(?:(?!(?P=quote))[^\\\n]){0,200})(?P=quote)\s*\}"
    rf"|\{{\s*(?P<reference>{REFERENCE})\s*\}}",
    re.DOTALL,
)
_ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# Docusaurus's heading id in an MDX comment ending the heading, `## Setup {/* #custom-id */}`: the comment's first
# word names the id when it starts with "#". (Docusaurus 3.10 reads no id from an HTML comment.)
_MDX_HEADING_COMMENT = re.compile(
    r"^(?P<heading> {0,3}#{1,6}[ \t].*?)[ \t]*\{/\*(?P<comment>(?:(?!\*/).)*)\*/\}[ \t]*$"
)
# Docusaurus's tabs: <Tabs values={[{label: 'npm', value: 'npm'}]}> around <TabItem value="npm" label="npm">.
# A JSX tag's attributes may hold {expressions}, with braces and ">" inside them.
_JSX_ATTRIBUTES = r"(?:[^<>{}]|\{(?:[^{}]|\{[^{}]*\})*\})*"
_TABS_OPEN = re.compile(r"^[ \t]*<Tabs(?=[\s>/]|$)")
_TABS_TAG = re.compile(rf"^[ \t]*<Tabs{_JSX_ATTRIBUTES}>")
_TAB_ITEM = re.compile(rf"<TabItem({_JSX_ATTRIBUTES})>")
_TAB_CLOSE = re.compile(r"</TabItem\s*>|</Tabs\s*>")
_TAB_VALUE = re.compile(r"\{([^{}]*)\}")
# Docusaurus's admonition as a component, `<Admonition type="tip" title="Careful">…</Admonition>`: read as the
# `:::tip[Careful]` it is the same as, its label then its text.
_ADMONITION_TAG = re.compile(rf"^([ \t]*)<Admonition(?=[\s>])({_JSX_ATTRIBUTES})>[ \t]*")
_ADMONITION_END = re.compile(r"[ \t]*</Admonition\s*>[ \t]*$")
_JSX_STRING = r"(?:\"([^\"]*)\"|'([^']*)'|\{\s*[\"'`]([^\"'`]*)[\"'`]\s*\})"
# Docusaurus admonitions; one nested in another is fenced with more colons (::::: around ::::).
_ADMONITION_OPEN = re.compile(r"^[ \t]*:{3,}[ \t]*([A-Za-z]+)(?:\[([^\]]*)\])?[ \t]*(.*?)[ \t]*(?:\{[^}]*\})?[ \t]*$")
_ADMONITION_CLOSE = re.compile(r"^[ \t]*:{3,}[ \t]*$")
# MkDocs (Python-Markdown's admonition, pymdownx.details and pymdownx.tabbed): `!!! note "Title"`,
# `??? tip` / `???+ tip` (collapsible) and `=== "Tab"`, each followed by its content indented four spaces. One
# indented by a multiple of four is inside a list item when a blank line comes before it (see _in_list_item);
# one on a list item's own line (`1.  !!! note`) is that item's, its content four spaces past the item's.
_MKDOCS_BLOCK = re.compile(
    r"^(?P<indent> *)(?P<marker>(?:[-*+]|\d+\.)[ \t]+)?"
    r"(?:(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[A-Za-z][\w-]*)(?:[ \t]+[A-Za-z][\w-]*)*"
    r'(?:[ \t]+"(?P<title>[^"]*)")?|===[!+]?[ \t]+"(?P<tab>[^"]*)")[ \t]*$'
)
# pymdownx.blocks, fenced by three or more slashes: `/// details | Summary` or `/// note` opens one, a line of as
# many slashes closes it, and lines indented four spaces right after the opening are its options (YAML).
_PYMDOWNX_BLOCK_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)/{3,}[ \t]*(?P<name>[\w-]+)[ \t]*(?:\|[ \t]*(?P<argument>.*?))?[ \t]*$"
)
_PYMDOWNX_BLOCK_CLOSE = re.compile(r"^[ \t]*/{3,}[ \t]*$")
# A list item as Python-Markdown starts one: its content, and what belongs to it, is indented four spaces.
_LIST_ITEM = re.compile(r"^(?P<indent> *)(?:[-*+]|\d+\.)[ \t]+\S")
_PYMDOWNX_BLOCK_TYPE = re.compile(r"^\s*type:\s*['\"]?([\w-]+)")
# Blocks that show no title of their own: a wrapper element, a figure's caption, a definition list.
_UNTITLED_BLOCKS = frozenset({"html", "caption", "figure-caption", "table-caption", "figure", "define", "definition"})
# An attribute list ending a heading or paragraph: Docusaurus's {#id}, Python-Markdown's { #id .class key=value }
# or {: #id }. The page never shows it; a heading's #id is its anchor.
_ATTR = r"(?:[#.][^\s{}\\]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s{}\\]+))"
_ATTR_LIST = re.compile(rf"\s*\\?\{{(:?)[ \t]*({_ATTR}(?:[ \t]+{_ATTR})*)[ \t]*\\?\}}\s*$")
# An attribute list right after an inline element (a link, an image, an icon, emphasis, code), which it styles:
# `[Subscribe](#){ .md-button }`, `![Map](map.png){ width="300" }`, `:material-clock:{ .lg }`.
_INLINE_ATTR = rf"\{{:?[ \t]*{_ATTR}(?:[ \t]+{_ATTR})*[ \t]*\}}"
_LEADING_INLINE_ATTR = re.compile(rf"^{_INLINE_ATTR}")
# Tokens that end an inline element an attribute list can follow.
_ELEMENT_ENDS = frozenset({"link_close", "image", "code_inline", "em_close", "strong_close", "s_close"})
# pymdownx.inlinehilite's language prefix of inline code, `#!python range()` or `:::python range()`: the page
# shows the code alone, highlighted.
_INLINE_CODE_LANGUAGE = re.compile(r"^(?::{3,}|#!)[\w#.+-]*\s+")
# Shown as nothing, or elsewhere on the page: footnote references ([^1]; the note's own text is kept where it is
# defined) and icon shortcodes (:material-check:).
_INVISIBLE = re.compile(rf"\[\^[^\]\s]+\](?!:)|:(?:material|fontawesome|octicons|simple)-[\w-]+:(?:{_INLINE_ATTR})?")
# pymdownx.snippets' marker (--8<--, with any number of dashes either side), as knowledge.includes reads it.
SNIPPET_MARKER = r"-+8<-+"
# Lines the page never shows: snippet includes (--8<-- "file.md") left over once includes are inlined, and
# abbreviation definitions (*[HTML]: ...). An escaped marker line (;--8<--) shows as written, one `;` fewer.
_SNIPPET = re.compile(rf"^[ \t]*(?P<escape>;*){SNIPPET_MARKER}")
# pymdownx inline syntax as MkDocs Material shows it: keys (++ctrl+alt+del++ -> Ctrl+Alt+Del), mark (==text==),
# caret (^^inserted^^, x^2^) and tilde (H~2~O). Markers hug their text, so "C++ and C++" or "a == b" stay.
_KEYS = re.compile(r"\+\+([A-Za-z0-9][\w-]*(?:\+[A-Za-z0-9][\w-]*)*)\+\+")
_WRAPPED = re.compile(r"(==|\^\^)(?=\S)(.+?)(?<=\S)\1")
_SCRIPT = re.compile(r"(?<=\w)([~^])([^\s~^]+)\1")
_ABBREVIATION = re.compile(r"^[ \t]{0,3}\*\[[^\]]+\]:")
# An HTML element whose content is Markdown (md_in_html, as MkDocs Material's grids and figures use it):
# `<div class="grid cards" markdown>` or `<figure markdown="span">` on a line of its own. Its tag shows nothing; a
# CommonMark parser would read its content as HTML, up to the next blank line.
_MARKDOWN_IN_HTML = re.compile(r"^[ \t]*<[A-Za-z][\w-]*\s[^<>]*?(?<=\s)markdown(?=[\s=/>])[^<>]*>[ \t]*$")
# Docusaurus's magic comments in code (// highlight-next-line, # highlight-start, <!-- highlight-end -->...):
# the site highlights the lines they mark and never shows the comment itself.
_MAGIC_COMMENT = re.compile(
    r"^\s*(?://|#|--|;|%|/\*|<!--|\{/\*)\s*(?:highlight-(?:next-line|start|end)|this-will-error)\s*(?:\*/\}?|-->)?\s*$"
)
_FOOTNOTE_DEFINITION = re.compile(r"^([ \t]{0,3})\[\^[^\]\s]+\]:[ \t]?")
# A code block's title, in Docusaurus's and MkDocs Material's info string: ```js title="src/app.js" {2}.
_CODE_TITLE = re.compile(r"""(?:^|[\s{])title=(?:"([^"]*)"|'([^']*)'|([^\s}]+))""")
_CODE_LANGUAGE = re.compile(r"^\{?\s*\.?([A-Za-z][\w+#-]*)(?=[\s}]|$)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# HTML whose text a page never shows (as html_tables reads tables): a style sheet, a script, a template.
_HIDDEN_HTML = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

BULLET = "•"
FENCE = "```"


def fenced(code: str, *, info: str = "") -> str:
    """Code as a Markdown fenced block (``info``: its language and title), its fence longer than any run of
    backticks inside."""
    fence = "`" * max(len(FENCE), 1 + max((len(run) for run in re.findall(r"`+", code)), default=0))
    return f"{fence}{info}\n{code}\n{fence}"


def code_info(info: str) -> str:
    """A fence's info string as chunks keep it: the language and the title (a file name, which the site shows
    above the code), as Docusaurus and MkDocs Material write them; line highlights and options left out."""
    match = _CODE_TITLE.search(info)
    title = next((group for group in match.groups() if group), "").strip() if match else ""
    language = _CODE_LANGUAGE.match(info)
    quote = "'" if '"' in title else '"'
    parts = (language.group(1) if language else "", f"title={quote}{title}{quote}" if title else "")
    return " ".join(part for part in parts if part)


# Between the headings of a section path: "Trees > Conifers".
SECTION_SEPARATOR = " > "


def section_heading(section: str) -> str:
    """A section path's own heading, its last ("Trees > Conifers" -> "Conifers"); '' for none."""
    return section.split(SECTION_SEPARATOR)[-1]


@dataclass(frozen=True)
class Block:
    """One block of reader text under a heading path.

    ``kind`` is paragraph, list, table, code, heading-less text or outline (the headings of a section's
    subsections, see ``_with_outlines``); ``lines`` holds a list's items or a table's rows ("Header: value;
    Header: value"), one per line, so a long one can be split between them.
    """

    kind: str
    text: str
    section: str
    anchor: str
    start_line: int
    end_line: int
    lines: tuple[str, ...] = ()


@dataclass
class ParsedMarkdown:
    """A Markdown document split into its front matter, title and blocks."""

    front_matter: dict[str, Any]
    title: str
    blocks: list[Block]
    headings: list[tuple[int, str, str]] = field(default_factory=list)  # (level, text, anchor)
    front_matter_error: str = ""

    @property
    def has_text(self) -> bool:
        """Whether anything readable is left after front matter and markup (headings alone are not)."""
        return any(block.text.strip() for block in self.blocks if block.kind != "outline")


def parser(*, mdx: bool = False, definitions: bool = False) -> MarkdownIt:
    """The CommonMark parser with tables and strikethrough, as ingestion and the demo book use it. MDX has no
    indented code: text indented inside a JSX block (a tab's content) is text. ``definitions`` reads definition
    lists (`Term` then `:   definition`), as MkDocs sites write them with Python-Markdown's def_list."""
    markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    if definitions:
        markdown.use(deflist_plugin)
    return markdown.disable("code") if mdx else markdown


def front_matter_length(text: str) -> int:
    """How many characters of ``text`` its front matter block takes (0 when it has none)."""
    match = _FRONT_MATTER.match(text)
    return match.end() if match else 0


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str]:
    """(front matter, body, error): a leading YAML block between --- lines, parsed safely, never indexed."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, ""
    # Keep the line count so block line numbers still point into the original file.
    body = "\n" * match.group(0).count("\n") + text[match.end() :]
    try:
        data = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError as error:
        return {}, body, f"The front matter is not valid YAML ({str(error).splitlines()[0]})."
    if not isinstance(data, dict):
        return {}, body, "The front matter is not a set of key: value pairs."
    return data, body, ""


def fence_roles(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line index, role) of each line: ``text``, or the ``open``, ``code`` or ``close`` line of a fenced block,
    with CommonMark's rule: a fence closes only with its own character, at least as long, and no info string."""
    opener: str | None = None
    for index, line in enumerate(lines):
        match = _FENCE_LINE.match(line)
        if opener is None:
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                opener = match.group(1)
                yield index, "open"
                continue
            yield index, "text"
        else:
            closing = (
                match is not None
                and match.group(1)[0] == opener[0]
                and len(match.group(1)) >= len(opener)
                and not match.group(2).strip()
            )
            if closing:
                opener = None
            yield index, "close" if closing else "code"


def fence_marker(line: str) -> str:
    """The run of backticks or tildes that opens or closes a fence on this line; '' for any other line."""
    match = _FENCE_LINE.match(line)
    return match.group(1) if match else ""


def fence_info(line: str) -> str:
    """The info string (language, title, options) of a fence's opening line; '' for any other line."""
    match = _FENCE_LINE.match(line)
    return match.group(2).strip() if match else ""


def without_fence_lines(text: str) -> str:
    """The text with its code fences' opening and closing lines left out (the code itself kept)."""
    lines = text.split("\n")
    return "\n".join(lines[index] for index, role in fence_roles(lines) if role in ("text", "code"))


def _outside_fences(lines: list[str]) -> Iterator[tuple[int, bool]]:
    """(line index, inside a fence, its fence lines included)."""
    for index, role in fence_roles(lines):
        yield index, role != "text"


def _depth(line: str) -> int:
    return line.count("{") + line.count("(") + line.count("[") - line.count("}") - line.count(")") - line.count("]")


def jsx_attribute(attributes: str, name: str) -> str:
    """A JSX attribute's value (name="x", name={'x'}) or, in a values={[...]} entry, an object property's
    (name: 'x'); '' when it is not there."""
    match = re.search(rf"(?<![\w-]){name}\s*[=:]\s*{_JSX_STRING}", attributes)
    return next((group for group in match.groups() if group is not None), "") if match else ""


def _tab_labels(tag: str) -> dict[str, str]:
    """The labels a <Tabs values={[...]}> tag gives its items' values."""
    labels = {}
    for entry in _TAB_VALUE.findall(tag):
        value, label = jsx_attribute(entry, "value"), jsx_attribute(entry, "label")
        if value:
            labels[value] = label or value
    return labels


def _unwrapped_mdx_code_blocks(lines: list[str]) -> list[str]:
    """Docusaurus renders an ```mdx-code-block fence's content as MDX: its fence lines are dropped."""
    out, unwrapping = list(lines), False
    for index, role in fence_roles(lines):
        if role == "open" and fence_info(lines[index]) == "mdx-code-block":
            out[index], unwrapping = "", True
        elif role == "close" and unwrapping:
            out[index], unwrapping = "", False
    return out if out == lines else _unwrapped_mdx_code_blocks(out)


CODE_BLOCK_OPEN = re.compile(r"^\s*<CodeBlock\b(?P<attributes>[^>]*)>\s*$")
CODE_BLOCK_CLOSE = re.compile(r"^\s*</CodeBlock>\s*$")
# A CodeBlock on one line whose code comes from a variable (`<CodeBlock>{Source}</CodeBlock>`, after a raw-loader
# import): the code lives in another file.
_CODE_BLOCK_OF_VARIABLE = re.compile(r"^\s*<CodeBlock\b[^>]*>\s*\{\s*[A-Za-z_$][\w$.]*\s*\}\s*</CodeBlock>\s*$")
_TEMPLATE_LITERAL = re.compile(r"\A\s*\{`(?P<code>.*)`\}\s*\Z", re.DOTALL)
_BACKTICKS = re.compile(r"`+")
MAX_CODE_BLOCK_LINES = 400


def _code_block_components_as_fences(lines: list[str]) -> list[str]:
    """Docusaurus's ``<CodeBlock language="js" title="a.js">{`code`}</CodeBlock>`` (or with the code as its text)
    as the fenced block it renders; the line count stays the same. Code it takes from a variable (``{source}``,
    imported from another file) cannot be read here: the component is dropped."""
    out = list(lines)
    index = 0
    while index < len(lines):
        if _CODE_BLOCK_OF_VARIABLE.match(lines[index]):
            out[index] = ""
        opening = CODE_BLOCK_OPEN.match(lines[index])
        end = min(index + MAX_CODE_BLOCK_LINES, len(lines))
        close = next((i for i in range(index + 1, end) if CODE_BLOCK_CLOSE.match(lines[i])), None) if opening else None
        if opening is None or close is None:
            index += 1
            continue
        body = "\n".join(lines[index + 1 : close])
        literal = _TEMPLATE_LITERAL.match(body)
        if literal:
            code = literal["code"].replace("\\`", "`").replace("\\${", "${").replace("\\\\", "\\")
        else:
            code = "" if body.strip().startswith("{") else body
        code = code.strip("\n")
        block = code_block_fence(code, attributes=opening["attributes"]) if code.strip() else []
        # The code has at most the lines between the tags, so the fence fits in the component's lines.
        out[index : close + 1] = block + [""] * (close - index + 1 - len(block))
        index = close + 1
    return out


def code_block_fence(code: str, *, attributes: str) -> list[str]:
    """The lines of the fenced block a Docusaurus ``<CodeBlock>`` with these JSX attributes renders ``code`` as:
    its language and title in the info string, the fence longer than any run of backticks in the code."""
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(code)), default=0))
    language, title = jsx_attribute(attributes, "language"), jsx_attribute(attributes, "title")
    info = " ".join(part for part in (language, f'title="{title}"' if title else "") if part)
    return [fence + info, *code.split("\n"), fence]


def reads_as_mdx(*, file_name: str, style: str, markdown_format: str = "") -> bool:
    """Whether a book's file is MDX. A Docusaurus site reads every file as its config's ``markdown_format``
    says: "mdx" (Docusaurus 3's default, .md files too), "md" (CommonMark) or "detect" (by extension). Other
    sites read .mdx files as MDX. A page's front matter ``format`` can still say otherwise (parse_markdown)."""
    suffix = file_name.lower().rpartition(".")[2]
    if style != "docusaurus":
        return suffix == "mdx"
    if markdown_format == "md":
        return False
    return suffix == "mdx" or (markdown_format != "detect" and suffix in {"md", "markdown"})


def mdx_to_markdown(text: str, *, scope: dict[str, Any] | None = None) -> str:
    """MDX as Markdown: drop import/export statements and {/* comments */}; a Docusaurus tab reads as its
    label and its content ("npm:" then the npm command); an expression shows the constant it names, one the page
    exports or one of ``scope`` (what the site gives every page). Other JSX tags are left to the parser, which
    keeps the text between them. The line count stays the same."""
    lines = _code_block_components_as_fences(_unwrapped_mdx_code_blocks(text.split("\n")))
    out: list[str] = []
    fenced: list[bool] = []
    skipping, in_tabs_tag, labels = 0, False, {}
    tag = ""
    statement: list[str] = []  # the ESM statement being read
    constants: dict[str, Any] = dict(scope or {})  # and what the page exports, for the expressions that show them
    for index, in_fence in _outside_fences(lines):
        line = lines[index]
        fenced.append(in_fence)
        if in_fence:
            out.append(line)
            continue
        if skipping > 0:  # the rest of a multi-line import or export
            skipping += _depth(line)
            statement.append(line)
            if skipping <= 0:
                constants.update(exported_constant("\n".join(statement)))
            out.append("")
            continue
        # ESM starts a block, as MDX reads it: a prose line that begins "import the ..." stays prose.
        if _MDX_ESM.match(line) and (not out or not out[-1].strip()):
            skipping, statement = max(0, _depth(line)), [line]
            if not skipping:
                constants.update(exported_constant(line))
            out.append("")
            continue
        if in_tabs_tag or _TABS_OPEN.match(line):
            tag += line + "\n"
            closed = _TABS_TAG.match(tag)
            in_tabs_tag = closed is None and _depth(tag) >= 0 and len(tag) < 10_000
            if in_tabs_tag:
                out.append("")
                continue
            labels, line, tag = _tab_labels(tag), tag[closed.end() :].rstrip("\n") if closed else "", ""
        out.append(_heading_comment_as_id(_admonition_components_as_labels(_tab_items_as_labels(line, labels=labels))))
    return "\n".join(
        "\n".join(line for _, line in run)
        if in_fence
        else _without_mdx_comments("\n".join(line for _, line in run), constants=constants)
        for in_fence, run in itertools.groupby(zip(fenced, out, strict=True), key=lambda pair: pair[0])
    )


def _without_mdx_comments(text: str, *, constants: dict[str, Any]) -> str:
    # Inline code shows a comment as written. A comment's line breaks move to the end of the text, so that a
    # paragraph around it stays one and the lines after the text keep their numbers.
    dropped = 0

    def drop(match: re.Match) -> str:
        nonlocal dropped
        if match["code"]:
            return match["code"]
        if match["reference"]:
            shown = reference_text(match["reference"], constants)
            return match[0] if shown is None else _ASCII_PUNCTUATION.sub(r"\\\g<0>", shown)
        if match["quote"]:  # shown as written: escaped, so that Markdown reads no markup in it
            return _ASCII_PUNCTUATION.sub(r"\\\g<0>", match["string"])
        dropped += match[0].count("\n")
        return ""

    kept = _MDX_COMMENT_OR_CODE.sub(drop, text)
    return kept + "\n" * dropped


def _comment_heading_id(comment: str) -> str:
    """The heading id a comment names, as Docusaurus reads it: its first word, when that starts with "#"."""
    first = comment.strip().split(" ")[0]
    return first[1:] if first.startswith("#") else ""


def _heading_comment_as_id(line: str) -> str:
    # The classic {#custom-id} the parser reads; an id that syntax cannot hold leaves the comment to be dropped.
    match = _MDX_HEADING_COMMENT.match(line)
    heading_id = _comment_heading_id(match.group("comment")) if match else ""
    if not heading_id or not holds_heading_id(heading_id):
        return line
    return f"{match.group('heading')} {{#{heading_id}}}"


def _tab_items_as_labels(line: str, *, labels: dict[str, str]) -> str:
    def label(match: re.Match) -> str:
        attributes = match.group(1)
        value = jsx_attribute(attributes, "value")
        return f"{jsx_attribute(attributes, 'label') or labels.get(value) or value}: "

    if "<TabItem" not in line and "</Tab" not in line:
        return line
    replaced = _TAB_CLOSE.sub("", _TAB_ITEM.sub(label, line))
    return replaced.strip() if replaced.strip() != ":" else ""


def _admonition_components_as_labels(line: str) -> str:
    if "Admonition" not in line:
        return line

    def label(match: re.Match) -> str:
        title = jsx_attribute(match.group(2), "title") or jsx_attribute(match.group(2), "type").capitalize()
        return f"{match.group(1)}{title or 'Note'}: "

    return _ADMONITION_END.sub("", _ADMONITION_TAG.sub(label, line)).rstrip()


def admonitions_to_markdown(text: str) -> str:
    """Docusaurus admonitions (:::note Title … :::) as their label followed by their text."""
    lines = text.split("\n")
    out: list[str] = []
    for index, in_fence in _outside_fences(lines):
        line = lines[index]
        if not in_fence:
            if _ADMONITION_CLOSE.match(line):
                out.append("")
                continue
            match = _ADMONITION_OPEN.match(line)
            if match:
                label = (match.group(2) or match.group(3) or match.group(1).capitalize()).strip()
                out.append(f"{label}:")
                continue
        out.append(line)
    return "\n".join(out)


def mkdocs_blocks_to_markdown(text: str) -> str:
    """MkDocs admonitions, collapsible blocks and content tabs as their label followed by their content, read
    as the site shows it (indented four spaces in the source, which CommonMark would take for code). A block
    titled "" has no label. Nested blocks, and blocks inside a list item, are read the same way; the line count
    stays the same."""
    lines = text.split("\n")
    in_fence = dict(_outside_fences(lines))
    inside_item = dict(_in_list_item(lines))
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = None if in_fence[index] else _MKDOCS_BLOCK.match(lines[index])
        indent = len(match.group("indent")) if match else 0
        if match is None or (indent > 3 and not inside_item[index]):
            out.append(lines[index])
            index += 1
            continue
        marker = match.group("marker") or ""
        # A block on an item's line: the item's content starts four columns in, the block's four past that.
        content = indent + (8 if marker else 4)
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or _columns(lines[end]) >= content):
            end += 1
        while end > index + 1 and not lines[end - 1].strip():
            end -= 1  # blank lines after the block are not in it
        label = match.group("tab")
        if label is None:
            label = match.group("title") if match.group("title") is not None else match.group("kind").capitalize()
        out.append(
            f"{match.group('indent')}{marker}{label}:" if label.strip() else match.group("indent") + marker.rstrip()
        )
        body = mkdocs_blocks_to_markdown("\n".join(_dedented(line, content) for line in lines[index + 1 : end]))
        # In a list item the content stays indented as far as the block, so it stays in the item.
        margin = " " * (indent + 4) if marker else match.group("indent") if indent > 3 else ""
        if end > index + 1:
            out.extend(margin + line if line else line for line in body.split("\n"))
        index = end
    return "\n".join(out)


def _in_list_item(lines: list[str]) -> Iterator[tuple[int, bool]]:
    """(line index, whether a block indented a multiple of four there is in a list item's content), as
    Python-Markdown reads one: after a blank line, and no deeper than one level under the last item; a line of
    text back at the margin after a blank line ends the list."""
    in_list, blank_before, item_indent = False, False, 0
    for index, line in enumerate(lines):
        columns = _columns(line)
        item = _LIST_ITEM.match(line)
        if item:
            in_list, item_indent = True, len(item.group("indent"))
        elif line.strip() and columns < 4 and blank_before:
            in_list = False
        yield index, in_list and blank_before and columns % 4 == 0 and columns <= item_indent + 4
        blank_before = not line.strip()


def pymdownx_blocks_to_markdown(text: str) -> str:
    """pymdownx.blocks (admonitions, details, tabs, captions, html wrappers) as their title followed by their
    content, as the site shows them: the fences and options are not shown, a block without a title (an html
    wrapper, a caption, `/// admonition |`) adds none. The line count stays the same."""
    lines = text.split("\n")
    in_fence = dict(_outside_fences(lines))
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if in_fence[index]:
            out.append(line)
            index += 1
            continue
        if _PYMDOWNX_BLOCK_CLOSE.match(line):
            out.append("")
            index += 1
            continue
        match = _PYMDOWNX_BLOCK_OPEN.match(line)
        if match is None:
            out.append(line)
            index += 1
            continue
        indent = match.group("indent")
        options_end = index + 1
        while (
            options_end < len(lines)
            and lines[options_end].strip()
            and not in_fence[options_end]
            and _columns(lines[options_end]) >= _columns(indent) + 4
        ):
            options_end += 1
        options = lines[index + 1 : options_end]
        # The title goes on the line before the content, so that a title and its first paragraph read as one,
        # as an admonition's do; before indented code it keeps a blank line (code cannot follow a paragraph).
        content = options_end
        while content < len(lines) and not lines[content].strip():
            content += 1
        title_at = content - 1
        if content < len(lines) and _columns(lines[content]) >= _columns(indent) + 4:
            title_at = index
        title = _pymdownx_block_title(match, options)
        out.extend([""] * (title_at - index))
        out.append(f"{indent}{title}:" if title else "")
        out.extend([""] * (content - 1 - title_at))
        index = content
    return "\n".join(out)


def _pymdownx_block_title(match: re.Match[str], options: list[str]) -> str:
    """The title a block shows: its argument (a tab's label, a details' summary, an admonition's title), else its
    type's name, capitalised (`/// note`, or `/// admonition` with `type: tip`)."""
    name, argument = match.group("name").lower(), match.group("argument")
    if name in _UNTITLED_BLOCKS:
        return ""
    if argument is not None:
        return argument.strip()
    kind = next((found.group(1) for line in options if (found := _PYMDOWNX_BLOCK_TYPE.match(line))), "")
    if name not in ("admonition", "details", "tab"):
        kind = kind or name
    return kind.capitalize()


def _columns(line: str) -> int:
    """How far a line is indented, a tab counting to the next multiple of four."""
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _dedented(line: str, columns: int) -> str:
    expanded = line.expandtabs(4)
    return expanded[min(columns, _columns(expanded)) :]


def extension_syntax_to_markdown(text: str) -> str:
    """Lines of Markdown extensions the page does not show as written: snippet includes, abbreviation
    definitions and the opening tag of an HTML element with Markdown inside are dropped (an escaped snippet line
    shows, without its escape), a footnote's definition keeps its text without its marker. Line count kept."""
    lines = text.split("\n")
    out: list[str] = []
    in_snippet_block = False
    for index, in_fence in _outside_fences(lines):
        line = lines[index]
        snippet = _SNIPPET.match(line)
        if snippet and snippet.group("escape"):
            # Snippets are read before anything else (fences too): an escaped line shows, one `;` fewer.
            out.append(line.replace(";", "", 1))
        elif in_fence:
            out.append(line)
        elif snippet:
            # A bare --8<-- line opens or closes a block of file names, one per line.
            in_snippet_block ^= not line.strip().strip("-8<")
            out.append("")
        elif in_snippet_block or _ABBREVIATION.match(line) or _MARKDOWN_IN_HTML.match(line):
            out.append("")
        else:
            out.append(_FOOTNOTE_DEFINITION.sub(r"\1", line))
    return "\n".join(out)


def _key_name(key: str) -> str:
    return key.upper() if len(key) == 1 else " ".join(word.capitalize() for word in key.split("-"))


def pymdownx_inline_text(text: str) -> str:
    """Text written with pymdownx's keys, mark, caret and tilde syntax, as the page shows it."""
    text = _KEYS.sub(lambda m: "+".join(_key_name(key) for key in m.group(1).split("+")), text)
    return _SCRIPT.sub(r"\2", _WRAPPED.sub(r"\2", text))


def _mkdocs_inline_syntax(tokens: list[Token]) -> None:
    """Rewrite every inline token as an MkDocs (Material) page shows it: its text as pymdownx_inline_text() reads
    it, without the attribute lists that style its elements (attr_list), and its code without inlinehilite's
    language prefix."""
    for token in tokens:
        previous = ""
        for child in token.children or []:
            if child.type == "text":
                text = _LEADING_INLINE_ATTR.sub("", child.content) if previous in _ELEMENT_ENDS else child.content
                child.content = pymdownx_inline_text(text)
            elif child.type == "code_inline":
                child.content = _INLINE_CODE_LANGUAGE.sub("", child.content, count=1)
            previous = child.type


def inline_text(token: Token) -> str:
    """The reader's text of an inline token: no emphasis or link syntax, image alt text, code verbatim."""
    return " ".join(_inline_parts(token).split())


def _inline_parts(token: Token, *, line_break: str = " ", br: str = " ", image_alt: bool = True) -> str:
    """An inline token's text as written (spaces kept): ``line_break`` for a line break, ``br`` for a <br>."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "text":
            parts.append(_INVISIBLE.sub("", child.content))
        elif child.type == "code_inline":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(line_break)
        elif child.type == "image" and image_alt:
            parts.append(child.content or "".join(c.content for c in child.children or []))
        elif child.type == "html_inline" and child.content.startswith("<br"):
            parts.append(br)
    return html.unescape("".join(parts))


def _slug_text(inline: Token, *, style: str) -> str:
    """The heading's text as its site's generator slugs it. Docusaurus slugs the text as written: each space, tab
    and no-break space counts. MkDocs strips the heading's tags (an image's alt text goes with them) and collapses
    its spaces. A <br> adds nothing to either."""
    text = _without_attribute_list(_inline_parts(inline, line_break="\n", br="", image_alt=style != "mkdocs"))
    return text if style == "docusaurus" else " ".join(text.split())


def holds_heading_id(heading_id: str) -> bool:
    """Whether a heading's attribute list, {#id}, can hold this id."""
    return _attribute_list(f"{{#{heading_id}}}") is not None


_CLOSING_HASHES = re.compile(r"\s+#+$")


def _attribute_list(text: str) -> re.Match | None:
    """The attribute list that ends a heading's or paragraph's text: written {: ...}, or naming an #id or a
    .class (a bare {key=value} at the end of a sentence is more likely the sentence's own)."""
    match = _ATTR_LIST.search(text)
    if match and (match.group(1) or any(a[:1] in "#." for a in match.group(2).split())):
        return match
    return None


def _without_attribute_list(text: str) -> str:
    match = _attribute_list(text)
    return _before(match, text) if match else text


def _before(attributes: re.Match, text: str) -> str:
    """A heading's text before its attribute list, without a closing run of #s left in front of the list: with
    "### Global lock-envs ### {: #lock-envs }" (Hatch's docs), Python-Markdown's attr_list drops the #s too."""
    return _CLOSING_HASHES.sub("", text[: attributes.start()].rstrip())


def heading_name_and_anchor(inline: Token, *, slug: Callable[[str], str], style: str = "plain") -> tuple[str, str]:
    """A heading's text and its anchor: an explicit {#custom-id} (or { #id .class }), else the slug the ``style``'s
    generator makes of the text."""
    raw = inline_text(inline)
    attributes = _attribute_list(raw)
    if attributes:
        raw = _before(attributes, raw).strip()
        ids = [attribute[1:] for attribute in attributes.group(2).split() if attribute.startswith("#")]
        if ids:
            return raw, ids[0]
    return raw, slug(_slug_text(inline, style=style))


def set_heading_ids(tokens: list[Token], *, style: str) -> None:
    """Give every heading the id ingestion links to (for pages this project renders itself)."""
    slug = heading_slugger(style)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[index + 1]
            name, anchor = heading_name_and_anchor(inline, slug=slug, style=style)
            token.attrSet("id", anchor)
            if inline.children and inline.children[-1].type == "text":
                inline.children[-1].content = _without_attribute_list(inline.children[-1].content)


def html_text(content: str) -> str:
    """The text HTML shows: tags, comments and hidden elements left out, entities read."""
    return html.unescape(" ".join(_TAG.sub(" ", _HIDDEN_HTML.sub("", _HTML_COMMENT.sub("", content))).split()))


def _front_matter_format(front_matter: dict[str, Any], *, mdx: bool) -> bool:
    """A Docusaurus page's own choice of format (``format: md``, or ``mdx: {format: md}`` as Docusaurus 3.0
    wrote it), which wins over the site's; ``mdx`` when it makes none."""
    nested = front_matter.get("mdx")
    chosen = front_matter.get("format") or (nested.get("format") if isinstance(nested, dict) else None)
    return chosen == "mdx" if chosen in ("md", "mdx") else mdx


def parse_markdown(
    text: str, *, style: str = "plain", mdx: bool = False, heading_ids: HeadingIds | None = None
) -> ParsedMarkdown:
    """Parse a Markdown (or MDX) document into front matter, a title and reader-text blocks.

    ``style`` names the site generator whose heading anchors to reproduce (plain, docusaurus, mkdocs), and
    ``heading_ids`` the site's own settings for them, when it changes the generator's defaults.
    """
    front_matter, body, error = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    if style == "docusaurus":
        mdx = _front_matter_format(front_matter, mdx=mdx)
    if mdx:
        # Docusaurus gives every MDX file its front matter as `frontMatter` ({frontMatter.title}).
        body = mdx_to_markdown(body, scope={"frontMatter": front_matter} if style == "docusaurus" else None)
    body = extension_syntax_to_markdown(
        mkdocs_blocks_to_markdown(pymdownx_blocks_to_markdown(admonitions_to_markdown(body)))
    )
    tokens = parser(mdx=mdx, definitions=style == "mkdocs").parse(body)
    if style == "mkdocs":
        _mkdocs_inline_syntax(tokens)
    walker = _BlockWalker(tokens=tokens, style=style, heading_ids=heading_ids)
    blocks = walker.blocks()
    title = str(front_matter.get("title") or walker.h1 or front_matter.get("sidebar_label") or "").strip()
    return ParsedMarkdown(
        front_matter=front_matter, title=title, blocks=blocks, headings=walker.headings, front_matter_error=error
    )


class _BlockWalker:
    """Walks markdown-it's token stream once, keeping the heading path and anchors."""

    def __init__(self, *, tokens: list[Token], style: str, heading_ids: HeadingIds | None = None) -> None:
        self.tokens = tokens
        self.style = style
        self.slug = heading_slugger(style, ids=heading_ids)
        self.magic_comments = style == "docusaurus"
        self.stack: list[tuple[int, str, str]] = []
        # Every heading with its anchor, in page order: those inside a blockquote or list item too, which the
        # generators give ids (and count in their repeats' -1, _1) but which make no section.
        self.headings: list[tuple[int, str, str]] = []
        self.h1 = ""  # the first top-level H1's text
        self.first_heading = True

    @property
    def section(self) -> str:
        return SECTION_SEPARATOR.join(name for _, name, _ in self.stack)

    @property
    def anchor(self) -> str:
        return self.stack[-1][2] if self.stack else ""

    def blocks(self) -> list[Block]:
        out: list[Block] = []
        sections: list[_Section] = []
        i = 0
        tokens = self.tokens
        while i < len(tokens):
            token = tokens[i]
            if token.type == "heading_open":
                level = int(token.tag[1:])
                self._heading(level=level, inline=tokens[i + 1])
                line = (token.map or [0, 0])[0]
                sections.append(_Section(level, self.stack[-1][1], self.section, self.anchor, len(out), line))
                i += 3
                continue
            end = _closing(tokens, i)
            outside, rows = html_tables(token.content) if token.type == "html_block" else ("", [])
            if rows:
                # A table's text outside its cells (a caption, a note beside it) comes before its rows.
                if outside:
                    out.append(self._made("paragraph", outside, (), token))
                out.append(self._made("table", "\n".join(rows), tuple(rows), token))
            else:
                block = self._block(tokens[i : end + 1])
                if block is not None:
                    out.append(block)
            i = end + 1
        return _with_outlines(out, sections)

    def _heading(self, *, level: int, inline: Token) -> None:
        name, anchor = heading_name_and_anchor(inline, slug=self.slug, style=self.style)
        if level == 1 and not self.h1:
            self.h1 = name
        # The page's own title heading links to the page itself, not to an anchor.
        if self.first_heading and level == 1:
            anchor = ""
        self.first_heading = False
        self.headings.append((level, name, anchor))
        self.stack = [entry for entry in self.stack if entry[0] < level] + [(level, name, anchor)]

    def _nested_headings(self, group: list[Token]) -> None:
        """Anchor the headings inside a blockquote or list item, so that later headings count them."""
        for index, token in enumerate(group[1:], start=1):
            if token.type == "heading_open":
                name, anchor = heading_name_and_anchor(group[index + 1], slug=self.slug, style=self.style)
                self.headings.append((int(token.tag[1:]), name, anchor))

    def _block(self, group: list[Token]) -> Block | None:
        first = group[0]
        self._nested_headings(group)
        kind, text, lines = "paragraph", "", ()
        if first.type in ("fence", "code_block"):
            code = first.content
            if self.magic_comments:
                code = "".join(line for line in code.splitlines(keepends=True) if not _MAGIC_COMMENT.match(line))
            info = first.info.strip() if first.type == "fence" else ""
            kind, text = "code", fenced(code.rstrip(), info=code_info(info)) if code.strip() else ""
        elif first.type == "html_block":
            text = html_text(first.content)
        elif first.type in ("bullet_list_open", "ordered_list_open"):
            kind, lines = "list", tuple(_list_items(group, depth=0))
            text = "\n".join(lines)
        elif first.type == "table_open":
            kind, lines = "table", tuple(_table_rows(group))
            text = "\n".join(lines)
        elif first.type == "dl_open":
            kind, lines = "list", tuple(_definitions(group))
            text = "\n".join(lines)
        else:
            # Paragraphs and blockquotes: every inline run, as prose.
            text = _without_attribute_list(" ".join(_inline_runs(group))).strip()
        if not text.strip():
            return None
        return self._made(kind, text, lines, first)

    def _made(self, kind: str, text: str, lines: tuple[str, ...], first: Token) -> Block:
        """A block of the current section, at the lines of the token that opens it."""
        lines_map = first.map or [0, 0]
        return Block(
            kind=kind,
            text=text,
            section=self.section,
            anchor=self.anchor,
            start_line=lines_map[0],
            end_line=lines_map[1],
            lines=lines,
        )


@dataclass(frozen=True)
class _Section:
    """A heading that starts a section, and where its blocks start among the page's."""

    level: int
    name: str
    path: str
    anchor: str
    first_block: int
    line: int

    def contains(self, other: "_Section") -> bool:
        """Whether a later section is inside this one (until the next heading as high as this one)."""
        return other.level > self.level


def _with_outlines(blocks: list[Block], sections: list[_Section]) -> list[Block]:
    """The blocks, each section made of subsections with its outline: the subsections' headings as a list.

    A textbook's "Key characteristics" or "Challenges" is often a heading with nothing under it but one
    subsection per item (or a lead-in ending in a colon before them): the page shows the items as headings,
    and a passage of the section itself would have no text, or only "…faces several challenges:". The outline
    stands where the subsections start, so "What are the key characteristics?" finds the items together. A
    section with text of its own leaves its subsections to speak for themselves, and the page title (level 1)
    gets none: what is under it is the whole page.
    """
    outlines: list[tuple[int, list[Block]]] = []
    for index, section in enumerate(sections):
        if section.level < 2:
            continue
        nested = list(itertools.takewhile(section.contains, sections[index + 1 :]))
        if not nested:
            continue
        own = blocks[section.first_block : nested[0].first_block]
        if own and not own[-1].text.rstrip().endswith(":"):
            continue
        top = min(s.level for s in nested)
        children = [s for s in nested if s.level == top]
        lines = tuple(f"{BULLET} {child.name}" for child in children)
        place = {"kind": "outline", "section": section.path, "anchor": section.anchor}
        items = Block(
            text="\n".join(lines), lines=lines, start_line=children[0].line, end_line=children[-1].line + 1, **place
        )
        # Without a lead-in of its own, the section's heading introduces the list, as a lead-in would.
        heading = Block(text=outline_lead(section.name), start_line=section.line, end_line=section.line + 1, **place)
        outlines.append((nested[0].first_block, [items] if own else [heading, items]))
    out = list(blocks)
    for position, added in reversed(outlines):
        out[position:position] = added
    return out


def outline_lead(heading: str) -> str:
    """A heading as the line that introduces its section's outline ("Key characteristics:")."""
    return heading.rstrip(" :.?!") + ":"


def _heading_lead(text: str) -> str:
    """A heading inside a blockquote or list item, read as the lead of the text after it ("Aside: …"), as an
    admonition's title is."""
    text = _without_attribute_list(text).strip()
    return text if not text or text[-1] in ".:!?" else f"{text}:"


def _run_text(tokens: list[Token], index: int) -> str:
    """The text of the inline run at ``index``, a heading's as a lead, and so is a run all in bold that more text
    follows (a card's title in a grid of cards)."""
    text = inline_text(tokens[index])
    heading = index and tokens[index - 1].type == "heading_open"
    title = _all_strong(tokens[index]) and any(token.type == "inline" for token in tokens[index + 1 :])
    return _heading_lead(text) if heading or title else text


def _all_strong(inline: Token) -> bool:
    """Whether an inline run's text is all one strong emphasis."""
    children = [
        child for child in inline.children or [] if child.type != "text" or _INVISIBLE.sub("", child.content).strip()
    ]
    if len(children) < 3 or children[0].type != "strong_open" or children[-1].type != "strong_close":
        return False
    depth = 0
    for child in children[:-1]:
        depth += {"strong_open": 1, "strong_close": -1}.get(child.type, 0)
        if depth == 0:
            return False
    return True


def _inline_runs(group: list[Token]) -> Iterator[str]:
    """The text of every inline run of a block."""
    return (_run_text(group, index) for index, token in enumerate(group) if token.type == "inline")


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the token that closes the block opened at ``start`` (itself for single tokens)."""
    if tokens[start].nesting != 1:
        return start
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _list_items(group: list[Token], *, depth: int) -> Iterator[str]:
    """A list's items as lines: '• item' or '3. item', nested lists indented."""
    ordered = group[0].type == "ordered_list_open"
    number = int(group[0].attrGet("start") or 1) if ordered else 0
    i = 1
    while i < len(group) - 1:
        if group[i].type != "list_item_open":
            i += 1
            continue
        end = _closing(group, i)
        item = group[i + 1 : end]
        texts: list[str] = []
        nested: list[str] = []
        j = 0
        while j < len(item):
            token = item[j]
            if token.type in ("bullet_list_open", "ordered_list_open"):
                close = _closing(item, j)
                nested.extend(_list_items(item[j : close + 1], depth=depth + 1))
                j = close + 1
                continue
            if token.type == "inline":
                texts.append(_run_text(item, j))
            elif token.type in ("fence", "code_block"):
                texts.append(" ".join(token.content.split()))
            j += 1
        marker = f"{number}." if ordered else BULLET
        text = " ".join(t for t in texts if t)
        if text:
            yield f"{'  ' * depth}{marker} {text}"
        yield from nested
        number += 1
        i = end + 1


def _definitions(group: list[Token]) -> Iterator[str]:
    """A definition list's terms as list items, each with its definitions: '• Term: definition; another'."""
    term, definitions, part = "", [], "dt"
    for token in group:
        if token.type in ("dt_open", "dd_open"):
            if token.type == "dt_open" and term:
                yield _defined(term, definitions)
                term, definitions = "", []
            part = token.type[:2]
            if part == "dd":
                definitions.append("")
        elif token.type == "inline":
            text = inline_text(token)
            if part == "dt":
                term = f"{term} {text}".strip()
            else:
                definitions[-1] = f"{definitions[-1]} {text}".strip()
    if term:
        yield _defined(term, definitions)


def _defined(term: str, definitions: list[str]) -> str:
    """A term and its definitions as a list item; a definition that ends its sentence needs no semicolon."""
    text = ""
    for definition in filter(None, definitions):
        text += (" " if not text or text[-1] in ".!?;:" else "; ") + definition
    return f"{BULLET} {term}:{text}" if text else f"{BULLET} {term}"


def _table_rows(group: list[Token]) -> Iterator[str]:
    """Each body row as 'Header: value; Header: value' (the header travels with every row)."""
    header: list[str] = []
    row: list[str] = []
    in_head = False
    for token in group:
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline":
            row.append(inline_text(token))
        elif token.type == "tr_close":
            if in_head:
                header = row
                continue
            cells = [
                f"{name}: {value}" if name else value
                for name, value in zip(header + [""] * (len(row) - len(header)), row, strict=False)
                if value
            ]
            if cells:
                yield "; ".join(cells)
