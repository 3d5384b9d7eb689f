"""Citation links against the sites' own generators: every link ingestion makes must open a page the book's
generator builds, at a heading id that page has.

    .venv/bin/python bench/site_links.py [--baseline REV] [--record]

Builds seven books with their real generators: the weather book with Docusaurus, the garden book with MkDocs
Material, Docusaurus's classic template (the docs and blog `npx create-docusaurus` starts every site with, fetched
from npm, never kept in the project), and the weather book made a versioned site (its docs released as 1.0, which
readers see first, and an unreleased next version with a page of its own), and as a docs-only site under a base
path with trailing slashes; and the garden book as a site of page files (use_directory_urls false) under a base
path, and as a multilingual site (mkdocs-static-i18n: English at the root, French translations under /fr/). The
generators, at the versions pinned below, are installed on first use under var/site-builders/ (npm and pip; a few
minutes once). Each book is then ingested into a throwaway database and every chunk's citation link is
checked against the build: its page must exist, and its #fragment must be the id of a heading on that page. With
--baseline, the links the code at REV makes (from a temporary git worktree) are checked against the same builds,
side by side. --record writes the fixture books' built pages and heading ids to
tests/fixtures/<book>-book-site.json, which tests/knowledge/test_site_links.py checks every ingestion against
without building.

Then the anchors one page of hard headings gets (tests/fixtures/headings.md: punctuation, code, links, images,
Unicode, repeats, odd spacing), built by Docusaurus as MDX and as CommonMark and by MkDocs, and with the settings
sites change heading ids by (Docusaurus's markdown.anchors.maintainCase; MkDocs' toc slugify_unicode or pymdownx's
slugify, and another separator), heading by heading against the anchors ingestion gives them; --record writes
the built ones to tests/fixtures/headings-built.json for tests/knowledge/test_markdown.py.
"""

import argparse
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from _setup import ROOT, baseline_json, setup, table

BUILDERS = ROOT / "var" / "site-builders"
DOCUSAURUS_VERSION = "3.10.2"
DOCUSAURUS_PACKAGES = {
    "@docusaurus/core": DOCUSAURUS_VERSION,
    "@docusaurus/preset-classic": DOCUSAURUS_VERSION,
    "@mdx-js/react": "3.1.1",
    "clsx": "2.1.1",
    "prism-react-renderer": "2.4.1",
    # What a page's `import Source from '!!raw-loader!./file.py'` needs (Docusaurus's docs have sites install it).
    "raw-loader": "4.0.2",
    "react": "18.3.1",
    "react-dom": "18.3.1",
}
MKDOCS_PACKAGES = [
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.2",
    "mkdocs-static-i18n==1.3.1",
    "mkdocs-include-markdown-plugin==7.3.0",
    "mkdocs-jupyter==0.26.3",
    "mkdocstrings==1.0.8",
    "mkdocstrings-python==2.0.11",
]
# Checking links is what the build is for: a page's broken link is the book's business, and Docusaurus's faster
# bundler (which a `future: {v4: true}` config asks for) is a separate package.
DOCUSAURUS_CONFIG = """import config from './docusaurus.config.js';
export default {
  ...config,
  onBrokenLinks: 'warn',
  onBrokenAnchors: 'warn',
  future: {...(config.future || {}), faster: false},
};
"""
# What the weather book's pages import or use that a site keeps beside its Markdown: its own components.
WEATHER_COMPONENTS = {
    "src/components/Map.js": "export default function Map({stations}) { return <div>{stations} stations</div>; }\n",
    "src/theme/MDXComponents.js": (
        "import MDXComponents from '@theme-original/MDXComponents';\n"
        "function Highlight({children, color}) { return <span style={{backgroundColor: color}}>{children}</span>; }\n"
        "export default {...MDXComponents, Highlight};\n"
    ),
}
_HEADING_ID = re.compile(r"<h[1-6]\b[^>]*?\sid=\"([^\"]*)\"")
_SECTION_ID = re.compile(r"<h2\b[^>]*?\sid=\"([^\"]*)\"")
FIXTURES = ROOT / "tests" / "fixtures"
HEADINGS = FIXTURES / "headings.md"
# (generator, MDX or not): how the headings page is built and read.
_DOCUSAURUS_SITE = (
    "module.exports = {{title: 'Headings', url: 'https://h.example.org', baseUrl: '/',{markdown}\n"
    "  presets: [['classic', {{docs: {{routeBasePath: 'docs'}}, blog: false}}]]}};\n"
)
_MKDOCS_SITE = (
    "site_name: Headings\ntheme:\n  name: material\nmarkdown_extensions:\n  - footnotes\n  - attr_list\n{toc}"
)


