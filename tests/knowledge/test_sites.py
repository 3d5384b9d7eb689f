"""Citation links as the site generators build them: routes and heading anchors, rule by rule.

Each expected value follows the generator's documented behaviour (Docusaurus docs/blog routing and
github-slugger; MkDocs directory URLs and Python-Markdown's toc slugify), not our own output.
"""

import json
from pathlib import PurePosixPath

import pytest

from knowledge.autodoc import MkDocstrings
from knowledge.markdown import parse_markdown
from knowledge.notebooks import MkDocsJupyter, NotebookView
from knowledge.sites import (
    SiteLayout,
    asset_reference,
    configured_site_url,
    detect_site,
    docusaurus_outer_folders,
    docusaurus_page_title,
    mkdocs_page_title,
    mkdocs_snippet_paths,
    page_reference,
    site_layout,
    strip_number_prefix,
)
from knowledge.slugs import HeadingIds, github_slug, heading_slugger, material_slug, mkdocs_slug

SITE = "https://book.example.org/"

ROUTES = [
    # (style, path relative to the site root, front matter, expected link)
    ("docusaurus", "docs/intro.md", {}, "https://book.example.org/docs/intro"),
    ("docusaurus", "docs/01-intro.md", {}, "https://book.example.org/docs/intro"),
    ("docusaurus", "docs/01-basics/02-motion.md", {}, "https://book.example.org/docs/basics/motion"),
    ("docusaurus", "docs/003 - Setup.md", {}, "https://book.example.org/docs/Setup"),
    ("docusaurus", "docs/2021-01-31-notes.md", {}, "https://book.example.org/docs/2021-01-31-notes"),
    ("docusaurus", "docs/1.2-upgrade.md", {}, "https://book.example.org/docs/1.2-upgrade"),
    ("docusaurus", "docs/index.md", {}, "https://book.example.org/docs/"),
    ("docusaurus", "docs/02-guides/index.md", {}, "https://book.example.org/docs/guides"),
    ("docusaurus", "docs/02-guides/README.md", {}, "https://book.example.org/docs/guides"),
    ("docusaurus", "docs/guides/guides.md", {}, "https://book.example.org/docs/guides"),
    ("docusaurus", "docs/a/b.md", {"slug": "/custom"}, "https://book.example.org/docs/custom"),
    ("docusaurus", "docs/a/b.md", {"slug": "relative"}, "https://book.example.org/docs/a/relative"),
    ("docusaurus", "docs/a/01-b.md", {"id": "bee"}, "https://book.example.org/docs/a/bee"),
    (
        "docusaurus",
        "docs/01-basics/02-motion.md",
        {"parse_number_prefixes": False},
        "https://book.example.org/docs/01-basics/02-motion",
    ),
    ("docusaurus", "docs/a/index.md", {"slug": "/"}, "https://book.example.org/docs/"),
    (
        "docusaurus",
        "docs/Wind and Rain/rain gauge.md",
        {},
        "https://book.example.org/docs/Wind%20and%20Rain/rain%20gauge",
    ),
    ("docusaurus", "docs/notes.mdx", {}, "https://book.example.org/docs/notes"),
    ("docusaurus", "blog/2024-03-05-first-winter.md", {}, "https://book.example.org/blog/2024/03/05/first-winter"),
    ("docusaurus", "blog/2024-03-05-hello/index.md", {}, "https://book.example.org/blog/2024/03/05/hello"),
    ("docusaurus", "blog/2024-03-05-x.md", {"slug": "coast"}, "https://book.example.org/blog/coast"),
    ("docusaurus", "blog/2024-03-05-x.md", {"slug": "/coast"}, "https://book.example.org/blog/coast"),
    ("docusaurus", "blog/welcome.md", {}, "https://book.example.org/blog/welcome"),
    ("docusaurus", "src/pages/about.md", {}, "https://book.example.org/about"),
    ("docusaurus", "src/pages/index.md", {}, "https://book.example.org/"),
    ("docusaurus", "src/pages/guide/index.mdx", {}, "https://book.example.org/guide"),
    ("mkdocs", "docs/index.md", {}, "https://book.example.org/"),
    ("mkdocs", "docs/setup.md", {}, "https://book.example.org/setup/"),
    ("mkdocs", "docs/guide/index.md", {}, "https://book.example.org/guide/"),
    ("mkdocs", "docs/guide/README.md", {}, "https://book.example.org/guide/"),
    ("mkdocs", "docs/guide/first steps.md", {}, "https://book.example.org/guide/first%20steps/"),
]


@pytest.mark.parametrize(("style", "path", "front_matter", "expected"), ROUTES)
def test_page_links_follow_the_generator(style, path, front_matter, expected):
    layout = SiteLayout(base_url=SITE)
    link, why = page_reference(style=style, path=PurePosixPath(path), front_matter=front_matter, layout=layout)
    assert (link, why) == (expected, "")


def test_docs_route_base_is_configurable():
    layout = SiteLayout(docs_route="book")
    link, _ = page_reference(style="docusaurus", path=PurePosixPath("docs/01-intro.md"), front_matter={}, layout=layout)
    assert link == "/book/intro"


DOCUSAURUS_CONFIG = """
const config = {
  url: 'https://book.example.org',
  baseUrl: '/',
  trailingSlash: %(slash)s,
  themeConfig: {docs: {sidebar: {hideable: true}}},
  presets: [
    [
      'classic',
      ({
        docs: {
          sidebarPath: './sidebars.js',
          versions: {current: {label: 'Next', banner: 'none'}},
          routeBasePath: '%(docs)s',
        },
        blog: {routeBasePath: 'news', feedOptions: {type: 'all'}},
        theme: {customCss: './src/css/custom.css'},
      }),
    ],
  ],
  themeConfig: {navbar: {items: [{to: '/blog', label: 'Blog'}, {type: 'docSidebar', routeBasePath: 'x'}]}},
};
"""

