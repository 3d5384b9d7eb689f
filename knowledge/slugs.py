"""Heading anchors exactly as each site generator makes them.

- docusaurus: github-slugger (lower case; punctuation, symbols and separators other than space and hyphen
  removed by Unicode category; each space becomes a hyphen; repeats get -1, -2 …).
- mkdocs: Python-Markdown's toc ``slugify`` (ASCII-folded, ``[^\\w\\s-]`` removed, runs of space and hyphen
  become one hyphen) with its ``unique`` rule (repeats get _1, _2 …); or what the site's toc settings name
  instead (``slugify_unicode``, pymdownx's ``slugify``, another ``separator``: see HeadingIds).
- mkdocs blog posts and categories: pymdownx's ``slugify(case="lower")``, Material's blog plugin's default
  (NFC, tags stripped, lower case, what is not a word character, hyphen or space removed, each space a hyphen).
- docusaurus with ``markdown.anchors.maintainCase``: github-slugger without the lower case.
- plain: the demo book's own rule (runs of anything but a-z0-9 become one hyphen; repeats get -1, -2 …).
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any
from urllib.parse import quote

STYLES = ("plain", "docusaurus", "mkdocs")

# Unicode categories github-slugger strips (its generated regex), except for space and hyphen-minus.
_GITHUB_REMOVED = frozenset("No Pe Pf Pi Ps Po Pd Sm Sc Sk So Cc Co Cf Cn Zs Zl Zp".split())
_MKDOCS_STRIP = re.compile(r"[^\w\s-]")
_MKDOCS_COUNT = re.compile(r"^(.*)_([0-9]+)$")
_PLAIN = re.compile(r"[^a-z0-9]+")
_TAGS = re.compile(r"</?[^>]*>")
_PYMDOWNX_INVALID = re.compile(r"[^\w\- ]")
_ASCII_UPPER = re.compile(r"[A-Z]")


@dataclass(frozen=True)
class HeadingIds:
    """How a site's headings get their ids when it changes its generator's default (stored with each document).

    MkDocs: the toc extension's ``slugify`` ("toc": Python-Markdown's own; "toc-unicode": its ``slugify_unicode``;
    "pymdownx": ``pymdownx.slugs.slugify`` with its ``case``, ``normalize`` and ``percent_encode``) and its
    ``separator``; ``unique`` off where a repeated heading gets the same id again (a Jupyter notebook's page).
    Docusaurus: ``markdown.anchors.maintainCase``.
    """

    slugify: str = "toc"
    separator: str = "-"
    case: str = "none"
    normalize: str = "NFC"
    percent_encode: bool = False
    maintain_case: bool = False
    unique: bool = True

    def to_dict(self) -> dict[str, Any]:
        """What differs from the defaults ({} for a site that keeps them)."""
        default = HeadingIds()
        return {name: value for name, value in asdict(self).items() if value != getattr(default, name)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "HeadingIds":
        """The rule to_dict() stored (unknown keys ignored)."""
        known = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in (data or {}).items() if name in known})


def github_slug(text: str, *, maintain_case: bool = False) -> str:
    """github-slugger's slug of one heading (without the repeat counter)."""
    text = text if maintain_case else text.lower()
    kept = (ch for ch in text if ch in " -" or unicodedata.category(ch) not in _GITHUB_REMOVED)
    return "".join(kept).replace(" ", "-")


def mkdocs_slug(text: str, *, separator: str = "-", unicode: bool = False) -> str:
    """Python-Markdown's toc slugify (MkDocs' default), or its slugify_unicode."""
    value = text if unicode else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = _MKDOCS_STRIP.sub("", value).strip().lower()
    return re.sub(rf"[{re.escape(separator)}\s]+", separator, value)


def pymdownx_slug(
    text: str, *, separator: str = "-", case: str = "none", normalize: str = "NFC", percent_encode: bool = False
) -> str:
    """pymdownx.slugs.slugify: Unicode kept (normalised), tags stripped, the case changed as ``case`` says
    (none, lower, lower-ascii, fold), what is not a word character, hyphen or space removed, each space a
    separator, and percent-encoded if asked."""
    value = _TAGS.sub("", unicodedata.normalize(normalize, text)).strip()
    if case == "lower":
        value = value.lower()
    elif case == "lower-ascii":
        value = _ASCII_UPPER.sub(lambda match: match[0].lower(), value)
    elif case == "fold":
        value = value.casefold()
    value = _PYMDOWNX_INVALID.sub("", value).replace(" ", separator)
    return quote(value.encode("utf-8")) if percent_encode else value


def material_slug(text: str, *, separator: str = "-") -> str:
    """The slug Material for MkDocs' blog plugin gives a post's title or a category by default."""
    return pymdownx_slug(text, separator=separator, case="lower")


def _mkdocs_base_slug(ids: HeadingIds) -> Callable[[str], str]:
    if ids.slugify == "pymdownx":
        options = {"case": ids.case, "normalize": ids.normalize, "percent_encode": ids.percent_encode}
        return partial(pymdownx_slug, separator=ids.separator, **options)
    return partial(mkdocs_slug, separator=ids.separator, unicode=ids.slugify == "toc-unicode")


def plain_slug(text: str) -> str:
    """The demo book's anchor rule."""
    return _PLAIN.sub("-", text.lower()).strip("-")


def heading_slugger(style: str, *, ids: HeadingIds | None = None) -> Callable[[str], str]:
    """A per-document slugger: call it on each heading's text, in document order. ``ids``: the site's own
    heading-id settings, when it changes its generator's defaults."""
    ids = ids or HeadingIds()
    seen: dict[str, int] = {}
    if style == "mkdocs":
        used: set[str] = set()
        mkdocs_base = _mkdocs_base_slug(ids)

        def mkdocs(text: str) -> str:
            value = mkdocs_base(text)
            if not ids.unique:
                return value
            while value in used or not value:
                match = _MKDOCS_COUNT.match(value)
                value = f"{match.group(1)}_{int(match.group(2)) + 1}" if match else f"{value}_1"
            used.add(value)
            return value

        return mkdocs
    base_slug = partial(github_slug, maintain_case=ids.maintain_case) if style == "docusaurus" else plain_slug

    def counted(text: str) -> str:
        base = result = base_slug(text)
        while result in seen:
            seen[base] += 1
            result = f"{base}-{seen[base]}"
        seen[result] = 0
        return result

    return counted
