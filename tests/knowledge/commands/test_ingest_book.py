"""`ingest` on real book layouts: a Docusaurus fixture book, MkDocs, skipped files, pruning, unique keys."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import Chunk, SourceDocument

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "weather-book"
SITE = "https://weather.example.org"


def run(*args) -> str:
    out = StringIO()
    call_command("ingest", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


def write(root: Path, files: dict[str, str]) -> Path:
    """A book of ``files`` (path under ``root``: text)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def the_one_chunk() -> tuple[str, str]:
    """(document link, chunk text) of the only chunk ingested."""
    ((reference, text),) = SourceDocument.objects.values_list("reference", "chunks__text")
    return reference, text


@pytest.fixture
def book(tmp_path) -> Path:
    root = tmp_path / "weather-book"
    shutil.copytree(FIXTURE, root)
    return root


def test_a_docusaurus_book_loads_with_working_links(book, embedder_spy):
    out = run(book, "--site-url", f"{SITE}/")
    assert "0 failed" in out
    assert "11 skipped: 2 empty, 1 draft, 1 partial (not a page), 7 unsupported (.jpeg, .js, .json, .py, .yml)" in out
    assert "skipped" in out and "draft-notes.md: draft" in out
    documents = {d.reference: d for d in SourceDocument.objects.all()}
    assert SourceDocument.objects.filter(status="ready").count() == len(documents) == 30
    # Routes as Docusaurus builds them: prefixes stripped, index -> folder, slug and id honoured, spaces encoded.
    for route in [
        "/docs/",
        "/docs/sensors",
        "/docs/sensors/temperature-and-humidity",
        "/docs/sensors/wind%20and%20rain/rain",
        "/docs/logging",
        "/docs/software/calibrate",
        "/docs/software/firmware",
        "/blog/2024/03/05/first-winter",
        "/blog/coastal-station",
        "/blog/2025/01/10/solar-power",
        "/blog/pressure-map",
    ]:
        assert f"{SITE}{route}" in documents, route
    firmware = documents[f"{SITE}/docs/software/firmware"]
    assert firmware.url_style == "docusaurus"
    assert firmware.metadata["description"].startswith("Install and configure")
    text = " ".join(Chunk.objects.values_list("text", flat=True))
    leaks = ("import Tabs", "sidebar_position", "truncate", "<TabItem", "<Tabs", "values={[", ":::", "**", "](", "{/*")
    for leak in leaks:
        assert leak not in text, leak
    # A .md page of a Docusaurus site is MDX: its tabs read as their labels; its code keeps language and title.
    logging = "\n".join(Chunk.objects.filter(document=documents[f"{SITE}/docs/logging"]).values_list("text", flat=True))
    assert "macOS:\n\n```bash\nbrew install weatherlog\n```" in logging
    assert '```toml title="/etc/weatherlog/logger.toml"\nlisten = ' in logging
    assert "Windows:\n\nDownload the installer" in logging  # indented, but not code: MDX has no indented code
    anchors = set(
        Chunk.objects.filter(document=documents[f"{SITE}/docs/troubleshooting"]).values_list("anchor", flat=True)
    )
    assert {"too-warm", "15-the-ic-bus-hangs", "wind-speed-reads-zero"} <= anchors
    maintenance = Chunk.objects.filter(document=documents[f"{SITE}/docs/maintenance"])
    assert set(maintenance.values_list("section", flat=True)) == {
        "Maintenance",
        "Maintenance > Monthly checks",
        "Maintenance > The mast",
        "Maintenance > Updating the firmware",
        "Maintenance > Batteries",
        # A section made of subsections: its outline is a passage of its own, linked to it.
        "Maintenance > Seasonal jobs",
        "Maintenance > Seasonal jobs > Before the first frost",
        "Maintenance > Seasonal jobs > Before the spring storms",
        "Maintenance > Seasonal jobs > Before the summer heat",
        "Maintenance > Keeping a logbook",
        "Maintenance > Keeping a logbook > What you repaired or replaced",
        "Maintenance > Keeping a logbook > The readings before and after",
        "Maintenance > Keeping a logbook > Anything that looked odd",
    }
    seasonal = maintenance.get(section="Maintenance > Seasonal jobs")
    assert seasonal.anchor == "seasonal-jobs"
    assert seasonal.text == (
        "Seasonal jobs:\n\n• Before the first frost\n• Before the spring storms\n• Before the summer heat"
    )

    embedder_spy.reset()
    again = run(book, "--site-url", f"{SITE}/")
    assert "0 new or changed, 30 unchanged, 0 failed" in again
    assert embedder_spy.embedded == 0