LAID_OUT = [
    # (config values, path, expected link): each follows Docusaurus's routeBasePath and trailingSlash options.
    ({"slash": "undefined", "docs": "/"}, "docs/01-intro.md", "https://book.example.org/intro"),
    ({"slash": "undefined", "docs": "/"}, "docs/index.md", "https://book.example.org/"),
    ({"slash": "undefined", "docs": "guide"}, "docs/a/b.md", "https://book.example.org/guide/a/b"),
    ({"slash": "undefined", "docs": "guide"}, "blog/welcome.md", "https://book.example.org/news/welcome"),
    ({"slash": "true", "docs": "docs"}, "docs/a/b.md", "https://book.example.org/docs/a/b/"),
    ({"slash": "true", "docs": "docs"}, "src/pages/about.md", "https://book.example.org/about/"),
    ({"slash": "false", "docs": "docs"}, "docs/index.md", "https://book.example.org/docs"),
    ({"slash": "false", "docs": "/"}, "docs/index.md", "https://book.example.org/"),
]


@pytest.mark.parametrize(("values", "path", "expected"), LAID_OUT)
def test_docusaurus_routes_follow_the_configs_route_bases_and_trailing_slash(tmp_path, values, path, expected):
    (tmp_path / "docusaurus.config.ts").write_text(DOCUSAURUS_CONFIG % values)
    layout = site_layout(style="docusaurus", root=tmp_path)
    assert page_reference(style="docusaurus", path=PurePosixPath(path), front_matter={}, layout=layout) == (
        expected,
        "",
    )


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [("", ""), ("markdown: {mermaid: true, format: 'detect'},", "detect"), ("markdown: {format: 'md'},", "md")],
)
def test_a_docusaurus_sites_markdown_format_comes_from_its_config(tmp_path, markdown, expected):
    (tmp_path / "docusaurus.config.js").write_text(f"module.exports = {{\n  {markdown}\n  url: 'https://a.example'}};")
    assert site_layout(style="docusaurus", root=tmp_path).markdown_format == expected


def test_a_docs_route_given_to_ingest_wins_over_the_config(tmp_path):
    (tmp_path / "docusaurus.config.js").write_text(DOCUSAURUS_CONFIG % {"slash": "undefined", "docs": "/"})
    assert site_layout(style="docusaurus", root=tmp_path, docs_route="/handbook/").docs_route == "handbook"
    assert site_layout(style="docusaurus", root=tmp_path).docs_route == ""
    (tmp_path / "docusaurus.config.js").write_text("module.exports = {url: 'https://a.example', baseUrl: '/'};")
    assert site_layout(style="docusaurus", root=tmp_path) == SiteLayout(base_url="https://a.example/")


def test_docusaurus_docs_folders_of_the_preset_and_of_more_docs_plugins_have_their_own_routes(tmp_path):
    (tmp_path / "docusaurus.config.js").write_text(
        "module.exports = {\n  presets: [['classic', {docs: {path: 'documentation', routeBasePath: 'docs'},\n"
        "    blog: {path: 'news', routeBasePath: '/updates/'}}]],\n  plugins: [\n"
        "    ['@docusaurus/plugin-content-docs', {id: 'community', path: 'community', routeBasePath: 'people'}],\n"
        "    [\"@docusaurus/plugin-content-docs\", {id: 'api', path: 'community/api'}],\n  ],\n};\n"
    )
    layout = site_layout(style="docusaurus", root=tmp_path)
    expected = {
        "documentation/01-intro.md": "/docs/intro",
        "community/support.md": "/people/support",
        "community/api/client.md": "/docs/client",  # the deeper folder is its own instance (default route)
        "news/welcome.md": "/updates/welcome",
        "docs/old.md": None,  # not a docs folder of this site
    }
    assert docusaurus_links(layout, expected) == expected


def docusaurus_links(layout: SiteLayout, paths) -> dict[str, str | None]:
    """The link of each site-relative path."""
    return {
        path: page_reference(style="docusaurus", path=PurePosixPath(path), front_matter={}, layout=layout)[0]
        for path in paths
    }


def test_docs_beside_a_docusaurus_sites_folder_are_its_pages(tmp_path):
    # A monorepo's website/ with its docs in ../docs (as Jest, Prettier and React Native keep theirs).
    site = tmp_path / "repo" / "website"
    site.mkdir(parents=True)
    for folder in ("docs", "community", "elsewhere"):
        (tmp_path / "repo" / folder).mkdir()
    (tmp_path / "outside").mkdir()
    (site / "docusaurus.config.js").write_text(
        "module.exports = {\n  presets: [['classic', {docs: {path: '../docs'}, blog: {path: './blog'}}]],\n"
        "  plugins: [['@docusaurus/plugin-content-docs', {id: 'c', path: '../community', routeBasePath: 'c'}],\n"
        "    ['@docusaurus/plugin-content-docs', {id: 'o', path: '../../outside', routeBasePath: 'o'}],\n"
        "    ['@docusaurus/plugin-content-docs', {id: 'm', path: '../missing', routeBasePath: 'm'}]],\n};\n"
    )
    layout = site_layout(style="docusaurus", root=site)
    # Only folders beside the site's own, and only those that exist: the config cannot point a load anywhere.
    assert docusaurus_outer_folders(layout=layout, root=site) == [
        tmp_path / "repo" / "community",
        tmp_path / "repo" / "docs",
    ]
    assert docusaurus_links(
        layout, ["../docs/intro.md", "../docs/guide/index.md", "../community/meetups.md", "blog/hello.md"]
    ) == {
        "../docs/intro.md": "/docs/intro",
        "../docs/guide/index.md": "/docs/guide",
        "../community/meetups.md": "/c/meetups",
        "blog/hello.md": "/blog/hello",
    }