@dataclass(frozen=True)
class HeadingMode:
    """One way of building the headings page: a generator, its site config and whether the page is MDX; and the
    settings ingestion reads from that config (as knowledge.slugs.HeadingIds takes them)."""

    generator: str
    config: str
    mdx: bool = False
    ids: dict[str, Any] = field(default_factory=dict)


HEADING_MODES = {
    "docusaurus mdx": HeadingMode("docusaurus", _DOCUSAURUS_SITE.format(markdown=""), mdx=True),
    "docusaurus md": HeadingMode("docusaurus", _DOCUSAURUS_SITE.format(markdown="")),
    "docusaurus mdx, anchors.maintainCase": HeadingMode(
        "docusaurus",
        _DOCUSAURUS_SITE.format(markdown=" markdown: {anchors: {maintainCase: true}},"),
        mdx=True,
        ids={"maintain_case": True},
    ),
    "mkdocs": HeadingMode("mkdocs", _MKDOCS_SITE.format(toc="")),
    "mkdocs, toc slugify_unicode, separator _": HeadingMode(
        "mkdocs",
        _MKDOCS_SITE.format(
            toc="  - toc:\n      slugify: !!python/name:markdown.extensions.toc.slugify_unicode\n      separator: _\n"
        ),
        ids={"slugify": "toc-unicode", "separator": "_"},
    ),
    "mkdocs, pymdownx slugify case lower": HeadingMode(
        "mkdocs",
        _MKDOCS_SITE.format(
            toc="  - toc:\n      slugify: !!python/object/apply:pymdownx.slugs.slugify\n"
            "        kwds:\n          case: lower\n"
        ),
        ids={"slugify": "pymdownx", "case": "lower"},
    ),
}


@dataclass(frozen=True)
class Book:
    name: str
    generator: str  # docusaurus or mkdocs
    site_url: str
    folder: Callable[[], Path]  # where the book is (made on first use for those not kept in the project)
    components: dict[str, str] = field(default_factory=dict)
    fixture: bool = False  # a book of tests/fixtures: its build is recorded for the tests


def _fixture(name: str) -> Callable[[], Path]:
    return lambda: FIXTURES / f"{name}-book"


def versioned_weather() -> Path:
    """The weather book as a versioned Docusaurus site: its docs released as version 1.0 (what readers see first,
    at /docs/), its docs/ folder the unreleased next version (at /docs/next/, which ingestion skips) with a page
    of its own."""
    site = BUILDERS / "books" / "weather-versioned"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(FIXTURES / "weather-book", site)
    shutil.copytree(site / "docs", site / "versioned_docs" / "version-1.0")
    (site / "versioned_sidebars").mkdir()
    sidebar = {"docs": [{"type": "autogenerated", "dirName": "."}]}
    (site / "versioned_sidebars" / "version-1.0-sidebars.json").write_text(json.dumps(sidebar))
    (site / "versions.json").write_text('["1.0"]\n')
    (site / "docs" / "12-lightning.md").write_text("# Lightning\n\n## Detecting strikes\n\nNot released yet.\n")
    return site


def docs_only_weather() -> Path:
    """The weather book as a docs-only Docusaurus site under a base path, as a GitHub project page serves one:
    docs at the site's root (routeBasePath '/'), baseUrl '/handbook/' and trailing slashes on every route."""
    site = BUILDERS / "books" / "weather-docs-only"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(FIXTURES / "weather-book", site)
    config = site / "docusaurus.config.js"
    text = config.read_text().replace("baseUrl: '/',", "baseUrl: '/handbook/', trailingSlash: true,")
    config.write_text(text.replace("routeBasePath: 'docs'", "routeBasePath: '/'"))
    return site


def flat_garden() -> Path:
    """The garden book as an MkDocs site of page files under a base path: use_directory_urls false (pages at
    soil/compost.html) and its address in a folder of its host."""
    site = BUILDERS / "books" / "garden-flat"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(FIXTURES / "garden-book", site)
    config = site / "mkdocs.yml"
    text = config.read_text().replace("site_url: https://garden.example.org/", "site_url: https://example.org/garden/")
    config.write_text(f"{text}use_directory_urls: false\n")
    return site