def test_a_docusaurus_partial_is_read_where_a_page_uses_it_and_a_change_reindexes_that_page(book):
    run(book)
    firmware = SourceDocument.objects.get(reference=f"{SITE}/docs/software/firmware")
    chunks = Chunk.objects.filter(document=firmware)
    assert chunks.filter(section="Firmware > Installing MicroPython", text__contains="Disconnect the solar panel")
    partial = book / "docs" / "03-software" / "_usb-safety.mdx"
    partial.write_text(partial.read_text().replace("6 V", "7 V"))
    assert "1 new or changed, 29 unchanged, 0 failed" in run(book)
    assert Chunk.objects.filter(document=firmware, text__contains="push 7 V back").exists()


def test_mkdocs_snippets_are_read_where_a_page_includes_them(tmp_path):
    root = tmp_path / "garden-book"
    shutil.copytree(FIXTURE.parent / "garden-book", root)
    run(root)
    texts = "\n".join(Chunk.objects.values_list("text", flat=True))
    assert "The last spring frost in this handbook's region falls in mid-May" in texts  # a section of a file
    assert "first autumn frost" not in texts and "8<" not in texts
    assert '```toml title="valve.toml"\nrain_sensor = "gpio17"\nskip_when_wet = true\nmax_minutes = 20\n```' in texts
    (root / "includes" / "valve.toml").write_text('rain_sensor = "gpio17"\nmax_minutes = 25\n')
    assert "1 new or changed" in run(root)
    assert Chunk.objects.filter(text__contains="max_minutes = 25").exists()


def test_the_snippets_an_mkdocs_site_appends_to_every_page_resolve_its_reference_links(tmp_path):
    # Hatch's docs keep their link references and abbreviations in docs/.snippets, appended to every page by
    # pymdownx.snippets' auto_append: "[PEP 517][]" is a link on the site, never the brackets.
    root = write(
        tmp_path / "site",
        {
            "mkdocs.yml": "site_name: S\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path:\n"
            "        - docs/.snippets\n      auto_append:\n        - links.txt\n",
            "docs/.snippets/links.txt": "[PEP 517]: https://peps.python.org/pep-0517/\n[the standard]: https://x.org/\n",
            "docs/faq.md": "# FAQ\n\nThe build system follows [PEP 517][] and [the standard][].\n",
        },
    )
    run(root, "--site-url", "https://s.example.org/")
    assert Chunk.objects.get().text == "The build system follows PEP 517 and the standard."
    (root / "docs/.snippets/links.txt").write_text("[PEP 517]: https://peps.python.org/pep-0517/\n")
    assert "1 new or changed" in run(root, "--site-url", "https://s.example.org/")
    assert Chunk.objects.get().text == "The build system follows PEP 517 and [the standard][]."


def test_what_an_include_markdown_directive_includes_is_read_and_a_change_reindexes_the_page(tmp_path):
    root = tmp_path / "garden-book"
    shutil.copytree(FIXTURE.parent / "garden-book", root)
    run(root)
    compost = Chunk.objects.get(section="Compost > Gloves and tetanus")
    assert compost.anchor == "gloves-and-tetanus" and "tetanus bacteria" in compost.text
    texts = "\n".join(Chunk.objects.values_list("text", flat=True))
    assert "include-markdown" not in texts and "Sharp tools" not in texts  # outside its start and end
    included = root / "includes" / "safety.md"
    included.write_text(included.read_text().replace("Wear gloves", "Wear thick gloves"))
    assert "1 new or changed" in run(root)
    assert Chunk.objects.filter(section="Compost > Gloves and tetanus", text__contains="Wear thick gloves").exists()