OTHER_VERSION = "another version of the docs than the site shows first"
VERSIONED = [
    # (docs options, versions.json, expected link of each file or why it is not read): as Docusaurus's
    # plugin-content-docs picks the version it serves at the route base (lastVersion, else the newest released).
    (
        "{}",
        ["2.0", "1.0"],
        {
            "versioned_docs/version-2.0/intro.md": "/docs/intro",
            "docs/intro.md": OTHER_VERSION,
            "versioned_docs/version-1.0/intro.md": OTHER_VERSION,
        },
    ),
    (
        "{lastVersion: 'current', versions: {current: {label: 'Canary'}}}",
        ["2.0"],
        {
            "docs/intro.md": "/docs/intro",
            "versioned_docs/version-2.0/intro.md": OTHER_VERSION,
        },
    ),
    (
        "{versions: {'2.0': {path: 'stable', label: '2.0 (stable)'}}, routeBasePath: 'guide'}",
        ["2.0"],
        {"versioned_docs/version-2.0/a/b.md": "/guide/stable/a/b"},
    ),
    (
        "{onlyIncludeVersions: ['current', '1.0']}",
        ["2.0", "1.0"],
        {"versioned_docs/version-1.0/intro.md": "/docs/intro"},
    ),
    ("{includeCurrentVersion: false}", [], {"docs/intro.md": "/docs/intro"}),
    ("{path: 'documentation'}", [], {"documentation/intro.md": "/docs/intro"}),
    ("{versions: {current: {path: 'next'}}}", [], {"docs/intro.md": "/docs/next/intro"}),
]


@pytest.mark.parametrize(("options", "versions", "expected"), VERSIONED)
def test_a_versioned_docusaurus_site_is_read_in_the_version_it_shows_first(tmp_path, options, versions, expected):
    (tmp_path / "docusaurus.config.js").write_text(
        f"module.exports = {{presets: [['classic', {{docs: {options}, blog: false}}]]}};\n"
    )
    if versions:
        (tmp_path / "versions.json").write_text(json.dumps(versions))
    layout = site_layout(style="docusaurus", root=tmp_path)
    got = {
        path: link or why
        for path in expected
        for link, why in [page_reference(style="docusaurus", path=PurePosixPath(path), front_matter={}, layout=layout)]
    }
    assert got == expected


def test_a_monorepo_with_released_versions_reads_the_release_not_the_docs_beside_it(tmp_path):
    # Jest's layout: website/ holds the config, versions.json and versioned_docs/; ../docs is the unreleased one.
    site = tmp_path / "website"
    (site / "versioned_docs" / "version-29.7").mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    (site / "docusaurus.config.js").write_text(
        "module.exports = {presets: [['classic', {docs: {path: '../docs'}}]]};\n"
    )
    (site / "versions.json").write_text('["29.7"]')
    layout = site_layout(style="docusaurus", root=site)
    assert docusaurus_outer_folders(layout=layout, root=site) == []  # the unreleased docs are not read
    assert docusaurus_links(layout, ["versioned_docs/version-29.7/api.md", "../docs/api.md"]) == {
        "versioned_docs/version-29.7/api.md": "/docs/api",
        "../docs/api.md": None,
    }


def test_a_versioned_docs_plugin_reads_its_own_versions_file(tmp_path):
    (tmp_path / "docusaurus.config.js").write_text(
        "module.exports = {plugins: [['@docusaurus/plugin-content-docs', "
        "{id: 'community', path: 'community', routeBasePath: 'community'}]]};\n"
    )
    (tmp_path / "community_versions.json").write_text('["3.1"]')
    (tmp_path / "versions.json").write_text("not json")  # the default instance's: unreadable, so unversioned
    layout = site_layout(style="docusaurus", root=tmp_path)
    links = docusaurus_links(
        layout, ["community_versioned_docs/version-3.1/meet.md", "community/meet.md", "docs/intro.md"]
    )
    assert links == {
        "community_versioned_docs/version-3.1/meet.md": "/community/meet",
        "community/meet.md": None,
        "docs/intro.md": "/docs/intro",
    }


BLOG_POSTS = [
    # (blog plugin options, post's path in docs_dir, front matter, title, expected link or why not): as Material
    # for MkDocs' blog plugin builds a post's URL (post_url_format filled in, under blog_dir, a directory URL).
    ("", "blog/posts/first.md", {"date": "2024-07-14"}, "Our first harvest!", "/blog/2024/07/14/our-first-harvest/"),
    (
        "",
        "blog/posts/2024/deep/first.md",
        {"date": {"created": "2024-07-04"}},
        "Ünïcode Title",
        "/blog/2024/07/04/%C3%BCn%C3%AFcode-title/",
    ),
    (
        "",
        "blog/posts/first.md",
        {"date": "2024-07-14", "slug": "harvest"},
        "Our first harvest",
        "/blog/2024/07/14/harvest/",
    ),
    ("", "blog/posts/first.md", {}, "No date", "a blog post without a date (the blog plugin needs one)"),
    ("", "blog/index.md", {}, "Blog", "/blog/"),  # the blog's own index is a page like any other
    (
        "\n      post_url_format: '{categories}/{file}'\n      post_url_max_categories: 2",
        "blog/posts/first.md",
        {"date": "2024-07-14", "categories": ["Harvest Notes", "Potatoes", "Roots"]},
        "T",
        "/blog/harvest-notes/potatoes/first/",
    ),
    (
        "\n      blog_dir: news\n      post_url_date_format: yyyy/MM\n      post_slugify_separator: _",
        "news/posts/first.md",
        {"date": "2024-07-14"},
        "Our first harvest",
        "/news/2024/07/our_first_harvest/",
    ),
    (
        "\n      post_url_format: '{nonsense}'",
        "blog/posts/a.md",
        {"date": "2024-07-14"},
        "A b",
        "/blog/2024/07/14/a-b/",
    ),
    (
        "\n      enabled: false",
        "blog/posts/first.md",
        {"date": "2024-07-14"},
        "Our first harvest",
        "/blog/posts/first/",
    ),
]