def multilingual_garden() -> Path:
    """The garden book as a multilingual MkDocs site (mkdocs-static-i18n, its default suffix structure): English
    at the site's root, one page kept as ``compost.en.md``, and French translations of two pages (built under
    /fr/, which ingestion skips). Material's blog plugin is left out: its posts are plain pages here; so is the
    notebook (mkdocs-static-i18n before mkdocs-jupyter writes a notebook's JSON as its page)."""
    site = BUILDERS / "books" / "garden-i18n"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(FIXTURES / "garden-book", site)
    config = site / "mkdocs.yml"
    i18n = (
        "  - i18n:\n      languages:\n        - {locale: en, default: true, name: English}\n"
        "        - {locale: fr, name: Français}\n"
    )
    jupyter = "  - mkdocs-jupyter:\n      remove_tag_config:\n        remove_cell_tags:\n          - hide\n"
    config.write_text(config.read_text().replace("  - blog\n", i18n).replace(jupyter, ""))
    docs = site / "docs"
    (docs / "watering" / "rain-log.ipynb").unlink()
    (docs / "soil" / "compost.md").rename(docs / "soil" / "compost.en.md")
    (docs / "getting-started.fr.md").write_text("# Premiers pas\n\n## Choisir un coin\n\nSix heures de soleil.\n")
    (docs / "soil" / "compost.fr.md").write_text("# Compost\n\n## Le tas\n\nRetournez-le chaque mois.\n")
    return site


BOOKS = [
    Book("weather", "docusaurus", "https://weather.example.org/", _fixture("weather"), WEATHER_COMPONENTS, True),
    Book("garden", "mkdocs", "https://garden.example.org/", _fixture("garden"), fixture=True),
    Book("docusaurus-classic", "docusaurus", "https://example.org/", lambda: classic_template()),
    Book("weather-versioned", "docusaurus", "https://weather.example.org/", versioned_weather, WEATHER_COMPONENTS),
    Book(
        "weather-docs-only",
        "docusaurus",
        "https://weather.example.org/handbook/",
        docs_only_weather,
        WEATHER_COMPONENTS,
    ),
    Book("garden-flat", "mkdocs", "https://example.org/garden/", flat_garden),
    Book("garden-i18n", "mkdocs", "https://garden.example.org/", multilingual_garden),
]


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:3])} failed in {cwd}:\n{(done.stdout + done.stderr)[-3000:]}")


def docusaurus() -> Path:
    """The Docusaurus install (its node_modules), made on first use."""
    home = BUILDERS / "docusaurus"
    package = json.dumps({"name": "site-builder", "private": True, "dependencies": DOCUSAURUS_PACKAGES}, indent=2)
    if not (home / "node_modules" / ".bin" / "docusaurus").exists() or (home / "package.json").read_text() != package:
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_text(package)
        print(f"installing Docusaurus {DOCUSAURUS_VERSION} with npm into {home.relative_to(ROOT)}", file=sys.stderr)
        _run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home)
    return home / "node_modules"


def mkdocs() -> Path:
    """The mkdocs command of a virtualenv of its own (its Markdown extensions stay out of the project's)."""
    home = BUILDERS / "mkdocs"
    wanted = " ".join(MKDOCS_PACKAGES)
    if not (home / "bin" / "mkdocs").exists() or (home / "installed").read_text() != wanted:
        print(f"installing {wanted} with pip into {home.relative_to(ROOT)}", file=sys.stderr)
        _run([sys.executable, "-m", "venv", "--clear", str(home)], cwd=ROOT)
        _run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", *MKDOCS_PACKAGES], cwd=ROOT)
        (home / "installed").write_text(wanted)
    return home / "bin" / "mkdocs"


def classic_template() -> Path:
    """Docusaurus's classic template, as create-docusaurus copies it into a new site (its shared files, then the
    classic ones)."""
    home = BUILDERS / f"create-docusaurus-{DOCUSAURUS_VERSION}"
    site = home / "site"
    if not site.exists():
        home.mkdir(parents=True, exist_ok=True)
        _run(["npm", "pack", f"create-docusaurus@{DOCUSAURUS_VERSION}", "--silent"], cwd=home)
        with tarfile.open(next(home.glob("create-docusaurus-*.tgz"))) as archive:
            archive.extractall(home, filter="data")
        templates = home / "package" / "templates"
        shutil.copytree(templates / "shared", site)
        shutil.copytree(templates / "classic", site, dirs_exist_ok=True)
    return site


