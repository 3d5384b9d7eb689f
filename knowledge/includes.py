"""What a page includes from other files, inlined as its site renders it: MkDocs snippets (pymdownx.snippets,
``--8<-- "file.md"``), mkdocs-include-markdown-plugin's directives (``{% include-markdown "intro.md" %}``),
Docusaurus partials (``import Setup from './_setup.mdx'`` used as ``<Setup />``) and the code a Docusaurus page
imports with raw-loader to show in a ``<CodeBlock>`` (``import Source from '!!raw-loader!./app.py'``, then
``<CodeBlock language="py">{Source}</CodeBlock>``).

Included files are read when the book is loaded, only from inside the site's folder and never from a URL, so
the stored document holds the page's whole text: a change to an included file changes the page's document,
which is then indexed again. A file that cannot be found is left out, as the site builds leave it out.
"""

import bisect
import functools
import glob
import html
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .autodoc import MkDocstrings, render_autodoc, with_autorefs
from .book_files import MAX_CHARS, MAX_DEPTH, URL, inside, read_text
from .macros import MkDocsMacros, render_macros
from .markdown import (
    CODE_BLOCK_CLOSE,
    CODE_BLOCK_OPEN,
    SNIPPET_MARKER,
    code_block_fence,
    fence_roles,
    front_matter_length,
    split_front_matter,
)

# pymdownx.snippets: `--8<-- "file.md"` on a line of its own (`;--8<--` shows the line as written), or a block of
# file names between two `--8<--` lines. A name may end in `:start:end` (1-based line numbers) or `:section`.
_SNIPPET_LINE = re.compile(
    rf"""^(?P<indent>[ \t]*)(?P<escape>;*){SNIPPET_MARKER}[ \t]+(?P<quote>["'])(?P<name>.+?)(?P=quote)$"""
)
_SNIPPET_BLOCK = re.compile(rf"^[ \t]*(?P<escape>;*){SNIPPET_MARKER}$")
_NAME = r"[a-z][-_0-9a-z]*"
_SNIPPET_PART = re.compile(rf"^(?P<file>.*?)(?::(?P<start>\d*)(?::(?P<end>\d*))?|:(?P<section>{_NAME}))?$", re.I)
_SECTION_MARK = re.compile(
    rf"{SNIPPET_MARKER}[ \t]+\[[ \t]*(?P<kind>start|end)[ \t]*:[ \t]*(?P<name>{_NAME})[ \t]*\]", re.I
)
# Docusaurus: a default import of a Markdown file, and a component used alone on its line.
_MDX_IMPORT = re.compile(
    r"""^import\s+(?P<name>[A-Z]\w*)\s+from\s+(?P<quote>["'])(?P<path>[^"']+\.mdx?)(?P=quote);?\s*$"""
)
# A file's text imported with webpack's raw-loader (which Docusaurus ships), shown by a <CodeBlock>.
_RAW_IMPORT = re.compile(
    r"""^import\s+(?P<name>[A-Za-z_$][\w$]*)\s+from\s+(?P<quote>["'])!!raw-loader!(?P<path>[^"']+)(?P=quote);?\s*$"""
)


@dataclass(frozen=True)
class IncludeMarkdown:
    """mkdocs-include-markdown-plugin as a site's mkdocs.yml sets it up (the plugin's defaults otherwise)."""

    docs_dir: str = "docs"  # where names that are not ./ or ../ paths are looked up, in the site's folder
    opening_tag: str = "{%"
    closing_tag: str = "%}"
    include: str = "include"  # the two directives' names
    include_markdown: str = "include-markdown"
    encoding: str = "utf-8"
    preserve_includer_indent: bool = True
    dedent: bool = False
    trailing_newlines: bool = True
    comments: bool = False
    heading_offset: int = 0
    start: str | None = None
    end: str | None = None
    recursive: bool = True
    order: str = "alpha-path"
    exclude: tuple[str, ...] = ()  # pages (globs in docs_dir) whose directives are left as they are