@pytest.mark.parametrize(("options", "path", "front_matter", "title", "expected"), BLOG_POSTS)
def test_mkdocs_material_blog_posts_link_where_the_blog_plugin_puts_them(
    tmp_path, options, path, front_matter, title, expected
):
    plugin = f"- blog:{options}" if options else "- blog"
    (tmp_path / "mkdocs.yml").write_text(f"site_name: S\nplugins:\n  - search\n  {plugin}\n")
    layout = site_layout(style="mkdocs", root=tmp_path)
    link, why = page_reference(
        style="mkdocs", path=PurePosixPath("docs") / path, front_matter=front_matter, layout=layout, title=title
    )
    assert (link or why) == expected


def test_material_blog_urls_follow_use_directory_urls_and_the_material_blog_plugin_name(tmp_path):
    (tmp_path / "mkdocs.yml").write_text("site_name: S\nuse_directory_urls: false\nplugins:\n  material/blog: {}\n")
    layout = site_layout(style="mkdocs", root=tmp_path)
    link, _ = page_reference(
        style="mkdocs",
        path=PurePosixPath("docs/blog/posts/a.md"),
        front_matter={"date": "2024-01-02"},
        layout=layout,
        title="Hello",
    )
    assert link == "/blog/2024/01/02/hello.html"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our first harvest!", "our-first-harvest"),
        ("C'est l'été", "cest-lété"),
        ("Two  spaces", "two--spaces"),
        ("<em>Tagged</em> title", "tagged-title"),
        ("snake_case stays", "snake_case-stays"),
    ],
)
def test_material_blog_slugs(text, expected):
    # pymdownx.slugs.slugify(case="lower"), the blog plugin's default: Unicode kept, each space a separator.
    assert material_slug(text) == expected


def test_pages_a_site_leaves_out_of_its_build_are_not_linked(tmp_path):
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\nexclude_docs: |\n  drafts/\n  *.tmp.md\n  !keep.tmp.md\ndraft_docs: |\n  wip-*.md\n"
        "markdown_extensions:\n  - pymdownx.superfences:\n      custom_fences:\n"
        "        - format: !!python/name:pymdownx.superfences.fence_code_format\n"
    )
    layout = site_layout(style="mkdocs", root=tmp_path)
    paths = {
        "docs/setup.md": "/setup/",
        "docs/drafts/idea.md": None,
        "docs/guide/drafts/more.md": None,  # drafts/ matches at any depth, as in .gitignore
        "docs/notes.tmp.md": None,
        "docs/keep.tmp.md": "/keep.tmp/",  # a ! pattern takes a page back
        "docs/wip-chapter.md": None,  # draft_docs: left out of a build
        "docs/templates/page.md": None,  # MkDocs never publishes /templates/
        "docs/guide/templates/page.md": "/guide/templates/page/",  # only at the top
    }
    links = {
        path: page_reference(style="mkdocs", path=PurePosixPath(path), front_matter={}, layout=layout)[0]
        for path in paths
    }
    assert links == paths
    link, why = page_reference(style="docusaurus", path=PurePosixPath("docs/_shared/note.md"), front_matter={})
    assert link is None and "starts with _" in why
    assert page_reference(style="docusaurus", path=PurePosixPath("docs/a/__tests__/x.md"), front_matter={})[0] is None


@pytest.mark.parametrize(
    ("config", "path", "expected"),
    [
        ("use_directory_urls: false\n", "docs/setup.md", "/setup.html"),
        ("use_directory_urls: false\n", "docs/index.md", "/index.html"),
        ("use_directory_urls: false\n", "docs/guide/README.md", "/guide/index.html"),
        ("use_directory_urls: false\ndocs_dir: pages\n", "pages/guide/first steps.md", "/guide/first%20steps.html"),
        ("use_directory_urls: true\n", "docs/setup.md", "/setup/"),
    ],
)
def test_mkdocs_links_follow_use_directory_urls(tmp_path, config, path, expected):
    (tmp_path / "mkdocs.yml").write_text("site_name: S\n" + config)
    layout = site_layout(style="mkdocs", root=tmp_path)
    assert page_reference(style="mkdocs", path=PurePosixPath(path), front_matter={}, layout=layout) == (expected, "")


I18N_SUFFIX = """site_name: S
plugins:
  - search
  - i18n:
      languages:
        - {locale: en, default: true, name: English}
        - {locale: fr, name: Français}
"""
I18N_FOLDER = I18N_SUFFIX.replace("  - i18n:\n", "  - i18n:\n      docs_structure: folder\n")
TRANSLATION = "the {} translation; the book is read in its site's default language, en"