def build(book: Book, out: Path) -> None:
    """Build the book's site into ``out`` with its generator."""
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        shutil.copytree(book.folder(), site, ignore=shutil.ignore_patterns("node_modules", "build", "site"))
        for path, text in book.components.items():
            (site / path).parent.mkdir(parents=True, exist_ok=True)
            (site / path).write_text(text)
        if book.generator == "mkdocs":
            _run([str(mkdocs()), "build", "--quiet", "--site-dir", str(out)], cwd=site)  # snippets read from cwd
            return
        (site / "node_modules").symlink_to(docusaurus())
        (site / "links-build.config.js").write_text(DOCUSAURUS_CONFIG)
        command = ["node_modules/.bin/docusaurus", "build", ".", "--config", "links-build.config.js"]
        # Every book builds with the same node_modules, where webpack keeps its persistent cache: a book built
        # after another failed to render pages from modules the cache held for the one before. Each builds afresh.
        fresh = {**os.environ, "DOCUSAURUS_NO_PERSISTENT_CACHE": "1"}
        _run([*command, "--out-dir", str(out)], cwd=site, env=fresh)


def built_pages(out: Path) -> dict[str, list[str]]:
    """The path (no slashes around it) of each page the build made, and its headings' ids. A folder's index.html
    is served at the folder ("" for the front page); another page file at its name, and by the hosts that serve
    clean URLs without its .html too."""
    pages = {}
    for page in sorted(out.rglob("*.html")):
        relative = page.relative_to(out).as_posix()
        if relative == "404.html" or relative.startswith(("assets/", "search/")):
            continue
        ids = sorted({html.unescape(value) for value in _HEADING_ID.findall(page.read_text())})
        if relative == "index.html" or relative.endswith("/index.html"):
            pages[relative.removesuffix("index.html").strip("/")] = ids
        else:
            pages[relative] = pages[relative.removesuffix(".html")] = ids
    return pages


def check(links: list[list[str]], *, pages: dict[str, list[str]], site_url: str) -> list[str]:
    """What is wrong with each link that does not open a built page at one of its headings."""
    base = urlsplit(site_url).path
    problems = []
    for source, link in links:
        parts = urlsplit(link)
        if not link.startswith(site_url.rstrip("/")):
            problems.append(f"{source}: {link!r} is not on the site")
            continue
        # A link to a folder's index.html (MkDocs without directory URLs) opens the folder's page.
        path = unquote(parts.path).removeprefix(base).removesuffix("index.html").strip("/")
        if path not in pages:
            problems.append(f"{source}: {link} opens no page")
        elif parts.fragment and unquote(parts.fragment) not in pages[path]:
            problems.append(f"{source}: {link} names no heading of its page")
    return problems


def links_of(book: Path, site_url: str) -> list[list[str]]:
    """(source key, link) of every chunk, from ingesting ``book`` into a throwaway database."""
    from django.core.management import call_command  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    with isolated_database(suffix="site_links"):
        call_command("ingest", str(book), "--site-url", site_url, "--no-progress", stdout=io.StringIO())
        from knowledge.models import Chunk  # noqa: PLC0415

        try:
            from chat.services import source_url  # noqa: PLC0415
        except ImportError:  # older code: the link is the reference and the anchor
            source_url = None
        found = {}
        for chunk in Chunk.objects.select_related("document").order_by("document__source_key", "position"):
            reference, anchor = chunk.document.reference, chunk.anchor
            link = source_url(reference=reference, anchor=anchor) if source_url else f"{reference}#{anchor}"
            found.setdefault(link.rstrip("#"), chunk.document.source_key)
        return [[source, link] for link, source in found.items()]


def baseline_links(rev: str, books: dict[str, Path]) -> dict[str, dict]:
    """Each book's links, and the headings page's anchors, as the code at ``rev`` makes them (in its own
    process)."""
    paths = json.dumps({name: str(path) for name, path in books.items()})
    return baseline_json(rev, script=__file__, args=["--links-of", paths])


def _links_of_books(spec: str) -> None:
    """--links-of: run by the baseline's worktree, with its own code on the import path."""
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    import django  # noqa: PLC0415

    django.setup()
    sites = {book.name: book.site_url for book in BOOKS}
    links = {name: links_of(Path(path), sites[name]) for name, path in json.loads(spec).items()}
    print(json.dumps({"links": links, "headings": heading_anchors()}))