def test_a_deleted_file_is_pruned_and_dry_run_only_lists(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    (root / "keep.md").write_text("# Keep\n\nThe heron waits in the shallows.\n")
    (root / "gone.md").write_text("# Gone\n\nThe otter swims at dusk.\n")
    run(root)
    (root / "gone.md").unlink()
    listed = run(root, "--prune", "--dry-run")
    assert "would remove “Gone”" in listed and SourceDocument.objects.count() == 2
    pruned = run(root, "--prune")
    assert "removed “Gone”" in pruned and "1 document(s) removed" in pruned
    assert list(SourceDocument.objects.values_list("title", flat=True)) == ["Keep"]
    # A page turned into a draft is no longer published: pruned too.
    (root / "keep.md").write_text("---\ndraft: true\n---\n# Keep\n\nThe heron waits in the shallows.\n")
    assert "removed “Keep”" in run(root, "--prune")
    assert not SourceDocument.objects.exists()


def test_pruning_never_touches_other_trees(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "page.md").write_text(f"# Page {name}\n\nText of tree {name} about lichens.\n")
    run(tmp_path / "a")
    run(tmp_path / "b")
    (tmp_path / "a" / "page.md").unlink()
    (tmp_path / "a" / "other.md").write_text("# Other\n\nMore text about mosses.\n")
    run(tmp_path / "a", "--prune")
    assert sorted(SourceDocument.objects.values_list("title", flat=True)) == ["Other", "Page b"]


def test_two_trees_with_the_same_folder_names_keep_their_own_documents(tmp_path):
    for name in ("book-one", "book-two"):
        docs = tmp_path / name / "docs"
        docs.mkdir(parents=True)
        (docs / "intro.md").write_text(f"# Intro to {name}\n\nThis is {name}.\n")
    run(tmp_path / "book-one" / "docs")
    run(tmp_path / "book-two" / "docs")
    assert sorted(SourceDocument.objects.values_list("title", flat=True)) == ["Intro to book-one", "Intro to book-two"]


def test_documents_from_the_old_key_scheme_are_adopted_without_embedding(tmp_path, embedder_spy):
    root = tmp_path / "guide"
    root.mkdir()
    (root / "page.md").write_text("# Page\n\nThe swift never lands for months.\n")
    run(root)
    document = SourceDocument.objects.get()
    SourceDocument.objects.filter(pk=document.pk).update(source_key="guide/page.md")  # as before this change
    embedder_spy.reset()
    out = run(root)
    assert "1 unchanged" in out and embedder_spy.embedded == 0
    assert SourceDocument.objects.get().pk == document.pk
    assert SourceDocument.objects.get().source_key == (root / "page.md").resolve().as_posix()


def test_empty_pages_are_skipped_not_failed(tmp_path):
    root = tmp_path / "book"
    root.mkdir()
    (root / "empty.md").write_text("   \n")
    (root / "front-only.md").write_text("---\ntitle: Soon\n---\n\n<!-- to be written -->\n")
    (root / "data.json").write_text("{}")
    out = run(root)  # would raise CommandError (exit 1) if anything had failed
    assert "Nothing to load (3 skipped: 2 empty, 1 unsupported (.json))" in out


def test_a_built_site_is_titled_and_linked_as_the_site_shows_it(tmp_path):
    built = Path(__file__).resolve().parents[2] / "fixtures" / "built-pages" / "docusaurus-firmware.html"
    root = write(
        tmp_path / "public",
        {
            "index.html": "<html><body><main><h1>Weather</h1><p>Build your own station.</p></main></body></html>",
            "404.html": "<html><body><main><h1>Page Not Found</h1><p>We could not find it.</p></main></body></html>",
            # A page with nothing but its title, one whose text its scripts write, one that asks not to be indexed.
            "docs/empty.html": "<html><body><nav>Docs</nav><article><h1>Soon</h1></article></body></html>",
            "app.html": '<html><body><div id="root"></div><script>render()</script></body></html>',
            "docs/draft.html": '<html><head><meta name="robots" content="noindex, nofollow"></head>'
            "<body><main><h1>Draft</h1><p>Not ready.</p></main></body></html>",
            # Sphinx's copy of a page's source, beside the page, and its search page.
            "_sources/index.rst.txt": "Weather\n=======\n\nBuild your own station.\n",
            "search.html": "<html><body><main><h1>Search</h1><p>Please activate JavaScript.</p></main></body></html>",
            # A moved page's stub, as redirect plugins write it.
            "docs/old-firmware.html": '<html><head><meta http-equiv="Refresh" content="0; URL=firmware/">'
            "<title>Redirecting...</title></head><body><p>Redirecting to firmware.</p></body></html>",
        },
    )
    (root / "docs" / "firmware").mkdir(parents=True)
    shutil.copy(built, root / "docs" / "firmware" / "index.html")
    # The blog's front page: each post's opening again (the posts are pages of their own).
    (root / "blog").mkdir()
    shutil.copy(built.parent / "docusaurus-blog-list.html", root / "blog" / "index.html")
    out = run(root, "--reference-base", "https://weather.example.org/")
    assert "2 documents (2 new or changed, 0 unchanged, 0 failed); 8 skipped: 3 not a page of the site, 2 empty" in out
    assert "1 unlisted" in out
    assert "1 redirects elsewhere" in out
    assert "1 a list of posts" in out
    # Its pages are linked from the site's root (the folder it was built into is not part of any address).
    firmware = SourceDocument.objects.get(title="Firmware")
    assert firmware.reference == "https://weather.example.org/docs/firmware/index.html"
    assert SourceDocument.objects.get(title="Weather").reference == "https://weather.example.org/index.html"
    anchors = dict(firmware.chunks.values_list("section", "anchor"))
    # The ids the built page gives its headings, custom ones too ({#main-loop} in the book's Markdown).
    assert anchors["Firmware > The main loop"] == "main-loop"
    assert anchors["Firmware > Installing MicroPython"] == "installing-micropython"


@pytest.mark.parametrize(
    ("config", "build"),
    [
        ({"docusaurus.config.js": "module.exports = {url: 'https://weather.example.org', baseUrl: '/'};"}, "build"),
        ({"mkdocs.yml": "site_name: Weather\nsite_url: https://weather.example.org/\n"}, "site"),
    ],
)
def test_a_site_built_inside_its_project_is_read_as_a_built_site_published_where_the_project_says(
    tmp_path, config, build
):
    # `ingest build/` in a Docusaurus project (`ingest site/` in an MkDocs one): the config beside the build
    # describes the Markdown sources, not the build, and says where the site is published.
    project = write(
        tmp_path / "website",
        {
            **config,
            "docs/intro.md": "# Intro\n\nThe source of the page.\n",
            f"{build}/index.html": "<html><body><main><h1>Weather</h1><p>Build a station.</p></main></body></html>",
            f"{build}/docs/intro/index.html": "<html><body><main><h1>Intro</h1><p>A page.</p></main></body></html>",
        },
    )
    out = run(project / build)
    assert "2 documents (2 new or changed, 0 unchanged, 0 failed)" in out
    assert SourceDocument.objects.get(title="Intro").reference == "https://weather.example.org/docs/intro/index.html"


def test_a_folder_of_saved_pages_links_them_by_their_paths(tmp_path):
    root = write(tmp_path / "saved", {"rivers.html": "<html><body><h1>Rivers</h1><p>The Mackenzie.</p></body></html>"})
    run(root, "--reference-base", "https://example.org/")
    assert the_one_chunk() == ("https://example.org/saved/rivers.html", "The Mackenzie.")
    assert SourceDocument.objects.get().title == "Rivers"


def test_mkdocs_links(tmp_path):
    (tmp_path / "site" / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "site" / "mkdocs.yml").write_text("site_name: Site\n")
    (tmp_path / "site" / "docs" / "index.md").write_text("# Home\n\n## Getting Started!\n\nHello there.\n")
    (tmp_path / "site" / "docs" / "guide" / "setup.md").write_text("# Setup\n\n## Setup\n\nInstall it.\n")
    run(tmp_path / "site", "--site-url", "https://docs.example.org/")
    links = {(d.reference, c.anchor) for d in SourceDocument.objects.all() for c in d.chunks.all()}
    assert links == {
        ("https://docs.example.org/", "getting-started"),
        ("https://docs.example.org/guide/setup/", "setup_1"),
    }


def test_the_themes_overrides_inside_docs_are_not_read_as_pages(tmp_path):
    # Starlette's docs keep Material's overrides in docs/overrides (theme.custom_dir): Jinja templates whose
    # announcement banner would otherwise be a "page" answering questions about observability.
    root = write(
        tmp_path / "site",
        {
            "mkdocs.yml": "site_name: S\ntheme:\n  name: material\n  custom_dir: docs/overrides\n",
            "docs/index.md": "# Home\n\nThe little ASGI library that shines.\n",
            "docs/overrides/main.html": '{% extends "base.html" %}\n{% block announce %}<a href="x">Logfire is the '
            "recommended way to add observability.</a>{% endblock %}\n",
            "docs/overrides/partials/nav.html": "{% import 'partials/nav-item.html' as item %}<nav>{{ nav }}</nav>\n",
        },
    )
    out = run(root, "--site-url", "https://s.example.org/")
    assert list(SourceDocument.objects.values_list("reference", flat=True)) == ["https://s.example.org/"]
    assert "2 not on the site (a template of the theme: its custom_dir)" in out


def test_mkdocs_anchors_follow_the_sites_toc_slugify_and_a_change_of_it_reindexes(tmp_path):
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "docs" / "index.md").write_text("# Accueil\n\n## Café crème\n\nUn café.\n\n## 日本語\n\nテキスト。\n")
    unicode_toc = (
        "site_name: S\nmarkdown_extensions:\n  - toc:\n      slugify: !!python/object/apply:pymdownx.slugs.slugify\n"
        "        kwds:\n          case: lower\n"
    )
    (site / "mkdocs.yml").write_text(unicode_toc)
    run(site, "--site-url", "https://m.example.org/")
    assert set(Chunk.objects.values_list("anchor", flat=True)) == {"café-crème", "日本語"}
    # Back to MkDocs' default: the same text, other anchors (ASCII only; a heading with none left gets _1).
    (site / "mkdocs.yml").write_text("site_name: S\n")
    assert "1 new or changed" in run(site, "--site-url", "https://m.example.org/")
    assert set(Chunk.objects.values_list("anchor", flat=True)) == {"cafe-creme", "_1"}
    assert SourceDocument.objects.get().heading_ids == {}