def inline_includes(
    text: str,
    *,
    path: Path,
    style: str,
    root: Path,
    base_paths: Sequence[Path] = (),
    auto_append: Sequence[str] = (),
    boundary: Path | None = None,
    include_markdown: IncludeMarkdown | None = None,
    macros: MkDocsMacros | None = None,
    autodoc: MkDocstrings | None = None,
) -> str:
    """The page's text with what it includes inlined (``root``: the site's folder; ``boundary``: the folder
    included files must be in, ``root`` unless given; ``base_paths``: where MkDocs snippet names are looked up,
    the site's folder when empty; ``auto_append``: the snippets appended to every page (pymdownx.snippets'
    setting of that name); ``include_markdown`` and ``macros``: the site's plugins, when it has them;
    ``autodoc``: its mkdocstrings settings, whose directives show the book's API documentation)."""
    if style == "mkdocs":
        # In the site's order: the include-markdown plugin first, then macros, then Markdown (snippets, then
        # mkdocstrings' API documentation).
        if include_markdown is not None and include_markdown.opening_tag in text:
            plugin = _IncludeMarkdownPlugin(settings=include_markdown, root=root, boundary=boundary or root)
            head = front_matter_length(text)  # MkDocs takes a page's front matter off before any plugin sees it
            text = text[:head] + plugin.expand(text[head:], path=path.resolve(), seen=(path.resolve(),))
        if macros is not None:
            text = render_macros(text, macros=macros, path=path)
        if auto_append:
            # As pymdownx.snippets appends them: one block of snippets after the page (shared link references).
            text += "\n\n-8<-\n{}\n-8<-\n".format("\n\n".join(auto_append))
        if "8<-" in text:
            text = _Snippets(root=root, base_paths=list(base_paths) or [root]).expand(text, seen=(path.resolve(),))
        if autodoc is None:
            return text
        return with_autorefs(render_autodoc(text, settings=autodoc) if ":::" in text else text)
    if style == "docusaurus" and "import" in text:
        partials = _Partials(root=root, boundary=boundary or root)
        return partials.expand(text, path=path.resolve(), seen=(path.resolve(),))
    return text


class _Snippets:
    def __init__(self, *, root: Path, base_paths: list[Path]) -> None:
        self.root = root
        self.base_paths = base_paths
        self.chars = 0

    def expand(self, text: str, *, seen: tuple[Path, ...]) -> str:
        out: list[str] = []
        in_block = False
        for line in text.split("\n"):
            block = _SNIPPET_BLOCK.match(line)
            single = _SNIPPET_LINE.match(line)
            if (block or single) and (block or single).group("escape"):
                out.append(line)  # shown as written, one `;` fewer: knowledge.markdown reads it so
            elif block:
                in_block = not in_block
            elif single:
                out.extend(self._included(single.group("name"), indent=single.group("indent"), seen=seen))
            elif in_block:
                name = line.strip()
                if not name:
                    out.append("")
                elif not name.startswith(";"):
                    out.extend(self._included(name, indent=re.match(r"[ \t]*", line).group(0), seen=seen))
            else:
                out.append(line)
        return "\n".join(out)

    def _included(self, name: str, *, indent: str, seen: tuple[Path, ...]) -> list[str]:
        part = _SNIPPET_PART.match(name.strip())
        file_name = part.group("file").strip()
        if not file_name or file_name.lower().startswith(("http://", "https://")) or len(seen) > MAX_DEPTH:
            return []  # never downloaded: the book is read offline
        found = next(
            (hit for base in self.base_paths if (hit := inside(base / file_name, self.root)) is not None), None
        )
        if found is None or found in seen or self.chars > MAX_CHARS:
            return []
        lines = read_text(found).removesuffix("\n").split("\n")  # a file's last newline ends its last line
        if part.group("section"):
            lines = _section(lines, part.group("section"))
        elif part.group("start") or part.group("end"):
            start = max(int(part.group("start") or 1) - 1, 0)
            lines = lines[start : int(part.group("end")) if part.group("end") else None]
        expanded = self.expand("\n".join(lines), seen=(*seen, found)).split("\n")
        self.chars += sum(len(line) + 1 for line in expanded)
        return [indent + line if line else line for line in expanded]


