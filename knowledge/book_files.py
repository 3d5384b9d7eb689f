"""The files a page takes text from (included files, snippets, data files), read from its book: only from inside
the book's folder, never from a URL, with the newlines a site reads."""

import re
from pathlib import Path, PurePosixPath

# Nested includes deeper than this, and a page grown past this many characters, stop including: a loop of
# includes, or one included file used a thousand times, must not take the loader's memory.
MAX_DEPTH = 8
MAX_CHARS = 5_000_000
# A name with a scheme ("https:", "ftp:"): never fetched, the book is read offline.
URL = re.compile(r"^[A-Za-z0-9+.-]{2,}:")


def inside(path: Path, root: Path) -> Path | None:
    """The file at ``path`` when it exists inside ``root`` (links resolved), else None."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_file() and resolved.is_relative_to(root.resolve()) else None


def read_text(path: Path, *, encoding: str = "utf-8") -> str:
    """A file's text, every line ending a newline."""
    try:
        text = path.read_bytes().decode(encoding, "replace")
    except LookupError:  # an encoding Python does not know: the site's build stops there; read it as UTF-8
        text = path.read_bytes().decode("utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def mkdocs_file_title(page: PurePosixPath, *, in_docs: bool = True) -> str:
    """The title MkDocs gives a page (its path in the docs folder, ``in_docs``) from its file: "Home" for the
    home page, else its file name in words, capitalised when all lower case."""
    name = "index" if page.stem == "README" else page.stem
    if in_docs and len(page.parts) == 1 and name == "index":
        return "Home"
    words = name.replace("-", " ").replace("_", " ")
    return words.capitalize() if words.lower() == words else words