def build_headings(out: Path) -> dict[str, list[str]]:
    """The ids each generator gives the headings page's sections, in order, in each mode."""
    text = HEADINGS.read_text()
    built = {}
    for number, (mode, how) in enumerate(HEADING_MODES.items()):
        site = out / f"site-{number}"
        (site / "docs").mkdir(parents=True)
        if how.generator == "docusaurus":
            page = "headings.mdx" if how.mdx else "headings.md"
            (site / "docs" / page).write_text(text if how.mdx else f"---\nformat: md\n---\n{text}")
            (site / "docusaurus.config.js").write_text(how.config)
            built_page = Path("docs") / "headings" / "index.html"
        else:
            (site / "docs" / "headings.md").write_text(text)
            (site / "mkdocs.yml").write_text(how.config)
            built_page = Path("headings") / "index.html"
        build(Book("headings", how.generator, "", folder=lambda site=site: site), out / f"built-{number}")
        # A page with footnotes ends with their own section, which has no heading in the Markdown.
        ids = _SECTION_ID.findall((out / f"built-{number}" / built_page).read_text())
        built[mode] = [html.unescape(value) for value in ids if value != "footnote-label"]
    return built


def heading_anchors() -> dict[str, list[str]]:
    """The anchors ingestion gives the headings page's sections, in each mode (code from before the site's
    heading-id settings were read gets the generator's defaults)."""
    import inspect  # noqa: PLC0415

    from knowledge.markdown import parse_markdown  # noqa: PLC0415

    settings = "heading_ids" in inspect.signature(parse_markdown).parameters
    text = HEADINGS.read_text()
    anchors = {}
    for mode, how in HEADING_MODES.items():
        options = {"heading_ids": _heading_ids(how.ids)} if settings else {}
        headings = parse_markdown(text, style=how.generator, mdx=how.mdx, **options).headings
        anchors[mode] = [anchor for level, _, anchor in headings if level == 2]
    return anchors


def _heading_ids(ids: dict[str, Any]) -> Any:
    from knowledge.slugs import HeadingIds  # noqa: PLC0415

    return HeadingIds.from_dict(ids)


def _same(ours: list[str], built: list[str]) -> str:
    return f"{sum(a == b for a, b in zip(ours, built, strict=False))}/{len(built)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="", help="git revision whose links to check too")
    parser.add_argument("--record", action="store_true", help="write the fixture books' builds for the tests")
    parser.add_argument("--links-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.links_of:
        _links_of_books(args.links_of)
        return
    setup()
    folders = {book.name: book.folder() for book in BOOKS}
    before = baseline_links(args.baseline, folders) if args.baseline else {"links": {}, "headings": {}}
    compared = [f"right at {args.baseline}"] if args.baseline else []
    rows, problems = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for book in BOOKS:
            out = Path(folder) / book.name
            build(book, out)
            pages = built_pages(out)
            if args.record and book.fixture:
                _record(f"{book.name}-book-site.json", {"pages": pages})
            now = links_of(folders[book.name], book.site_url)
            problems[book.name] = check(now, pages=pages, site_url=book.site_url)
            built_count = sum(not path.endswith(".html") for path in pages)  # x.html is also at x
            row = [book.name, book.generator, built_count, len(now)]
            if args.baseline:
                old = before["links"].get(book.name, [])
                row.append(f"{len(old) - len(check(old, pages=pages, site_url=book.site_url))}/{len(old)}")
            rows.append([*row, f"{len(now) - len(problems[book.name])}/{len(now)}"])
        built = build_headings(Path(folder) / "headings")
    if args.record:
        modes = {
            mode: {"generator": how.generator, "mdx": how.mdx, "heading_ids": how.ids, "ids": built[mode]}
            for mode, how in HEADING_MODES.items()
        }
        _record("headings-built.json", {"modes": modes})
    print(table(["book", "generator", "pages built", "links", *compared, "right now"], rows))
    for name, wrong in problems.items():
        for problem in wrong:
            print(f"{name}: {problem}")
    ours = heading_anchors()
    rows = [
        [mode, len(ids), *([_same(before["headings"][mode], ids)] if compared else []), _same(ours[mode], ids)]
        for mode, ids in built.items()
    ]
    print(f"\n{HEADINGS.relative_to(ROOT)}: each heading's anchor against the one its generator built")
    print(table(["built by", "headings", *compared, "right now"], rows))
    for mode, ids in built.items():
        for heading, (mine, theirs) in enumerate(zip(ours[mode], ids, strict=False)):
            if mine != theirs:
                print(f"{mode}: heading {heading + 1}: ours {mine!r}, built {theirs!r}")


def _record(name: str, content: dict) -> None:
    versions = {"docusaurus": DOCUSAURUS_VERSION, "mkdocs": " ".join(MKDOCS_PACKAGES)}
    header = {"built_by": versions, "recorded_with": "bench/site_links.py --record"}
    (FIXTURES / name).write_text(json.dumps({**header, **content}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
