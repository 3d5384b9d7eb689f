"""What a page includes from other files, inlined as its site renders it: MkDocs snippets (pymdownx.snippets,
``--8<-- "file.md"``) and Docusaurus partials (``import Setup from './_setup.mdx'`` used as ``<Setup />``).

Included files are read when the book is loaded, only from inside the site's folder and never from a URL, so
the stored document holds the page's whole text: a change to an included file changes the page's document,
which is then indexed again. A file that cannot be found is left out, as the site builds leave it out.
"""

import re
from collections.abc import Sequence
from pathlib import Path

from .markdown import SNIPPET_MARKER, fence_roles, split_front_matter

# Nested includes deeper than this, and a page grown past this many characters, stop including: a loop of
# includes, or one included file used a thousand times, must not take the loader's memory.
MAX_DEPTH = 8
MAX_CHARS = 5_000_000

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


def inline_includes(
    text: str,
    *,
    path: Path,
    style: str,
    root: Path,
    base_paths: Sequence[Path] = (),
    boundary: Path | None = None,
) -> str:
    """The page's text with what it includes inlined (``root``: the site's folder; ``boundary``: the folder
    included files must be in, ``root`` unless given; ``base_paths``: where MkDocs snippet names are looked up,
    the site's folder when empty)."""
    if style == "mkdocs" and "8<-" in text:
        return _Snippets(root=root, base_paths=list(base_paths) or [root]).expand(text, seen=(path.resolve(),))
    if style == "docusaurus" and "import" in text:
        partials = _Partials(root=root, boundary=boundary or root)
        return partials.expand(text, path=path.resolve(), seen=(path.resolve(),))
    return text


def _inside(path: Path, root: Path) -> Path | None:
    """The file at ``path`` when it exists inside ``root`` (links resolved), else None."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_file() and resolved.is_relative_to(root.resolve()) else None


def _read(path: Path) -> str:
    return path.read_text("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


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
            (hit for base in self.base_paths if (hit := _inside(base / file_name, self.root)) is not None), None
        )
        if found is None or found in seen or self.chars > MAX_CHARS:
            return []
        lines = _read(found).removesuffix("\n").split("\n")  # a file's last newline ends its last line
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
        partials = {}
        for index, line in enumerate(lines):
            match = _MDX_IMPORT.match(line) if roles[index] == "text" else None
            if match:
                partials[match.group("name")] = match.group("path")
        if not partials:
            return text
        usage = re.compile(rf"^[ \t]*<({'|'.join(map(re.escape, partials))})(?:\s[^<>]*)?/>[ \t]*$")
        out: list[str] = []
        for index, line in enumerate(lines):
            used = usage.match(line) if roles[index] == "text" else None
            out.append(self._included(partials[used.group(1)], path=path, seen=seen) if used else line)
        return "\n".join(out)

    def _included(self, target: str, *, path: Path, seen: tuple[Path, ...]) -> str:
        if target.startswith("@site/"):
            candidate = self.root / target.removeprefix("@site/")
        elif target.startswith("."):
            candidate = path.parent / target
        else:
            return ""  # a package's file: not part of the book
        found = _inside(candidate, self.boundary)
        if found is None or found in seen or len(seen) > MAX_DEPTH or self.chars > MAX_CHARS:
            return ""
        _, body, _ = split_front_matter(_read(found))
        expanded = self.expand(body.strip("\n"), path=found, seen=(*seen, found))
        self.chars += len(expanded)
        # Its own blocks: a blank line either side, so the text around it never joins them.
        return f"\n{expanded}\n"
