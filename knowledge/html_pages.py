"""HTML pages read as their site shows them: the page's own content (not the site's navigation around it), its
headings as sections that link to the ids the page gives them, and what its theme draws as admonitions, tabs and
code blocks read as their Markdown would be.

A built documentation page (Docusaurus, MkDocs Material, Sphinx, texinfo, DocBook, a hand-written page) becomes
Markdown for the one Markdown reader: each heading carries its id (``## Setup {#setup}``) from the permalink the
site draws beside it, its own id, an empty anchor inside it, or the section element it opens, so that a citation
opens the page at that heading. Sphinx's API entries (a ``<dt>`` with an id and a permalink) are headings too.
Admonitions read "Title: text", tabs "Label: text", code blocks keep their language and title; tables stay HTML,
which the Markdown reader reads as rows. markdownify (on BeautifulSoup) writes the rest.
"""

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import PreformattedString
from haystack import Document, component
from haystack.components.converters.utils import get_bytestream_from_source, normalize_metadata
from haystack.dataclasses import ByteStream
from markdownify import ATX, MarkdownConverter

from .markdown import fenced, holds_heading_id
from .notebooks import OUTPUT_INFO

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# No site nests elements this deep (the deepest page of Docusaurus, Material, Sphinx, Node and texinfo builds here:
# 24 levels); a page that does is broken or hostile.
_DEEPEST = 256
# Elements whose content is not the page's text: scripts, controls, embedded graphics, the site's navigation.
_NEVER_TEXT = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "object",
    "canvas",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "aside",
    "link",
    "meta",
)
_NAVIGATION_ROLES = frozenset({"navigation", "search", "banner", "contentinfo", "complementary"})
# Words in a class or id that name the site's furniture around a page (a sidebar, breadcrumbs, a table of
# contents, pager links): "theme-doc-toc-mobile", "sphinxsidebar", "nav-panel", "tocCollapsible_qytr".
_FURNITURE_WORDS = frozenset(
    {
        "nav",
        "navbar",
        "navigation",
        "breadcrumb",
        "breadcrumbs",
        "sidebar",
        "sphinxsidebar",
        "sphinxsidebarwrapper",
        "toc",
        "tableofcontents",
        "pagination",
        "pager",
        "related",
        "skip",
        "prevnext",
        "clipboard",
        "prompt",
    }
)
# The page's head and foot (a texinfo "Next: … Previous: …" bar, Docusaurus's "Edit this page"): furniture unless
# they hold a heading, as an article's <header> holds its title.
_HEAD_OR_FOOT_CLASSES = frozenset({"header", "footer"})
# Words in a class that name a post's byline in its header: Docusaurus's author "avatar", Jekyll's "post-meta",
# WordPress's "entry-meta", Material's "md-meta".
_BYLINE_WORDS = frozenset({"meta", "byline", "author", "authors", "avatar", "date", "dateline"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# The permalink a site draws beside a heading: a symbol or nothing, or one of these classes.
_PERMALINK_CLASSES = frozenset(
    {"headerlink", "hash-link", "anchor", "anchorjs-link", "mark", "permalink", "header-anchor", "heading-anchor"}
)
# What stands between a page's name and the site's in its <title>.
_TITLE_SEPARATORS = frozenset("|-–—:·»")
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
# Footnote references and back links (the marker after a word, the arrow after the note).
_FOOTNOTE_CLASSES = frozenset({"footnote-ref", "footnote-reference", "footnote-backref", "fn-backref"})
_FOOTNOTE_ROLES = frozenset({"doc-noteref", "doc-backlink"})
# Admonition titles: Sphinx and MkDocs, Docusaurus, VitePress, and GitHub-style alerts (GitHub, mdBook).
_ADMONITION_TITLES = frozenset(
    {"admonition-title", "admonitionheading", "custom-block-title", "markdown-alert-title", "alert-title"}
)
# A post's opening on Material for MkDocs' blog index, archive and category pages (the post is a page of its own).
_EXCERPT = "md-post--excerpt"
# Docusaurus's card of another page (a category's generated index, <DocCardList />): a link of class
# "cardContainer_<hash>" holding that page's title and opening line.
_CARD_WORD = "cardcontainer"
_LINE_NUMBERS = frozenset({"linenos", "lineno", "linenodiv", "line-number", "line-numbers-rows"})
# A code block's language in a class, as highlighters write it: language-py, lang-py, highlight-py (Sphinx),
# "sourceCode python" (pandoc).
_LANGUAGE = re.compile(r"^(?:language|lang|highlight|hl)-([\w+#.-]+)$")
_NO_LANGUAGE = frozenset({"", "default", "none", "text", "plain", "plaintext", "txt", "ipynb"})
_CODE_TITLE_CLASSES = ("filename", "code-block-caption", "codeblocktitle")
# Elements that only frame their content, and those that start a block of their own.
_FRAMES = frozenset({"div", "section", "article", "details"})
_BLOCKS = frozenset({"pre", "ul", "ol", "dl", "table", "blockquote", "figure", "hr", *_HEADINGS})


@dataclass(frozen=True)
class HtmlPage:
    """A page's title (its first H1, else its <title>), its content as Markdown, and whether it asks not to be
    indexed (``<meta name="robots" content="noindex">``, as Docusaurus marks an unlisted page)."""

    title: str
    markdown: str
    unlisted: bool = False


def read_html(data: bytes | str) -> HtmlPage:
    """Read an HTML page: text, or bytes in UTF-8 (as uploads are stored) or else the encoding the page declares."""
    soup, root = _parsed(data)
    if _too_deep(soup):
        return HtmlPage(title=_page_title(soup), markdown=_as_text(root), unlisted=_asks_not_to_be_indexed(soup))
    title = _title(soup, root)
    for comment in root.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    _read_math(root)
    _mark_api_entries(root)
    _anchor_headings(root)
    _label_tabs(root)
    _label_admonitions(root)
    _read_definition_lists(root)
    _prepare_code(root)
    _remove_furniture(root)
    try:
        markdown = _PageConverter().convert_soup(root).strip()
    except RecursionError:  # nested deeper than the converter follows, within _DEEPEST: the text alone
        markdown = _as_text(root)
    return HtmlPage(title=title, markdown=markdown, unlisted=_asks_not_to_be_indexed(soup))


@dataclass(frozen=True)
class HtmlOutline:
    """What loading a page needs to know before it is read: its title as read_html() finds it, whether it asks
    not to be indexed, whether anything but headings is left once the site's furniture is, and whether it only
    sends the reader on to another page (``<meta http-equiv="refresh" content="0; url=…">``, as redirect
    plugins write a moved page: mdBook's, Docusaurus's client redirects, mkdocs-redirects), or lists a blog's
    posts (``lists_posts``: the blog's front page, its archive, tag, category and author pages)."""

    title: str
    unlisted: bool
    has_text: bool
    redirect: bool
    lists_posts: bool = False


def html_outline(data: bytes | str) -> HtmlOutline:
    """A page's outline, read from its tree alone: a third of the work of read_html(), which the worker does once
    the page is loaded (a built site's pages are planned in the admin's request when it is imported)."""
    soup, root = _parsed(data)
    marks = {"unlisted": _asks_not_to_be_indexed(soup), "redirect": _redirects(soup)}
    if _too_deep(soup):
        text = bool(_as_text(root))
        return HtmlOutline(title=_page_title(soup), has_text=text, lists_posts=_lists_posts(soup), **marks)
    title = _title(soup, root)
    excerpts = root.find(class_=_EXCERPT) is not None
    _remove_furniture(root)
    text = _text_beside_headings(root)
    # Material's blog index may open with the author's own text before the excerpts: then it is a page.
    return HtmlOutline(title=title, has_text=text, lists_posts=_lists_posts(soup) or (excerpts and not text), **marks)


def html_title(data: bytes) -> str:
    """A page's title as read_html() finds it ('' for a page with no heading and no <title>), without reading the
    rest of the page (an upload is titled while the admin waits)."""
    soup, root = _parsed(data)
    return _page_title(soup) if _too_deep(soup) else _title(soup, root)


def _too_deep(soup: BeautifulSoup) -> bool:
    """Whether elements nest deeper than _DEEPEST: the page is read as its text alone (reading its structure takes
    time in the square of its depth, a hostile page's 100,000 levels hours)."""
    stack = [(soup, 0)]
    while stack:
        element, depth = stack.pop()
        if depth > _DEEPEST:
            return True
        stack.extend((child, depth + 1) for child in element.children if isinstance(child, Tag))
    return False


def _page_title(soup: BeautifulSoup) -> str:
    """The page's <title> alone."""
    return _text(soup.title)[:300] if soup.title else ""


def _as_text(root: Tag) -> str:
    """The text alone, a paragraph per line, escaped as Markdown."""
    converter = _PageConverter()
    lines = (" ".join(line.split()) for line in root.get_text("\n").split("\n"))
    return "\n\n".join(converter.escape(line, set()) for line in lines if line)


def _text_beside_headings(root: Tag) -> bool:
    """Whether any text is left out of the headings (a page of headings alone is empty), looked for top down."""
    stack = [root]
    while stack:
        for child in stack.pop().children:
            if isinstance(child, Tag):
                if child.name not in _HEADINGS:
                    stack.append(child)
            elif not isinstance(child, PreformattedString) and _INVISIBLE.sub("", child):
                return True
    return False


def _redirects(soup: BeautifulSoup) -> bool:
    """Whether the page sends the reader on to another address as it opens (a refresh naming a URL)."""
    return "url=" in "".join(_meta(soup, attribute="http-equiv", value="refresh").split())


def _lists_posts(soup: BeautifulSoup) -> bool:
    """Whether Docusaurus built the page as a list of its blog's posts (each with its opening; the posts are pages
    of their own): it marks every page of its blog plugin but a post's own on <html>."""
    page = soup.find("html")
    classes = set(_classes(page)) if page is not None else set()
    return "plugin-blog" in classes and "blog-post-page" not in classes


def _asks_not_to_be_indexed(soup: BeautifulSoup) -> bool:
    """``<meta name="robots" content="noindex">``, as Docusaurus marks an unlisted page."""
    return "noindex" in _meta(soup, attribute="name", value="robots")


def _meta(soup: BeautifulSoup, *, attribute: str, value: str) -> str:
    """The lower-case content of the page's first <meta> whose ``attribute`` is ``value`` (in any case), or ''."""
    meta = soup.find("meta", attrs={attribute: re.compile(f"^{re.escape(value)}$", re.IGNORECASE)})
    return str(meta.get("content") or "").lower() if meta is not None else ""


def _parsed(data: bytes | str) -> tuple[BeautifulSoup, Tag]:
    """The page's tree and its content root."""
    if isinstance(data, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            data = data.decode("utf-8-sig")
    soup = BeautifulSoup(data, "lxml")
    return soup, _content_root(soup)


def _title(soup: BeautifulSoup, root: Tag) -> str:
    """The content's first H1, else its first heading when the page's <title> is that heading and the site's name
    ("Data Types - The Rust Programming Language" of mdBook's section pages, which start at an H2), else the
    <title>, else the first heading; permalinks drawn beside it left out."""
    heading = root.find("h1")
    if heading is None:
        first = root.find(_HEADINGS)
        if first is not None and (soup.title is None or _names_the_page(_shown(first), _shown(soup.title))):
            heading = first
    element = heading if heading is not None else soup.title
    return "" if element is None else _shown(element)[:300]


def _shown(element: Tag) -> str:
    """An element's text as shown, without the permalinks drawn in it."""
    shown = "".join(
        text
        for text in element.find_all(string=True)
        if not isinstance(text, Comment) and not any(_is_permalink(link) for link in text.find_parents("a"))
    )
    return _collapsed(shown)


def _names_the_page(heading: str, title: str) -> bool:
    """Whether a <title> is the heading, alone or before the site's name ("Assert | Node.js Documentation")."""
    rest = title.removeprefix(heading) if heading else title
    return rest != title and (not rest or rest.lstrip()[:1] in _TITLE_SEPARATORS)


def _classes(element: Tag) -> list[str]:
    value = element.get("class") or []
    return [value] if isinstance(value, str) else list(value)


def _words(element: Tag) -> set[str]:
    """The lowercase words of an element's classes and id ('tocCollapsible_qytr' -> toc, collapsible, qytr), and
    each class whole without its CSS-module suffix ('admonitionHeading_OQGq' -> admonitionheading)."""
    names = [*_classes(element), str(element.get("id") or "")]
    words = {word.lower() for name in names for word in _WORD.findall(name)}
    return words | {name.split("_")[0].lower() for name in names if name}


def _text(element: Tag, *, separator: str = " ") -> str:
    """An element's text on one line; ``separator`` between its strings ("" as a browser shows inline text)."""
    return _collapsed(element.get_text(separator))


def _collapsed(text: str) -> str:
    return " ".join(_INVISIBLE.sub(" ", text).split())


def _content_root(soup: BeautifulSoup) -> Tag:
    """Where the page's own content is: its one <article> (Docusaurus, Material), its main region (Sphinx's
    div.body, Node's #apicontent), else the body."""
    body = soup.body or soup
    main = body.find(attrs={"role": "main"}) or body.find("main") or body
    articles = main.find_all("article")
    outermost = [
        article for article in articles if article.find_parent("article") is None and _EXCERPT not in _classes(article)
    ]
    if len(outermost) == 1:
        return outermost[0]
    return _with_its_hero(main) if main.name == "main" else main


def _with_its_hero(main: Tag) -> Tag:
    """A landing page's <main> with the header just before it that holds the page's title (Docusaurus's home page
    draws its title and tagline in a "hero" banner outside <main>), when the two are all their parent holds."""
    parent = main.parent
    if parent is None or parent.name == "body" or main.find("h1") is not None:
        return main
    children = parent.find_all(True, recursive=False)
    hero = children[0] if len(children) == 2 and children[1] is main else None
    return parent if hero is not None and hero.name == "header" and hero.find("h1") is not None else main


def _read_math(root: Tag) -> None:
    """Math as the TeX it was written in (KaTeX keeps it in an annotation; its drawing is hidden from readers)."""
    for math in root.select(".katex, math"):
        annotation = math.find("annotation", attrs={"encoding": "application/x-tex"})
        tex = annotation.get_text().strip() if annotation is not None else str(math.get("alttext") or "")
        if tex:
            math.replace_with(NavigableString(f"${tex}$"))


def _is_permalink(link: Tag) -> bool:
    """A link to an id on the page drawn as a symbol or nothing ("¶", "#"), or with a permalink's class."""
    if not str(link.get("href") or "").startswith("#"):
        return False
    shown = _INVISIBLE.sub("", link.get_text())
    return bool(set(_classes(link)) & _PERMALINK_CLASSES) or not shown or (len(shown) == 1 and not shown.isalnum())


def _permalink(heading: Tag) -> Tag | None:
    return next((link for link in heading.find_all("a", href=True) if _is_permalink(link)), None)


def _heading_id(heading: Tag, permalink: Tag | None) -> str:
    """The id a site links a heading by: its permalink's target, its own id, an empty anchor inside it, else the
    section element it opens (Sphinx's <section id>, texinfo's div.section)."""
    if permalink is not None and len(str(permalink["href"])) > 1:
        return str(permalink["href"])[1:]
    if heading.get("id"):
        return str(heading["id"])
    for anchor in heading.find_all(["a", "span"]):
        if not _INVISIBLE.sub("", anchor.get_text()) and (anchor.get("id") or anchor.get("name")):
            return str(anchor.get("id") or anchor.get("name"))
    for parent in heading.parents:
        if parent.name in ("body", "html", "[document]", "article", "main"):
            break
        if parent.find(_HEADINGS) is not heading and parent.find(_HEADINGS) is not None:
            break
        if parent.get("id") and (parent.name == "section" or any("section" in c for c in _classes(parent))):
            return str(parent["id"])
    return ""


def _anchor_headings(root: Tag) -> None:
    """Note each heading's id (data-anchor); drop the permalinks drawn beside headings, captions and tables."""
    for heading in root.find_all(_HEADINGS):
        permalink = _permalink(heading)
        heading["data-anchor"] = _heading_id(heading, permalink)
        if permalink is not None:
            permalink.extract()
    for link in root.find_all("a", href=True):  # beside a caption, a table, a figure
        if _is_permalink(link) or _marks_its_block(link):
            link.extract()


def _marks_its_block(link: Tag) -> bool:
    """A link that is all its block holds, to the block itself: the marker a site draws beside a paragraph to link
    it ("[abi.used.intro]" in the Rust Reference's margin): a <div> or <span> of its own, not a heading's text or
    a term's drawn as a link to it (mdBook's headings, Cargo's options)."""
    block = link.parent
    if block is None or block.name not in ("div", "span") or not block.get("id"):
        return False
    if link.get("href") != f"#{block['id']}":
        return False
    return all(child is link or (isinstance(child, NavigableString) and not child.strip()) for child in block.children)


def _mark_api_entries(root: Tag) -> None:
    """Sphinx's API entries (a function, a class, a method: a <dt> with an id and a permalink) become headings a
    level below the section they are in, nested as their lists are."""
    entries = [term for term in root.find_all("dt", id=True) if _permalink(term) is not None]
    lists = {id(term.parent) for term in entries}
    levels = []
    for term in entries:
        before = term.find_previous(_HEADINGS)
        depth = sum(1 for parent in term.parents if id(parent) in lists)
        levels.append(min((int(before.name[1]) if before is not None else 1) + depth, 6))
    for term, level in zip(entries, levels, strict=True):
        term.name = f"h{level}"
        for description in term.find_next_siblings("dd"):
            description.name = "div"
    for term in entries:
        if term.parent is not None and term.parent.name == "dl":
            term.parent.name = "div"  # the list around an entry is only its frame


def _read_definition_lists(root: Tag) -> None:
    """A definition list as a list of "Term: definition" items, as the Markdown reader reads one."""
    for definitions in reversed(root.find_all("dl")):
        items = BeautifulSoup("", "html.parser").new_tag("ul")
        terms: list[str] = []
        for child in list(definitions.children):
            if not isinstance(child, Tag):
                continue
            if child.name == "dt":  # as shown: inline text without spaces put between its elements ("-V, --version")
                terms.append(_text(child, separator=""))
            elif child.name == "dd":
                child.name = "li"
                if terms:
                    _prefix(child, ", ".join(term for term in terms if term))
                terms = []
                items.append(child.extract())
        for term in terms:
            items.append(_paragraph(term))
        definitions.replace_with(items)


def _paragraph(text: str) -> Tag:
    paragraph = BeautifulSoup("", "html.parser").new_tag("p")
    paragraph.string = text
    return paragraph


def _prefix(container: Tag, label: str) -> None:
    """Put "Label: " before a container's text: into its first paragraph (or its text), or as a paragraph of its
    own when it starts with something else (code, a list, a table)."""
    node = container
    while True:
        first = next(
            (child for child in node.children if not isinstance(child, NavigableString) or child.strip()), None
        )
        if not isinstance(first, Tag) or first.name not in _FRAMES:
            break
        node = first
    if isinstance(first, Tag) and first.name == "p":
        first.insert(0, NavigableString(f"{label}: "))
    elif first is None or isinstance(first, NavigableString) or first.name not in _BLOCKS:
        node.insert(0, NavigableString(f"{label}: "))
    else:
        node.insert(0, _paragraph(f"{label}:"))


def _label_tabs(root: Tag) -> None:
    """Each tab's content after its label: ARIA tabs (Docusaurus: a tablist, then tabpanels, hidden or not) and
    radio-button tabs (Material's tabbed-set, sphinx-design, VitePress's code groups: a <label> for each block)."""
    for tablist in root.find_all(attrs={"role": "tablist"}):
        frame = tablist.parent
        labels = [_text(tab) for tab in tablist.find_all(attrs={"role": "tab"})]
        # This tab set's panels, not those of a tab set inside one of them.
        outer = {id(panel) for panel in frame.find_parents(attrs={"role": "tabpanel"})}
        panels = [
            panel
            for panel in frame.find_all(attrs={"role": "tabpanel"})
            if id(panel.find_parent(attrs={"role": "tabpanel"})) in outer | {id(None)}
        ]
        for label, panel in zip(labels, panels, strict=False):
            if label:
                _prefix(panel, label)
        tablist.extract()
    for tab_set in root.select(".tabbed-set, .sd-tab-set, .vp-code-group"):
        labels = tab_set.select(":scope > .tabbed-labels > label, :scope > label, :scope > .tabs > label")
        blocks = tab_set.select(":scope > .tabbed-content > .tabbed-block, :scope > .blocks > *") or tab_set.select(
            ":scope > .tabbed-content, :scope > .sd-tab-content"
        )
        for label, block in zip(labels, blocks, strict=False):
            if _text(label):
                _prefix(block, _text(label))
        for label in labels:
            label.extract()


def _label_admonitions(root: Tag) -> None:
    """An admonition's title before its text ("Supported boards: The firmware runs…"), and a <details>' summary."""
    titles = [
        element
        for element in root.find_all(["p", "div", "span", "summary"])
        if element.name == "summary" or _words(element) & _ADMONITION_TITLES
    ]
    for title in titles:
        label = _text(title)
        if label.isalpha() and label.islower():  # Docusaurus writes the type, its style sheet capitalises it
            label = label.capitalize()
        frame = title.parent
        title.extract()
        if label and frame is not None:
            _prefix(frame, label.rstrip(":"))


def _code_language(pre: Tag) -> str:
    """A code block's language, or "output" for a notebook cell's printed output (as the notebook reader has it)."""
    if any("output" in _words(parent) for parent in list(pre.parents)[:4]):
        return OUTPUT_INFO
    for element in [pre, *pre.find_all("code", limit=1), *list(pre.parents)[:3]]:
        classes = _classes(element)
        if "sourceCode" in classes:
            return next((name for name in classes if name != "sourceCode"), "")
        for name in classes:
            match = _LANGUAGE.match(name)
            if match and match.group(1).lower() not in _NO_LANGUAGE:
                return match.group(1)
    return ""


def _code_titles(root: Tag) -> dict[int, str]:
    """The file name or caption a theme shows above a code block (Material's span.filename, Docusaurus's
    codeBlockTitle, Sphinx's code-block caption), by the id() of the <pre> it names: the next one, inside the same
    frame (one of the <pre>'s three closest ancestors). Each is removed from the page's text."""
    titles = {}
    for element in root.find_all(["span", "div", "p"], class_=True):
        if not any(word.startswith(_CODE_TITLE_CLASSES) for word in _words(element)):
            continue
        pre = element.find_next("pre")
        if pre is None or id(pre) in titles:
            continue
        ancestors = {id(parent) for parent in element.parents}
        if any(id(frame) in ancestors for frame in list(pre.parents)[:3]):
            titles[id(pre)] = _text(element)
            element.extract()
    return titles


def _prepare_code(root: Tag) -> None:
    """Each code block's text (line numbers left out, a line break per <br> and per line element), language and
    title, for the converter to fence."""
    for table in root.select("table.highlighttable, table.codehilitetable"):
        code = (table.find("td", class_="code") or table).find("pre")
        if code is not None:
            table.replace_with(code)
    for element in root.find_all(class_=True):
        if set(_classes(element)) & _LINE_NUMBERS:
            element.extract()
    titles = _code_titles(root)
    for pre in root.find_all("pre"):
        for control in pre.find_all(_NEVER_TEXT):  # a copy button drawn inside the block (Node's docs)
            control.extract()
        for hidden in pre.select(".boring"):  # mdBook's hidden lines of a Rust example (fn main() { around it)
            hidden.extract()
        # VitePress draws the language's name in the corner of the block it frames (div.language-js); only such a
        # frame is looked in (a page's content holding thousands of blocks is not, for each of them).
        frame = pre.parent
        if frame is not None and any(name.startswith("language-") for name in _classes(frame)):
            for corner in frame.find_all("span", class_="lang", recursive=False):
                corner.extract()
        language, title = _code_language(pre), titles.get(id(pre), "")
        for line_break in pre.find_all("br"):
            line_break.replace_with("\n")
        lines = pre.select(".token-line")  # Docusaurus draws each line as an element of its own
        text = "\n".join(line.get_text().rstrip("\n") for line in lines) if lines else pre.get_text()
        info = " ".join(part for part in (language, f'title="{title}"' if title and '"' not in title else "") if part)
        pre["data-code"] = text.replace("\r\n", "\n").strip("\n")
        pre["data-info"] = info


def _is_furniture(element: Tag) -> bool:
    if element.name in _NEVER_TEXT or element.get("role") in _NAVIGATION_ROLES:
        return True
    # Hidden until the reader acts ("Copied!"); a tab's panel is hidden until chosen, and read (its label before it).
    if element.has_attr("hidden") and element.get("role") != "tabpanel":
        return True
    if element.get("aria-hidden") == "true" and element.find(_HEADINGS) is None:
        return True
    words = _words(element)
    if words & _FOOTNOTE_CLASSES or element.get("role") in _FOOTNOTE_ROLES:
        return True
    if element.has_attr("data-footnote-ref") or element.has_attr("data-footnote-backref"):
        return True
    if _EXCERPT in _classes(element) or (element.name == "a" and _CARD_WORD in words):
        return True
    if words & _FURNITURE_WORDS and element.name not in _HEADINGS and element.name != "pre":
        return True
    # A head or foot without a heading; beside the title in an article's header (kept for its heading), the post's
    # date, reading time and authors.
    head_or_foot = _is_head_or_foot(element)
    byline = not head_or_foot and element.parent is not None and _is_head_or_foot(element.parent)
    if not (head_or_foot or byline) or element.name in _HEADINGS or element.find(_HEADINGS) is not None:
        return False
    return head_or_foot or _is_byline(element)


def _is_head_or_foot(element: Tag) -> bool:
    # (A link is no head or foot: mdBook draws each heading's text as a link of class "header".)
    return element.name in ("header", "footer") or (
        element.name != "a" and bool(set(_classes(element)) & _HEAD_OR_FOOT_CLASSES)
    )


def _is_byline(element: Tag) -> bool:
    """A date (<time>), or what a class names as the post's date, authors or details ("avatar", "post-meta")."""
    if element.name == "time" or _words(element) & _BYLINE_WORDS:
        return True
    return element.find(lambda tag: tag.name == "time" or bool(_words(tag) & _BYLINE_WORDS)) is not None


def _remove_furniture(root: Tag) -> None:
    """Leave out the site's furniture, top down (what is inside a removed element is never looked at)."""
    stack = root.find_all(True, recursive=False)
    while stack:
        element = stack.pop()
        if _is_furniture(element):
            element.extract()
        else:
            stack.extend(element.find_all(True, recursive=False))


class _PageConverter(MarkdownConverter):
    """markdownify, writing what the Markdown reader reads as the page shows it: headings with their ids, code
    fenced with its language, tables as HTML (read as rows), links and images as their text."""

    def __init__(self) -> None:
        super().__init__(heading_style=ATX, bullets="-", escape_misc=True, strip_document=None)

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:  # noqa: N802 - markdownify's name
        if "_inline" in parent_tags:
            return text
        text = " ".join(text.split())
        if not text:
            return ""
        anchor = str(el.get("data-anchor") or "")
        suffix = f" {{#{anchor}}}" if anchor and holds_heading_id(anchor) else ""
        return f"\n\n{'#' * min(max(n, 1), 6)} {text}{suffix}\n\n"

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        code = str(el.get("data-code", text))
        return f"\n\n{fenced(code, info=str(el.get('data-info') or ''))}\n\n" if code.strip() else ""

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_inline" in parent_tags:
            return text
        for cell in el.find_all(True):
            cell.attrs = {key: value for key, value in cell.attrs.items() if key in ("colspan", "rowspan")}
        el.attrs = {}
        return "\n\n" + " ".join(str(el).split()) + "\n\n"

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return text

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.escape(str(el.get("alt") or ""), parent_tags)

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n"


@component
class HtmlToDocument:
    """Haystack converter: HTML pages to Markdown documents of their content (see the module's docstring)."""

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """One document per page, with the source's meta."""
        documents = []
        for source, extra in zip(sources, normalize_metadata(meta, sources_count=len(sources)), strict=True):
            stream = get_bytestream_from_source(source)
            page = read_html(stream.data)
            documents.append(Document(content=page.markdown, meta={**stream.meta, **extra}))
        return {"documents": documents}