def test_links_follow_the_route_bases_and_url_style_the_sites_config_sets(tmp_path):
    # A docs-only Docusaurus site (docs at the site's root, trailing slashes) and an MkDocs site that publishes
    # page files, not folders: links to /docs/... or /setup/ would not resolve on either.
    docusaurus, mkdocs = tmp_path / "docusaurus", tmp_path / "mkdocs"
    for page in (docusaurus / "docs" / "01-setup.md", mkdocs / "docs" / "guide" / "setup.md"):
        page.parent.mkdir(parents=True)
        page.write_text("# Setup\n\n## First steps\n\nInstall it.\n")
    (docusaurus / "docusaurus.config.js").write_text(
        "module.exports = {url: 'https://d.example.org', baseUrl: '/', trailingSlash: true,\n"
        "  presets: [['classic', {docs: {routeBasePath: '/', sidebarPath: './sidebars.js'}, blog: false}]]};\n"
    )
    (mkdocs / "mkdocs.yml").write_text("site_name: S\nsite_url: https://m.example.org/\nuse_directory_urls: false\n")
    run(docusaurus)
    run(mkdocs)
    links = {(d.reference, c.anchor) for d in SourceDocument.objects.all() for c in d.chunks.all()}
    assert links == {
        ("https://d.example.org/setup/", "first-steps"),
        ("https://m.example.org/guide/setup.html", "first-steps"),
    }
    run(docusaurus, "--docs-route", "handbook")  # what ingest is told wins over the config
    assert SourceDocument.objects.filter(reference="https://d.example.org/handbook/setup/").exists()