# What mkdocs-static-i18n 1.3.1 builds at the site's root (checked against real builds): the default language's
# pages, a locale suffix or folder taken off; a translation is published under its language's path instead.
@pytest.mark.parametrize(
    ("config", "path", "expected"),
    [
        (I18N_SUFFIX, "docs/index.md", "/"),
        (I18N_SUFFIX, "docs/index.fr.md", TRANSLATION.format("fr")),
        (I18N_SUFFIX, "docs/guide/setup.en.md", "/guide/setup/"),
        (I18N_SUFFIX, "docs/guide/setup.fr.md", TRANSLATION.format("fr")),
        (I18N_SUFFIX, "docs/guide/README.en.md", "/guide/"),
        # A locale the config does not list yet is still one; a version number is not.
        (I18N_SUFFIX, "docs/guide/setup.pt-BR.md", TRANSLATION.format("pt-BR")),
        (I18N_SUFFIX, "docs/guide/v1.2.md", "/guide/v1.2/"),
        (I18N_SUFFIX + "use_directory_urls: false\n", "docs/guide/setup.en.md", "/guide/setup.html"),
        (I18N_FOLDER, "docs/en/index.md", "/"),
        (I18N_FOLDER, "docs/en/guide/setup.md", "/guide/setup/"),
        (I18N_FOLDER, "docs/fr/guide/setup.md", TRANSLATION.format("fr")),
        (I18N_FOLDER, "docs/zh_TW/guide/setup.md", TRANSLATION.format("zh_TW")),
        (I18N_FOLDER, "docs/shared.md", "/shared/"),
        # Without the plugin, a suffix is part of the page's name.
        ("site_name: S\n", "docs/guide/setup.fr.md", "/guide/setup.fr/"),
    ],
)
def test_mkdocs_i18n_sites_are_read_in_their_default_language(tmp_path, config, path, expected):
    (tmp_path / "mkdocs.yml").write_text(config)
    layout = site_layout(style="mkdocs", root=tmp_path)
    link, why = page_reference(style="mkdocs", path=PurePosixPath(path), front_matter={}, layout=layout)
    assert (link or why) == expected


def test_mkdocs_i18n_default_language_is_the_one_the_site_builds_at_its_root(tmp_path):
    only_french = I18N_SUFFIX.replace("  - i18n:\n", "  - i18n:\n      build_only_locale: fr\n")
    (tmp_path / "mkdocs.yml").write_text(only_french)
    layout = site_layout(style="mkdocs", root=tmp_path)
    assert layout.i18n.default == "fr"
    assert (
        page_reference(style="mkdocs", path=PurePosixPath("docs/setup.fr.md"), front_matter={}, layout=layout)[0]
        == "/setup/"
    )
    # No language both default and built: MkDocs refuses the config, and the suffix stays part of the name.
    (tmp_path / "mkdocs.yml").write_text(I18N_SUFFIX.replace("default: true", "default: true, build: false"))
    assert site_layout(style="mkdocs", root=tmp_path).i18n is None


NAV = """site_name: S
nav:
  - index.md
  - Getting going:
      - Install the station: guide/setup.md
      - guide/wind-speed.md
      - Weather service: https://example.org/
"""


# What Docusaurus calls each page: front matter's title, else the first H1's, else a doc's id and a blog post's
# file name without its date (its docs and blog plugins' ``frontMatter.title ?? contentTitle ?? …``).
@pytest.mark.parametrize(
    ("path", "title", "front_matter", "expected"),
    [
        ("docs/01-basics/02-motion.md", "Motion", {}, "Motion"),
        ("docs/01-basics/02-motion.md", "", {}, "motion"),
        ("docs/01-basics/02-motion.md", "", {"parse_number_prefixes": False}, "02-motion"),
        ("docs/a/01-b.md", "", {"id": "bee"}, "bee"),
        ("docs/getting_started.mdx", "", {}, "getting_started"),
        ("docs/guides/index.md", "", {}, "index"),
        ("blog/2024-03-05-first-winter.md", "", {}, "first-winter"),
        ("blog/2024-03-05-hello/index.md", "", {}, "hello"),
        ("blog/welcome.md", "", {}, "welcome"),
        ("blog/news/welcome/index.md", "", {}, "news/welcome"),
        ("src/pages/about.md", "", {}, ""),  # the caller names it from its file
    ],
)
def test_docusaurus_page_titles_are_the_ones_docusaurus_gives(path, title, front_matter, expected):
    page = PurePosixPath(path)
    assert docusaurus_page_title(path=page, title=title, front_matter=front_matter, layout=SiteLayout()) == expected


# What MkDocs 1.6.1 calls each page (the title Material shows, and its heading when the page has none; checked
# against a real build).
@pytest.mark.parametrize(
    ("path", "title", "expected"),
    [
        ("docs/guide/setup.md", "Setup", "Install the station"),  # the nav's title wins over the page's own
        ("docs/guide/wind-speed.md", "", "Wind speed"),  # listed without a title: the file name in words
        ("docs/guide/wind-speed.md", "Measuring wind", "Measuring wind"),  # front matter title, else the H1
        ("docs/index.md", "", "Home"),
        ("docs/README.md", "", "Home"),
        ("docs/guide/index.md", "", "Index"),
        ("docs/guide/README.md", "", "Index"),
        ("docs/guide/API-Notes.md", "", "API Notes"),  # capitalised only when all lower case
        ("docs/guide/first_steps.md", "", "First steps"),
    ],
)
def test_mkdocs_page_titles_are_the_ones_mkdocs_gives(tmp_path, path, title, expected):
    (tmp_path / "mkdocs.yml").write_text(NAV)
    layout = site_layout(style="mkdocs", root=tmp_path)
    assert mkdocs_page_title(path=PurePosixPath(path), title=title, layout=layout) == expected