def _section(lines: list[str], name: str) -> list[str]:
    """The lines between a file's `--8<-- [start:name]` and `--8<-- [end:name]` markers (other markers left out)."""
    kept: list[str] = []
    inside = False
    for line in lines:
        mark = _SECTION_MARK.search(line)
        if mark and mark.group("name").lower() == name.lower():
            if mark.group("kind").lower() == "end" and inside:
                break
            inside = inside or mark.group("kind").lower() == "start"
        elif inside and not mark:
            kept.append(line)
    return kept


class _Partials:
    def __init__(self, *, root: Path, boundary: Path) -> None:
        self.root = root  # what @site/ names
        self.boundary = boundary
        self.chars = 0

    def expand(self, text: str, *, path: Path, seen: tuple[Path, ...]) -> str:
        lines = text.split("\n")
        roles = dict(fence_roles(lines))
        partials, sources = {}, {}
        for index, line in enumerate(lines):
            if roles[index] != "text":
                continue
            if match := _RAW_IMPORT.match(line):  # first: `!!raw-loader!./notes.md` is text, not a partial
                sources[match.group("name")] = match.group("path")
            elif match := _MDX_IMPORT.match(line):
                partials[match.group("name")] = match.group("path")
        if not partials and not sources:
            return text
        usage = re.compile(rf"^[ \t]*<({'|'.join(map(re.escape, partials)) or '(?!)'})(?:\s[^<>]*)?/>[ \t]*$")
        names = "|".join(map(re.escape, sources)) or "(?!)"
        code_of = re.compile(
            rf"^(?P<indent>[ \t]*)<CodeBlock\b(?P<attributes>[^>]*)>\s*\{{\s*(?P<name>{names})\s*\}}\s*</CodeBlock>\s*$"
        )
        variable = re.compile(rf"^\s*\{{\s*(?P<name>{names})\s*\}}\s*$")
        out: list[str] = []
        index = 0
        while index < len(lines):
            line = lines[index]
            if roles[index] != "text":
                out.append(line)
            elif used := usage.match(line):
                out.append(self._included(partials[used.group(1)], path=path, seen=seen))
            elif shown := code_of.match(line):
                out.append(
                    self._code(
                        sources[shown["name"]], attributes=shown["attributes"], indent=shown["indent"], path=path
                    )
                )
            elif (
                (opening := CODE_BLOCK_OPEN.match(line))
                and index + 2 < len(lines)
                and (held := variable.match(lines[index + 1]))
                and CODE_BLOCK_CLOSE.match(lines[index + 2])
            ):
                indent = line[: len(line) - len(line.lstrip())]
                out.append(
                    self._code(sources[held["name"]], attributes=opening["attributes"], indent=indent, path=path)
                )
                index += 2
            else:
                out.append(line)
            index += 1
        return "\n".join(out)

    def _found(self, target: str, *, path: Path) -> Path | None:
        """The file an import names: ``@site/…`` from the site's folder, ``./``/``../`` from the page's; never a
        package's file or one outside the book."""
        if target.startswith("@site/"):
            candidate = self.root / target.removeprefix("@site/")
        elif target.startswith("."):
            candidate = path.parent / target
        else:
            return None
        return inside(candidate, self.boundary)

    def _included(self, target: str, *, path: Path, seen: tuple[Path, ...]) -> str:
        found = self._found(target, path=path)
        if found is None or found in seen or len(seen) > MAX_DEPTH or self.chars > MAX_CHARS:
            return ""
        _, body, _ = split_front_matter(read_text(found))
        expanded = self.expand(body.strip("\n"), path=found, seen=(*seen, found))
        self.chars += len(expanded)
        # Its own blocks: a blank line either side, so the text around it never joins them.
        return f"\n{expanded}\n"

    def _code(self, target: str, *, attributes: str, indent: str, path: Path) -> str:
        """The fenced block a <CodeBlock> shows a raw-loader import's file as; '' when the file is not the book's."""
        found = self._found(target, path=path)
        if found is None or self.chars > MAX_CHARS:
            return ""
        code = read_text(found).strip("\n")
        self.chars += len(code)
        if not code.strip():
            return ""
        fence = code_block_fence(code, attributes=attributes)
        return "\n" + "\n".join(f"{indent}{line}" if line else line for line in fence) + "\n"