def test_a_docusaurus_site_set_to_detect_reads_md_as_commonmark_and_a_change_of_setting_reindexes(tmp_path):
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    config = "module.exports = {url: 'https://d.example.org', baseUrl: '/', markdown: {format: '%s'}};"
    (site / "docusaurus.config.js").write_text(config % "detect")
    (site / "docs" / "build.md").write_text("# Build\n\nBuild it with make:\n\n    make all\n")
    (site / "docs" / "tabs.mdx").write_text("# Tabs\n\nimport Tabs from '@theme/Tabs';\n\nChoose a tab.\n")
    run(site)
    texts = dict(Chunk.objects.values_list("document__file_name", "text"))
    # CommonMark: an indented block is code; MDX: an import is not text.
    assert texts == {"build.md": "Build it with make:\n\n```\nmake all\n```", "tabs.mdx": "Choose a tab."}
    assert set(SourceDocument.objects.values_list("markdown_format", flat=True)) == {"detect"}
    (site / "docusaurus.config.js").write_text(config % "mdx")
    out = run(site)
    assert "1 new or changed, 1 unchanged" in out, out  # both read again; the .mdx page reads the same
    assert Chunk.objects.get(document__file_name="build.md").text == "Build it with make:\n\nmake all"


def test_pages_the_site_does_not_publish_are_skipped_with_the_reason(tmp_path):
    mkdocs, docusaurus = tmp_path / "mkdocs", tmp_path / "docusaurus"
    pages = [mkdocs / "docs" / "guide.md", mkdocs / "docs" / "drafts" / "idea.md"]
    pages += [docusaurus / "docs" / "guide.md", docusaurus / "docs" / "_shared" / "note.md"]
    for page in pages:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("# Page\n\nSome text to read.\n")
    (mkdocs / "mkdocs.yml").write_text("site_name: S\nexclude_docs: |\n  drafts/\n")
    (docusaurus / "docusaurus.config.js").write_text("module.exports = {url: 'https://d.example.org', baseUrl: '/'};")
    out = run(mkdocs) + run(docusaurus)
    assert "drafts/idea.md: not on the site (left out of the build by exclude_docs" in out, out
    assert "_shared/note.md: not on the site (in a folder whose name starts with _" in out, out
    references = sorted(SourceDocument.objects.values_list("reference", flat=True))
    assert references == ["/guide/", "https://d.example.org/docs/guide"]


def test_mkdocs_admonitions_and_tabs_are_indexed_as_the_site_shows_them(tmp_path):
    (tmp_path / "site" / "docs").mkdir(parents=True)
    (tmp_path / "site" / "mkdocs.yml").write_text("site_name: Site\n")
    (tmp_path / "site" / "docs" / "install.md").write_text(
        '# Install\n\n!!! note "Before you start"\n    You need Python 3.11 or later.\n\n'
        '=== "pip"\n\n    ```bash\n    pip install tool\n    ```\n'
    )
    run(tmp_path / "site", "--site-url", "https://docs.example.org/")
    (text,) = Chunk.objects.values_list("text", flat=True)
    assert text == "Before you start: You need Python 3.11 or later.\n\npip:\n\n```bash\npip install tool\n```"


def test_without_site_url_the_links_use_the_address_in_the_sites_config(book):
    run(book)  # docusaurus.config.js: url 'https://weather.example.org', baseUrl '/'
    references = set(SourceDocument.objects.values_list("reference", flat=True))
    assert f"{SITE}/docs/maintenance" in references
    assert all(reference.startswith(f"{SITE}/") for reference in references)