def test_mkdocs_nav_titles_name_a_multilingual_sites_pages_by_their_default_language_path(tmp_path):
    (tmp_path / "mkdocs.yml").write_text(I18N_SUFFIX + "nav:\n  - Install the station: guide/setup.md\n")
    layout = site_layout(style="mkdocs", root=tmp_path)
    page = PurePosixPath("docs/guide/setup.en.md")
    assert mkdocs_page_title(path=page, title="Setup", layout=layout) == "Install the station"


def test_mkdocs_nav_titles_written_in_html_are_the_text_the_theme_shows(tmp_path):
    # Python-Markdown's nav: "<code>markdown.&#8203;util</code>: reference/markdown.util.md", shown as code.
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\nnav:\n  - API:\n    - '<code>markdown.&#8203;util</code>': reference/markdown.util.md\n"
        "    - 'Q&amp;A': faq.md\n    - 'A < B': compare.md\n"
    )
    layout = site_layout(style="mkdocs", root=tmp_path)
    titles = [
        mkdocs_page_title(path=PurePosixPath(f"docs/{page}"), title="", layout=layout)
        for page in ("reference/markdown.util.md", "faq.md", "compare.md")
    ]
    assert titles == ["markdown.util", "Q&A", "A < B"]


def test_files_outside_the_site_content_are_not_linked():
    link, why = page_reference(style="docusaurus", path=PurePosixPath("notes/todo.md"), front_matter={})
    assert link is None and "outside" in why


@pytest.mark.parametrize(
    ("style", "path", "expected"),
    [
        # Docusaurus builds pages from .md and .mdx only; MkDocs from its Markdown extensions, never .mdx.
        ("docusaurus", "docs/intro.mdx", "/docs/intro"),
        ("docusaurus", "docs/intro.markdown", "not a page (docusaurus builds pages from .md, .mdx files)"),
        ("mkdocs", "docs/intro.mdown", "/intro/"),
        ("mkdocs", "docs/intro.mkd", "/intro/"),
        ("mkdocs", "docs/intro.mdx", "not a page (mkdocs builds pages from .markdown, .md, .mdown, .mkd, .mkdn files)"),
    ],
)
def test_only_the_generators_page_files_are_pages(style, path, expected):
    link, why = page_reference(style=style, path=PurePosixPath(path), front_matter={})
    assert (link or why) == expected


@pytest.mark.parametrize(
    ("style", "path", "expected"),
    [
        # MkDocs copies what is not a page to the same path; Docusaurus serves static/ at the root.
        ("mkdocs", "docs/files/datasheet.pdf", "https://s.example.org/files/datasheet.pdf"),
        ("mkdocs", "manual.pdf", None),
        ("docusaurus", "static/files/datasheet.pdf", "https://s.example.org/files/datasheet.pdf"),
        ("docusaurus", "docs/files/datasheet.pdf", ""),  # published under a hashed name when a page links it
        ("docusaurus", "notes/manual.pdf", None),
    ],
)
def test_files_a_site_publishes_as_they_are_link_where_it_publishes_them(style, path, expected):
    layout = SiteLayout(base_url="https://s.example.org")
    assert asset_reference(style=style, path=PurePosixPath(path), layout=layout)[0] == expected


@pytest.mark.parametrize(
    ("custom_dir", "path", "expected"),
    [
        ("docs/overrides", "docs/overrides/main.html", None),
        ("docs/overrides", "docs/overrides/partials/nav.html", None),
        ("./docs/overrides/", "docs/overrides/main.html", None),
        ("docs/overrides", "docs/overrides.html", "https://s.example.org/overrides.html"),
        ("docs/overrides", "docs/extra/page.html", "https://s.example.org/extra/page.html"),
        ("overrides", "docs/overrides/main.html", "https://s.example.org/overrides/main.html"),  # not this one
    ],
)
def test_the_themes_templates_in_docs_dir_are_not_the_books_files(tmp_path, custom_dir, path, expected):
    # Material sites keep their overrides in docs/ as often as beside it: MkDocs copies those Jinja templates out
    # as they are, but they are the theme's.
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: S\nsite_url: https://s.example.org/\ntheme:\n  name: material\n  custom_dir: {custom_dir}\n"
    )
    layout = site_layout(style="mkdocs", root=tmp_path)
    link, why = asset_reference(style="mkdocs", path=PurePosixPath(path), layout=layout)
    assert link == expected
    assert (why == "a template of the theme: its custom_dir") == (expected is None)
    # A Markdown page there is still one of the book's: MkDocs builds every page of docs_dir.
    page = page_reference(style="mkdocs", path=PurePosixPath("docs/overrides/notes.md"), front_matter={}, layout=layout)
    assert page[0] == "https://s.example.org/overrides/notes/"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("01-intro", "intro"),
        ("1_intro", "intro"),
        ("01.intro", "intro"),
        ("intro", "intro"),
        ("2021-11-x", "2021-11-x"),
    ],
)
def test_number_prefixes(name, expected):
    assert strip_number_prefix(name) == expected


ANCHORS = [
    # (heading, github-slugger, Python-Markdown toc slugify)
    ("1.4 Zero Moment Point (ZMP)", "14-zero-moment-point-zmp", "14-zero-moment-point-zmp"),
    ("Hello  World", "hello--world", "hello-world"),
    ("C++ & Rust — fast!", "c--rust--fast", "c-rust-fast"),
    ("Émile's café_2", "émiles-café_2", "emiles-cafe_2"),
    ("The I²C bus", "the-ic-bus", "the-i2c-bus"),
    ("What's new?", "whats-new", "whats-new"),
]


@pytest.mark.parametrize(("heading", "docusaurus", "mkdocs"), ANCHORS)
def test_anchors_follow_the_generator(heading, docusaurus, mkdocs):
    assert github_slug(heading) == docusaurus
    assert mkdocs_slug(heading) == mkdocs