# mkdocs-include-markdown-plugin. A directive: `{% include-markdown "file.md" start="<!--a-->" heading-offset=1 %}`
# (over several lines if need be), its tags and names configurable. What stands before it on its line, back to a
# character other than a space, tab, word character, dot or backslash, is the "includer indent" the plugin
# carries into the included text.
_INDENT_CHAR = re.compile(r"[ \t\w\\.]")
_ARGUMENT = re.compile(r"""([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']*))""")
_FLAGS = {"true": True, "false": False}
_MARKDOWN_ONLY = frozenset({"heading-offset", "comments", "rewrite-relative-urls"})  # `include` ignores these
_FENCE = ("```", "~~~")


@functools.lru_cache(maxsize=16)
def _directive(*, opening: str, names: tuple[str, ...]) -> re.Pattern[str]:
    """A directive's start, up to its file name: its arguments run from there to the next closing tag."""
    return re.compile(
        rf"""{re.escape(opening)}\s*(?P<name>{"|".join(map(re.escape, names))})\s+"""
        r"""(?:"(?P<double>(?:[^"]|(?<=\\)")+)")?(?:'(?P<single>(?:[^']|(?<=\\)')+)')?"""
    )


@dataclass(frozen=True)
class _Directive:
    name: str
    file: str
    arguments: str