def test_docs_beside_the_sites_folder_are_loaded_with_their_partials(monorepo_book):
    repo = monorepo_book
    out = run(repo / "website")
    assert "0 failed" in out and "1 partial (not a page)" in out
    documents = {d.reference: d for d in SourceDocument.objects.all()}
    assert set(documents) == {
        "https://mono.example.org/docs/intro",
        "https://mono.example.org/docs/guide/setup",
        "https://mono.example.org/about",
    }
    setup = documents["https://mono.example.org/docs/guide/setup"]
    text = "\n".join(Chunk.objects.filter(document=setup).values_list("text", flat=True))
    assert "Tighten the four bolts by hand" in text and "import" not in text
    assert "0 new or changed, 3 unchanged" in run(repo / "website")
    (repo / "docs" / "intro.md").unlink()
    assert "removed “Introduction”" in run(repo / "website", "--prune")
    assert SourceDocument.objects.count() == 2


def test_a_versioned_site_is_read_in_the_version_readers_see_first(tmp_path):
    site = write(
        tmp_path / "versioned",
        {
            "docusaurus.config.js": (
                "module.exports = {url: 'https://v.example.org', baseUrl: '/', presets: [['classic', {docs: {}}]]};\n"
            ),
            "versions.json": '["2.0", "1.0"]',
            "docs/install.md": "# Install\n\nRun the 3.0 installer (not released yet).\n",
            "versioned_docs/version-2.0/install.md": "# Install\n\nRun the 2.0 installer.\n",
            "versioned_docs/version-1.0/install.md": "# Install\n\nRun the 1.0 installer.\n",
        },
    )
    out = run(site)
    other = "not on the site (another version of the docs than the site shows first)"
    assert f"2 {other}" in out
    assert f"docs/install.md: {other}" in out
    assert the_one_chunk() == ("https://v.example.org/docs/install", "Run the 2.0 installer.")


def test_a_multilingual_mkdocs_site_is_read_in_its_default_language(tmp_path):
    site = write(
        tmp_path / "i18n",
        {
            "mkdocs.yml": "site_name: S\nsite_url: https://m.example.org/\nplugins:\n  - i18n:\n      languages:\n"
            "        - {locale: en, default: true, name: English}\n        - {locale: fr, name: Français}\n",
            "docs/guide/setup.en.md": "# Setup\n\nBolt the mast to the roof.\n",
            "docs/guide/setup.fr.md": "# Installation\n\nFixez le mât sur le toit.\n",
        },
    )
    reason = "not on the site (the fr translation; the book is read in its site's default language, en)"
    assert f"docs/guide/setup.fr.md: {reason}" in run(site)
    reference, text = the_one_chunk()
    assert reference == "https://m.example.org/guide/setup/" and "Bolt the mast" in text


def test_mkdocs_pages_are_titled_as_the_site_titles_them(tmp_path):
    site = write(
        tmp_path / "titled",
        {
            "mkdocs.yml": "site_name: S\nnav:\n  - index.md\n  - Install the station: guide/setup.md\n",
            "docs/index.md": "Welcome to the weather station handbook.\n",
            "docs/guide/setup.md": "# Setup\n\nBolt the mast to the roof.\n",
        },
    )
    run(site)
    titles = dict(SourceDocument.objects.values_list("reference", "title"))
    assert titles == {"/": "Home", "/guide/setup/": "Install the station"}


def test_docusaurus_pages_without_a_title_are_titled_as_the_site_titles_them(tmp_path):
    # Docusaurus shows a doc's id (or a post's name without its date) as the heading of a page with neither a
    # front-matter title nor an H1; "01 wind" or "2024 03 05 first winter" would name no page the reader sees.
    site = write(
        tmp_path / "untitled",
        {
            "docusaurus.config.js": "module.exports = {url: 'https://d.example.org', baseUrl: '/'};",
            "docs/01-wind.md": "Bolt the vane to the mast.\n",
            "docs/02-rain.md": "---\nid: rain-gauge\n---\n\nLevel the gauge.\n",
            "docs/03-sun.md": "# Sunshine\n\nShade the sensor.\n",
            "blog/2024-03-05-first-winter.md": "The station survived its first winter.\n",
        },
    )
    run(site)
    titles = dict(SourceDocument.objects.values_list("reference", "title"))
    assert titles == {
        "https://d.example.org/docs/wind": "wind",
        "https://d.example.org/docs/rain-gauge": "rain-gauge",
        "https://d.example.org/docs/sun": "Sunshine",
        "https://d.example.org/blog/2024/03/05/first-winter": "first-winter",
    }


def test_skipped_files_are_listed_a_few_per_reason(tmp_path):
    from knowledge.management.commands.ingest import SKIPPED_SHOWN

    (tmp_path / "notes").mkdir()
    for number in range(SKIPPED_SHOWN + 5):
        (tmp_path / "notes" / f"empty-{number:02d}.md").write_text("")
    (tmp_path / "notes" / "page.md").write_text("# Page\n\nThe kestrel hovers.\n")
    out = run(tmp_path / "notes")
    assert out.count(".md: empty\n") == SKIPPED_SHOWN
    assert "skipped 5 more: empty" in out and f"{SKIPPED_SHOWN + 5} skipped: {SKIPPED_SHOWN + 5} empty" in out