def test_repeated_headings_are_numbered_like_the_generators():
    docusaurus, mkdocs = heading_slugger("docusaurus"), heading_slugger("mkdocs")
    assert [docusaurus("Setup") for _ in range(3)] == ["setup", "setup-1", "setup-2"]
    assert [mkdocs("Setup") for _ in range(3)] == ["setup", "setup_1", "setup_2"]


def test_anchors_come_from_the_rendered_heading_text():
    text = "# Page\n\n## Using **bold** and `code` {#custom-id}\n\nx\n\n## [Linked](https://x.org) *text*\n\ny\n"
    headings = parse_markdown(text, style="docusaurus").headings
    assert headings == [(1, "Page", ""), (2, "Using bold and code", "custom-id"), (2, "Linked text", "linked-text")]


def test_site_detection(tmp_path):
    (tmp_path / "site" / "docs").mkdir(parents=True)
    (tmp_path / "site" / "docusaurus.config.ts").write_text("export default {}")
    (tmp_path / "mk" / "docs").mkdir(parents=True)
    (tmp_path / "mk" / "mkdocs.yml").write_text("site_name: x\n")
    (tmp_path / "plain").mkdir()
    assert detect_site(tmp_path / "site") == "docusaurus"
    assert detect_site(tmp_path / "site" / "docs") == "docusaurus"
    assert detect_site(tmp_path / "mk" / "docs") == "mkdocs"
    assert detect_site(tmp_path / "plain") == "plain"
    # A site built inside its project (Docusaurus's build/, MkDocs's site/) is a built site, not a sources folder.
    for built in (tmp_path / "site" / "build", tmp_path / "mk" / "site"):
        built.mkdir()
        (built / "index.html").write_text("<html><body><h1>Home</h1></body></html>")
        assert detect_site(built) == "plain"
        assert detect_site(built / "index.html") == "plain"
    # A docs folder with a page written as HTML beside its Markdown is still the site's sources.
    (tmp_path / "site" / "docs" / "index.html").write_text("<html><body><h1>Legacy</h1></body></html>")
    (tmp_path / "site" / "docs" / "intro.md").write_text("# Intro\n")
    assert detect_site(tmp_path / "site" / "docs") == "docusaurus"


@pytest.mark.parametrize(
    ("style", "name", "config", "expected"),
    [
        (
            "mkdocs",
            "mkdocs.yml",
            "site_name: S\nsite_url: https://me.github.io/garden/  # published\n",
            "https://me.github.io/garden/",
        ),
        ("mkdocs", "mkdocs.yml", "site_name: S\n", ""),
        (
            "docusaurus",
            "docusaurus.config.js",
            "module.exports = {url: 'https://me.github.io', baseUrl: '/book/'};",
            "https://me.github.io/book/",
        ),
        (
            "docusaurus",
            "docusaurus.config.ts",
            'const config = {\n  url: "https://book.example.org",\n  baseUrl: "/",\n};',
            SITE,
        ),
        ("docusaurus", "docusaurus.config.js", "module.exports = {url: process.env.URL, baseUrl: '/'};", ""),
        ("mkdocs", "mkdocs.yml", "site_url: javascript:alert(1)\n", ""),  # only http(s) becomes a link
    ],
)
def test_the_sites_own_config_gives_its_address(tmp_path, style, name, config, expected):
    (tmp_path / name).write_text(config)
    assert configured_site_url(style=style, root=tmp_path) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("site_name: S\nmarkdown_extensions:\n  - pymdownx.snippets\n", ["."]),
        ("markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [docs/snippets, .]\n", ["docs/snippets", "."]),
        (
            "markdown_extensions:\n  - pymdownx.superfences:\n      custom_fences:\n        - format: "
            "!!python/name:pymdownx.superfences.fence_code_format\n  - pymdownx.snippets:\n      base_path: includes\n",
            ["includes"],
        ),
        ("markdown_extensions: [\n", ["."]),  # not YAML: the default
    ],
)
def test_mkdocs_snippets_are_looked_up_where_the_config_says(tmp_path, config, expected):
    (tmp_path / "mkdocs.yml").write_text(config)
    assert mkdocs_snippet_paths(tmp_path) == [tmp_path / path for path in expected]


def test_mkdocs_settings_given_by_environment_variables_are_read_as_mkdocs_reads_them(tmp_path, monkeypatch):
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\nsite_url: !ENV [BOOK_URL, PAGES_URL, 'https://fallback.example.org/']\n"
        "use_directory_urls: !ENV DIRECTORY_URLS\ndocs_dir: !ENV UNSET_DOCS_DIR\n"
    )
    monkeypatch.delenv("BOOK_URL", raising=False)
    monkeypatch.delenv("PAGES_URL", raising=False)
    monkeypatch.delenv("UNSET_DOCS_DIR", raising=False)
    monkeypatch.setenv("DIRECTORY_URLS", "false")
    layout = site_layout(style="mkdocs", root=tmp_path)
    assert (layout.base_url, layout.directory_urls, layout.docs_dir) == ("https://fallback.example.org/", False, "docs")
    monkeypatch.setenv("PAGES_URL", "https://me.github.io/book/")
    assert site_layout(style="mkdocs", root=tmp_path).base_url == "https://me.github.io/book/"
    # A title the nav gives a page is shown to readers: never a variable of the process reading the book.
    (tmp_path / "mkdocs.yml").write_text("site_name: S\nnav:\n  - !ENV [BOOK_SECRET, Home]: index.md\n")
    monkeypatch.setenv("BOOK_SECRET", "server-secret")
    assert site_layout(style="mkdocs", root=tmp_path).nav_titles == (("index.md", "Home"),)