class _IncludeMarkdownPlugin:
    def __init__(self, *, settings: IncludeMarkdown, root: Path, boundary: Path) -> None:
        self.settings = settings
        self.docs = root / settings.docs_dir
        self.boundary = boundary
        names = sorted({settings.include_markdown, settings.include}, key=len, reverse=True)
        self.pattern = _directive(opening=settings.opening_tag, names=tuple(names))
        self.chars = 0

    @functools.cached_property
    def excluded(self) -> frozenset[Path]:
        """The files the plugin is set to leave alone: their directives are not read, nor are they included."""
        return frozenset(
            found
            for pattern in self.settings.exclude
            for name in _matches(pattern, base=os.path.abspath(self.docs))
            if (found := inside(Path(name), self.boundary)) is not None
        )

    def expand(self, text: str, *, path: Path, seen: tuple[Path, ...]) -> str:
        if path in self.excluded:
            return text
        closing = self.settings.closing_tag
        # Where each closing tag is, found once: the plugin's pattern looks for the next one from every opening
        # tag, which costs a page of unclosed ones its length squared.
        closings = [match.start() for match in re.finditer(re.escape(closing), text)]
        out: list[str] = []
        position = 0
        for match in self.pattern.finditer(text):
            following = bisect.bisect_left(closings, match.end())
            if match.start() < position or following == len(closings):
                continue
            start = match.start()
            while start > position and _INDENT_CHAR.match(text[start - 1]):
                start -= 1
            directive = _Directive(
                name=match.group("name"),
                file=_unquoted(match.group("double"), '"') or _unquoted(match.group("single"), "'"),
                arguments=text[match.end() : closings[following]],
            )
            indent = text[start : match.start()]
            # Text before the directive on its line is the indent the included text starts with: when nothing is
            # included it stays, as the plugin leaves it before an empty file.
            out.append(text[position:start])
            out.append(self._included(directive, indent=indent, path=path, seen=seen) or indent)
            position = closings[following] + len(closing)
        out.append(text[position:])
        return "".join(out)

    def _included(self, directive: _Directive, *, indent: str, path: Path, seen: tuple[Path, ...]) -> str:
        settings = self.settings
        markdown = directive.name == settings.include_markdown
        options = _options(directive.arguments, markdown=markdown)
        name = directive.file
        start, end = options.get("start") or settings.start, options.get("end") or settings.end
        recursive = _flag(options, "recursive", default=settings.recursive)
        trailing_newlines = _flag(options, "trailing-newlines", default=settings.trailing_newlines)
        dedent = _flag(options, "dedent", default=settings.dedent)
        preserve = _flag(options, "preserve-includer-indent", default=settings.preserve_includer_indent)
        parts = []
        for found in self._files(name, path=path, options=options):
            if found in seen or len(seen) > MAX_DEPTH or self.chars > MAX_CHARS:
                continue  # the plugin would include forever: the site never builds
            text = read_text(found, encoding=options.get("encoding") or settings.encoding)
            if start or end:
                text = _between(text, start=start, end=end)
            if recursive:
                text = self.expand(text, path=found, seen=(*seen, found))
            if not trailing_newlines:
                text = text.rstrip("\r\n")
            if self.chars + len(text) + len(indent) * (text.count("\n") + 1) > MAX_CHARS:
                continue  # the indent repeated on every line would grow the page past the limit
            if markdown:
                text = self._markdown(text, name=name, indent=indent, dedent=dedent, preserve=preserve, options=options)
            else:
                text = textwrap.dedent(text) if dedent else text
                text = "".join(indent + line for line in text.splitlines(True) or [""]) if preserve else indent + text
            self.chars += len(text)
            parts.append(text)
        return "".join(parts)

    def _markdown(
        self, text: str, *, name: str, indent: str, dedent: bool, preserve: bool, options: dict[str, str]
    ) -> str:
        """What `include-markdown` puts in the page: the included text, its first line after the includer's
        indent and (preserved) the rest under as many spaces, its headings moved down ``heading-offset`` levels."""
        settings = self.settings
        if _flag(options, "comments", default=settings.comments):
            separator = "\n" if _flag(options, "trailing-newlines", default=settings.trailing_newlines) else ""
            text = f"<!-- BEGIN INCLUDE {html.escape(name)} -->{separator}{text}{separator}<!-- END INCLUDE -->"
        text = indent + text
        if dedent:
            text = textwrap.dedent(text)
        if preserve and text:
            first, *rest = text.splitlines(True)
            text = first + "".join(" " * len(indent) + line for line in rest)
        try:
            offset = int(options.get("heading-offset", settings.heading_offset))
        except ValueError:
            offset = settings.heading_offset
        return _shift_headings(text, offset=offset) if offset else text

    def _files(self, name: str, *, path: Path, options: dict[str, str]) -> list[Path]:
        """The files a directive's name gives, inside the book, in the order the plugin includes them: ``./``
        and ``../`` names from the including file's folder, others from docs_dir. Never a URL, never an absolute
        path."""
        if not name or URL.match(name) or name.startswith(("/", os.sep)):
            return []
        folder = str(path.parent)
        names = _matches(name, base=folder if name.startswith(("./", "../")) else os.path.abspath(self.docs))
        # The plugin compares the names as it joined them with its ``exclude`` resolved from the including
        # file's folder, so only a ./ or ../ exclude ever matches, and only a name without ./ or ../ in it.
        pattern = options.get("exclude", "")
        excluded = (
            set(map(os.path.normpath, _matches(pattern, base=folder))) if pattern.startswith(("./", "../")) else set()
        )
        found = [
            hit
            for candidate in names
            if candidate not in excluded
            and os.path.dirname(candidate) not in excluded
            and (hit := inside(Path(candidate), self.boundary)) is not None
            and hit not in self.excluded
        ]
        return _ordered(found, order=options.get("order") or self.settings.order)