def test_files_of_a_site_that_are_not_pages_link_where_the_site_publishes_them(tmp_path):
    from tests.pdf_factory import make_pdf

    site = tmp_path / "site"
    for folder in ("docs/files", "static/files", "notes"):
        (site / folder).mkdir(parents=True)
    (site / "docusaurus.config.js").write_text("module.exports = {url: 'https://s.example.org', baseUrl: '/'};\n")
    (site / "docs" / "intro.md").write_text("# Intro\n\nThe station logs every minute.\n")
    (site / "static" / "files" / "datasheet.pdf").write_bytes(make_pdf(["The sensor draws 0.8 mA when asleep."]))
    (site / "docs" / "files" / "wiring.txt").write_text("Red to 3V3, black to ground.\n")
    (site / "notes" / "todo.txt").write_text("Buy more solder.\n")
    (site / "docs" / "old.markdown").write_text("# Old\n\nNot a page on a Docusaurus site.\n")
    out = run(site)
    assert "0 failed" in out
    assert "notes/todo.txt: not on the site (outside the site's content and static folders)" in out
    assert "old.markdown: not on the site (not a page (docusaurus builds pages from .md, .mdx files))" in out
    links = dict(SourceDocument.objects.values_list("file_name", "reference"))
    assert links == {
        "intro.md": "https://s.example.org/docs/intro",
        "datasheet.pdf": "https://s.example.org/files/datasheet.pdf",
        "wiring.txt": "",  # published only under a hashed name, when a page links it
    }


def notebook_file(*cells: tuple[str, str], tags: dict[int, list[str]] | None = None) -> str:
    """A notebook of (cell type, source) cells; a code cell prints its source's last line."""
    import json

    def cell(index: int, kind: str, source: str) -> dict:
        metadata = {"tags": (tags or {})[index]} if index in (tags or {}) else {}
        if kind == "markdown":
            return {"cell_type": "markdown", "metadata": metadata, "source": source}
        printed = {"output_type": "stream", "name": "stdout", "text": source.splitlines()[-1] + "\n"}
        return {"cell_type": "code", "execution_count": 1, "metadata": metadata, "outputs": [printed], "source": source}

    cells_json = [cell(index, kind, source) for index, (kind, source) in enumerate(cells)]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells_json})


def test_notebooks_of_an_mkdocs_site_with_mkdocs_jupyter_are_its_pages(tmp_path):
    site = write(
        tmp_path / "lab",
        {
            "mkdocs.yml": (
                "site_name: Lab\nsite_url: https://lab.example.org/\n"
                "nav:\n  - Home: index.md\n  - Counting tips in the nav: rain.ipynb\n  - Wind speeds: wind.ipynb\n"
                "plugins:\n  - mkdocs-jupyter:\n      ignore: ['drafts/*']\n"
                "      remove_tag_config:\n        remove_cell_tags: [hide]\n"
            ),
            "docs/index.md": "# Home\n\nThe station's notebooks.\n",
            "docs/rain.ipynb": notebook_file(
                ("markdown", "# Rain gauge notebook\n\n## Counting tips\n\nEach tip is 0.2 mm of rain."),
                ("code", "tips = 42\nprint(tips * 0.2)"),
                ("code", "secret = 'hidden by its tag'"),
                ("markdown", "## Calibration\n\nPour in a litre and count the tips."),
                ("markdown", "## Counting tips\n\nA second section of the same name."),
                tags={2: ["hide"]},
            ),
            "docs/wind.ipynb": notebook_file(("markdown", "## Gusts\n\nA gust is the top three-second speed.")),
            "docs/drafts/storm.ipynb": notebook_file(("markdown", "# Storm draft\n\nNot a page: ignored.")),
            # A script is a page too, read by Jupytext; one outside docs_dir is no page of the site.
            "docs/scripts/tips.py": "# %% [markdown]\n# # Tips in a script\n\n# %%\nprint(42 * 0.2)\n",
            "hooks/build.py": "print('not a page')\n",
        },
    )
    out = run(site)
    assert "0 failed" in out
    documents = {d.file_name: d for d in SourceDocument.objects.all()}
    # The notebook's first H1 names its page, over the nav's title; without one, the nav's title does.
    assert {name: (d.title, d.reference) for name, d in documents.items()} == {
        "index.md": ("Home", "https://lab.example.org/"),
        "rain.ipynb": ("Rain gauge notebook", "https://lab.example.org/rain/"),
        "wind.ipynb": ("Wind speeds", "https://lab.example.org/wind/"),
        # An ignored notebook is a file MkDocs copies to the site as it is.
        "storm.ipynb": ("Storm draft", "https://lab.example.org/drafts/storm.ipynb"),
        "tips.py.ipynb": ("Tips in a script", "https://lab.example.org/scripts/tips/"),
    }
    assert list(documents["tips.py.ipynb"].chunks.values_list("text", flat=True)) == ["```python\nprint(42 * 0.2)\n```"]
    assert "hooks/build.py: not on the site (outside the site's docs/ folder)" in out
    rain = documents["rain.ipynb"]
    chunks = list(rain.chunks.order_by("position").values_list("anchor", "text"))
    # nbconvert gives a repeated heading the same id again (MkDocs would make it counting-tips_1).
    assert [anchor for anchor, _ in chunks] == ["counting-tips", "calibration", "counting-tips"]
    assert chunks[0][1] == (
        "Each tip is 0.2 mm of rain.\n\n```python\ntips = 42\nprint(tips * 0.2)\n```\n\n"
        "```output\nprint(tips * 0.2)\n```"
    )
    assert "hidden by its tag" not in rain.extracted_text
    assert (rain.mime_type, rain.heading_ids) == ("application/x-ipynb+json", {"unique": False})