@pytest.mark.parametrize(
    ("toc", "expected"),
    [
        ("", HeadingIds()),
        # Material for MkDocs' own advice for headings in any script.
        (
            "  - toc:\n      permalink: true\n      slugify: !!python/object/apply:pymdownx.slugs.slugify\n"
            "        kwds:\n          case: lower\n",
            HeadingIds(slugify="pymdownx", case="lower"),
        ),
        (
            "  - markdown.extensions.toc:\n      slugify: !!python/name:markdown.extensions.toc.slugify_unicode\n"
            "      separator: _\n",
            HeadingIds(slugify="toc-unicode", separator="_"),
        ),
        # A function ingestion does not know keeps the default rule; nothing named in the config is imported.
        ("  - toc:\n      slugify: !!python/name:os.system\n", HeadingIds()),
        (
            "  - toc:\n      slugify: !!python/object/apply:pymdownx.slugs.slugify\n"
            "        kwds: {case: fold, normalize: BOGUS, percent_encode: true}\n",
            HeadingIds(slugify="pymdownx", case="fold", percent_encode=True),
        ),
    ],
)
def test_mkdocs_heading_ids_follow_the_toc_settings(tmp_path, toc, expected):
    emoji = "  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
    (tmp_path / "mkdocs.yml").write_text(f"site_name: S\nmarkdown_extensions:\n{emoji}{toc}")
    assert site_layout(style="mkdocs", root=tmp_path).heading_ids == expected


@pytest.mark.parametrize(
    ("markdown", "maintain_case"),
    [
        ("markdown: {format: 'mdx', anchors: {maintainCase: true}},", True),
        ("markdown: {anchors: {maintainCase: false}},", False),
        ("", False),
    ],
)
def test_docusaurus_heading_ids_keep_their_case_when_the_config_says(tmp_path, markdown, maintain_case):
    (tmp_path / "docusaurus.config.js").write_text(f"module.exports = {{url: 'https://d.example.org', {markdown}}};\n")
    assert site_layout(style="docusaurus", root=tmp_path).heading_ids == HeadingIds(maintain_case=maintain_case)


def test_heading_id_settings_are_stored_as_what_differs_from_the_defaults():
    ids = HeadingIds(slugify="pymdownx", case="lower")
    assert ids.to_dict() == {"slugify": "pymdownx", "case": "lower"}
    assert HeadingIds.from_dict(ids.to_dict()) == ids
    assert HeadingIds.from_dict({"unknown": 1}) == HeadingIds() == HeadingIds.from_dict(None)


@pytest.mark.parametrize(
    ("plugins", "expected"),
    [
        ("plugins: [search]\n", None),
        ("plugins:\n  - mkdocs-jupyter:\n      enabled: false\n", None),
        ("plugins:\n  - mkdocs-jupyter\n", MkDocsJupyter()),
        (
            "plugins:\n  - mkdocs-jupyter:\n      include: ['notebooks/*.ipynb']\n      ignore: ['drafts/*']\n"
            "      ignore_h1_titles: true\n      no_input: true\n",
            MkDocsJupyter(
                include=("notebooks/*.ipynb",),
                ignore=("drafts/*",),
                ignore_h1_titles=True,
                view=NotebookView(show_input=False),
            ),
        ),
        (
            # The plugin passes nbconvert the first tag of each list only.
            "plugins:\n  - mkdocs-jupyter:\n      show_input: false\n      remove_tag_config:\n"
            "        remove_cell_tags: [hide, also-hide]\n        remove_input_tags: [no-code]\n"
            "        remove_all_outputs_tags: [no-output]\n        remove_single_output_tags: [drop]\n",
            MkDocsJupyter(
                view=NotebookView(
                    show_input=False,
                    remove_cell_tag="hide",
                    remove_input_tag="no-code",
                    remove_all_outputs_tag="no-output",
                    remove_single_output_tag="drop",
                )
            ),
        ),
    ],
    ids=["absent", "disabled", "defaults", "patterns-and-titles", "removed-by-tag"],
)
def test_mkdocs_jupyter_settings_are_read_from_the_config(tmp_path, plugins, expected):
    (tmp_path / "mkdocs.yml").write_text("site_name: S\n" + plugins)
    assert site_layout(style="mkdocs", root=tmp_path).jupyter == expected


def test_a_notebook_page_links_as_a_markdown_page_does_only_with_the_plugin():
    with_plugin = SiteLayout(jupyter=MkDocsJupyter(), directory_urls=False)
    assert page_reference(
        style="mkdocs", path=PurePosixPath("docs/lab/rain.ipynb"), front_matter={}, layout=with_plugin
    ) == (
        "/lab/rain.html",
        "",
    )
    reference, why = page_reference(style="mkdocs", path=PurePosixPath("docs/rain.ipynb"), front_matter={})
    assert reference is None and why.startswith("not a page")


def test_mkdocstrings_handlers_paths_stay_inside_the_book(tmp_path):
    (tmp_path / "site" / "src").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "site" / "mkdocs.yml").write_text(
        "site_name: S\nplugins:\n  - mkdocstrings:\n      handlers:\n        python:\n"
        "          paths: [src, ../outside, missing]\n          options:\n            heading_level: 3\n"
    )
    settings = site_layout(style="mkdocs", root=tmp_path / "site").autodoc
    assert settings == MkDocstrings(paths=((tmp_path / "site" / "src").resolve(),), options={"heading_level": 3})
    (tmp_path / "site" / "mkdocs.yml").write_text("site_name: S\nplugins:\n  - mkdocstrings\n")
    assert site_layout(style="mkdocs", root=tmp_path / "site").autodoc.paths == ((tmp_path / "site").resolve(),)