def _matches(pattern: str, *, base: str) -> list[str]:
    """The file ``pattern`` names in ``base``, else the paths it matches there as a glob, joined as written."""
    exact = os.path.join(base, pattern)
    if os.path.isfile(exact):
        return [exact]
    return [os.path.join(base, hit) for hit in glob.glob(pattern, root_dir=base, recursive=True)]


def _options(arguments: str, *, markdown: bool) -> dict[str, str]:
    """A directive's arguments by name (quoted values unquoted); `include` ignores what only Markdown takes."""
    options = {}
    for key, double, single, bare in _ARGUMENT.findall(arguments):
        if markdown or key not in _MARKDOWN_ONLY:
            options.setdefault(key, _unquoted(double, '"') or _unquoted(single, "'") or bare)
    return options


def _unquoted(value: str | None, quote: str) -> str:
    return (value or "").replace("\\" + quote, quote)


def _flag(options: dict[str, str], key: str, *, default: bool) -> bool:
    return _FLAGS.get(options.get(key, ""), default)


def _between(text: str, *, start: str | None, end: str | None) -> str:
    """The plugin's ``start``/``end``: the text after the first ``start``; before the first ``end``; or with
    both, every stretch from a ``start`` to the next ``end``. Python escapes in them (``\\n``) are read."""
    start, end = _escapes(start), _escapes(end)
    if end is None:
        return text.split(start, 1)[1] if start in text else ""
    if start is None:
        return text.split(end, 1)[0]
    stretches = text.split(start)
    return "".join("".join(part.split(end)[::2]) for part in (stretches[1:] if len(stretches) > 1 else [text]))


def _escapes(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return value.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return value


def _shift_headings(text: str, *, offset: int) -> str:
    """``heading-offset``: each `#` heading at a line's start outside a fenced block, ``offset`` levels deeper
    (shallower when negative, never above one `#`)."""
    fence = ""
    lines = []
    for line in text.splitlines(True):
        stripped = line.lstrip()
        if fence:
            fence = "" if stripped.startswith(fence) else fence
        elif stripped.startswith(_FENCE):
            fence = stripped[:3]
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            line = "#" * max(level + offset, 1) + line.lstrip("#")
        lines.append(line)
    return "".join(lines)


_STATS = {"size": "st_size", "mtime": "st_mtime", "ctime": "st_ctime", "atime": "st_atime"}


def _ordered(paths: list[Path], *, order: str) -> list[Path]:
    """The plugin's ``order``: alpha (default) or natural, by path (default), name or extension; size (larger
    first), mtime, ctime or atime; a leading ``-`` reverses. ``random`` is read as the default: an index must not
    shuffle."""
    descending = order.startswith("-")
    kind, _, by = order.lstrip("-").partition("-")
    if kind in ("path", "name", "extension"):
        kind, by = "alpha", kind
    if kind in _STATS:
        return sorted(
            paths, key=lambda path: getattr(path.stat(), _STATS[kind]), reverse=descending != (kind == "size")
        )
    if kind == "natural":
        keys = {
            "name": lambda path: _natural(path.name),
            "extension": lambda path: (_natural(path.suffix), _natural(path.name)),
        }
        return sorted(paths, key=keys.get(by, lambda path: _natural(str(path))), reverse=descending)
    keys = {"name": lambda path: path.name, "extension": lambda path: path.suffix}
    return sorted(paths, key=keys.get(by, str), reverse=descending)


def _natural(text: str) -> list[int | str]:
    return [int(bit) if bit.isdigit() else bit.lower() for bit in re.split(r"(\d+)", text)]