def test_notebooks_not_made_pages_are_read_as_files(tmp_path):
    files = {"docs/index.md": "# Home\n\nHello.\n", "docs/rain.ipynb": notebook_file(("markdown", "# Rain\n\nTips."))}
    site = write(tmp_path / "plain-mkdocs", {"mkdocs.yml": "site_name: S\nsite_url: https://s.example.org/\n", **files})
    untitled = write(
        tmp_path / "titles",
        {
            "mkdocs.yml": "site_name: T\nplugins:\n  - mkdocs-jupyter:\n      ignore_h1_titles: true\n",
            "docs/rain-gauge.ipynb": notebook_file(("markdown", "# Rain\n\nTips.")),
        },
    )
    run(site)
    run(untitled)
    run(write(tmp_path / "notes", {"rain.ipynb": notebook_file(("markdown", "# Rain in a folder\n\nTips."))}))
    titles = dict(SourceDocument.objects.values_list("reference", "title"))
    assert titles == {
        "https://s.example.org/": "Home",
        "https://s.example.org/rain.ipynb": "Rain",  # without the plugin, MkDocs copies the notebook as it is
        "/rain-gauge/": "Rain gauge",  # with ignore_h1_titles, the page is named as MkDocs names it
        "notes/rain.ipynb": "Rain in a folder",  # a folder of files: titled by its first H1
    }


def test_mkdocstrings_pages_read_the_api_documentation_of_the_books_code(tmp_path):
    site = write(
        tmp_path / "api",
        {
            "mkdocs.yml": (
                "site_name: A\nsite_url: https://a.example.org/\nplugins:\n  - mkdocstrings:\n"
                "      handlers:\n        python:\n          paths: [src]\n"
            ),
            "src/valve.py": 'def open_valve(minutes: int = 10) -> bool:\n    """Open the drip line for a while."""\n',
            "docs/api.md": (
                "# Valve API\n\nThe controller opens the drip line.\n\n::: valve\n    options:\n"
                "      heading_level: 3\n\n::: requests.get\n"
            ),
        },
    )
    run(site)
    chunks = list(Chunk.objects.order_by("position").values_list("section", "anchor", "text"))
    # The site's ids for API headings are the objects' paths; what the book's code does not hold is left out.
    assert chunks == [
        ("Valve API", "", "The controller opens the drip line."),
        ("Valve API > open_valve(minutes=10)", "valve.open_valve", "Open the drip line for a while."),
    ]
    # A cross-reference to an API object (mkdocs-autorefs, which mkdocstrings brings) reads as its text, on a
    # page and in a docstring.
    (site / "docs/api.md").write_text("# Valve API\n\nCall [`open_valve`][valve.open_valve] first.\n\n::: valve\n")
    (site / "src/valve.py").write_text(
        'def open_valve(minutes: int = 10) -> bool:\n    """Open the drip line; see [valve.close][]."""\n'
    )
    run(site)
    texts = list(Chunk.objects.order_by("position").values_list("text", flat=True))
    assert texts == ["Call open_valve first.", "Open the drip line; see valve.close."]


def test_a_broken_notebook_fails_with_the_reason_and_the_rest_of_the_book_loads(tmp_path, capsys):
    site = write(
        tmp_path / "broken",
        {
            "mkdocs.yml": "site_name: B\nplugins:\n  - mkdocs-jupyter\n",
            "docs/index.md": "# Home\n\nThe station's notebooks.\n",
            "docs/truncated.ipynb": '{"cells": [{"cell_type": "markdown", "source": "# Cut',
        },
    )
    with pytest.raises(CommandError, match="1 file"):
        run(site)
    printed = "".join(capsys.readouterr())
    assert "“truncated.ipynb” is not a Jupyter notebook that can be read: it is not valid JSON" in printed
    assert list(SourceDocument.objects.values_list("file_name", "status")) == [("index.md", "ready")]
