"""Heading anchors exactly as each site generator makes them.

- docusaurus: github-slugger (lower case; punctuation, symbols and separators other than space and hyphen
  removed by Unicode category; each space becomes a hyphen; repeats get -1, -2 …).
- mkdocs: Python-Markdown's toc ``slugify`` (ASCII-folded, ``[^\\w\\s-]`` removed, runs of space and hyphen
  become one hyphen) with its ``unique`` rule (repeats get _1, _2 …).
- mkdocs blog posts and categories: pymdownx's ``slugify(case="lower")``, Material's blog plugin's default
  (NFC, tags stripped, lower case, what is not a word character, hyphen or space removed, each space a hyphen).
- plain: the demo book's own rule (runs of anything but a-z0-9 become one hyphen; repeats get -1, -2 …).
"""

import re
import unicodedata
from collections.abc import Callable

STYLES = ("plain", "docusaurus", "mkdocs")

# Unicode categories github-slugger strips (its generated regex), except for space and hyphen-minus.
_GITHUB_REMOVED = frozenset("No Pe Pf Pi Ps Po Pd Sm Sc Sk So Cc Co Cf Cn Zs Zl Zp".split())
_MKDOCS_STRIP = re.compile(r"[^\w\s-]")
_MKDOCS_HYPHENATE = re.compile(r"[-\s]+")
_MKDOCS_COUNT = re.compile(r"^(.*)_([0-9]+)$")
_PLAIN = re.compile(r"[^a-z0-9]+")
_TAGS = re.compile(r"</?[^>]*>")
_MATERIAL_INVALID = re.compile(r"[^\w\- ]")


def github_slug(text: str) -> str:
    """github-slugger's slug of one heading (without the repeat counter)."""
    kept = (ch for ch in text.lower() if ch in " -" or unicodedata.category(ch) not in _GITHUB_REMOVED)
    return "".join(kept).replace(" ", "-")


def mkdocs_slug(text: str) -> str:
    """Python-Markdown's toc slugify with the '-' separator (MkDocs' default)."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = _MKDOCS_STRIP.sub("", value).strip().lower()
    return _MKDOCS_HYPHENATE.sub("-", value)


def material_slug(text: str, *, separator: str = "-") -> str:
    """The slug Material for MkDocs' blog plugin gives a post's title or a category by default."""
    value = _TAGS.sub("", unicodedata.normalize("NFC", text)).strip().lower()
    return _MATERIAL_INVALID.sub("", value).replace(" ", separator)


def plain_slug(text: str) -> str:
    """The demo book's anchor rule."""
    return _PLAIN.sub("-", text.lower()).strip("-")


def heading_slugger(style: str) -> Callable[[str], str]:
    """A per-document slugger: call it on each heading's text, in document order."""
    seen: dict[str, int] = {}
    if style == "mkdocs":
        ids: set[str] = set()

        def mkdocs(text: str) -> str:
            value = mkdocs_slug(text)
            while value in ids or not value:
                match = _MKDOCS_COUNT.match(value)
                value = f"{match.group(1)}_{int(match.group(2)) + 1}" if match else f"{value}_1"
            ids.add(value)
            return value

        return mkdocs
    base_slug = github_slug if style == "docusaurus" else plain_slug

    def counted(text: str) -> str:
        base = result = base_slug(text)
        while result in seen:
            seen[base] += 1
            result = f"{base}-{seen[base]}"
        seen[result] = 0
        return result

    return counted
