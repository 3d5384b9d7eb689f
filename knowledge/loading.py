"""Find loadable files on disk and name them, for the bulk-loading commands."""

import re
from pathlib import Path

from .sources import MIME_BY_EXTENSION

_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def find_source_files(paths: list[str]) -> list[tuple[Path, str]]:
    """Supported files under the given files and folders, as (path, stable key), sorted and unique."""
    found: dict[str, Path] = {}
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"{raw} does not exist.")
        if root.is_file():
            found[_key(root, root.parent)] = root
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in MIME_BY_EXTENSION and not _hidden(path, root):
                found[_key(path, root.parent)] = path
    return sorted(((path, key) for key, path in found.items()), key=lambda item: item[1])


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _key(path: Path, base: Path) -> str:
    return path.resolve().relative_to(base.resolve()).as_posix()


def title_for(path: Path, data: bytes) -> str:
    """The first Markdown H1 of a .md file, else the file name in words."""
    if path.suffix.lower() in {".md", ".markdown"}:
        match = _H1.search(data.decode("utf-8", errors="replace"))
        if match:
            return match.group(1).strip()[:300]
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()[:300]
