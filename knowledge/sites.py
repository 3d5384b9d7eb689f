"""Where a book's page lives on its site: Docusaurus and MkDocs routes, and site detection.

The rules follow the generators' documented behaviour:
- Docusaurus docs: number prefixes stripped from every path segment (``01-intro`` -> ``intro``, but not
  date-like ``2021-01-31`` or version-like ``1.2-x`` names), ``index``/``README``/a file named like its
  folder -> the folder's route, front-matter ``slug`` (absolute or relative to the folder) and ``id`` honoured,
  under the docs route base.
- Docusaurus blog: ``/blog/<slug>`` from front matter, else the date path from the file name
  (``2024-03-05-hello.md`` -> ``/blog/2024/03/05/hello``), else the file path.
- MkDocs: directory URLs (``page.md`` -> ``page/``, ``index.md``/``README.md`` -> the folder).
"""

import functools
import json
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import pathspec
import yaml

from .autodoc import MkDocstrings
from .book_files import inside, mkdocs_file_title, read_text
from .includes import IncludeMarkdown
from .macros import MkDocsMacros
from .markdown import html_text
from .notebooks import NOTEBOOK_SUFFIXES, MkDocsJupyter, NotebookView
from .slugs import STYLES, HeadingIds, material_slug
from .sources import MARKDOWN_EXTENSIONS

_DATE_LIKE = re.compile(r"^((\d{2}|\d{4})[-_.]\d{2}([-_.](\d{2}|\d{4}))?)(.*)$")
_VERSION_LIKE = re.compile(r"^(\d+[-_.]\d+)(.*)$")
_NUMBER_PREFIX = re.compile(r"^(?P<prefix>\d+)(?P<sep>\s*[-_.]+\s*)(?P<suffix>[^-_.\s].*)$")
_BLOG_DATE = re.compile(r"^(?P<folder>.*?)(?P<date>\d{4}[-/]\d{1,2}[-/]\d{1,2})[-/]?(?P<text>.*?)(?:/index)?$")
# The files each generator builds pages from: Docusaurus's docs and blog plugins include **/*.{md,mdx}; MkDocs
# reads the extensions of its utils.markdown_extensions. Any other Markdown file is not a page of the site.
PAGE_SUFFIXES = {
    "docusaurus": frozenset({".md", ".mdx"}),
    "mkdocs": frozenset({".md", ".markdown", ".mdown", ".mkdn", ".mkd"}),
}


def strip_number_prefix(name: str) -> str:
    """Docusaurus's default number-prefix parser: ``02-Setup`` -> ``Setup``."""
    if _DATE_LIKE.match(name) or _VERSION_LIKE.match(name):
        return name
    match = _NUMBER_PREFIX.match(name)
    return match.group("suffix") if match else name


def detect_site(root: Path) -> str:
    """docusaurus or mkdocs when the folder or its parent holds the generator's config, else plain."""
    return site_root(root)[0]


def site_root(root: Path) -> tuple[str, Path | None]:
    """(style, the site's root folder) for a folder given to ``ingest``: the folder's own config, else its
    parent's (``docs/`` of a site), unless the folder is a built site."""
    folder = root if root.is_dir() else root.parent
    # A site's build sits inside its project (Docusaurus's build/, MkDocs's site/), beside the config that says
    # how its Markdown sources become pages: the build's pages are HTML already, read as a built site.
    for candidate in (folder,) if _is_built_site(folder) else (folder, folder.parent):
        if style := _config_style(candidate):
            return style, candidate
    return "plain", None


def _config_style(folder: Path) -> str:
    """docusaurus or mkdocs when the folder holds the generator's config, else ''."""
    if any(folder.glob("docusaurus.config.*")):
        return "docusaurus"
    if (folder / "mkdocs.yml").is_file() or (folder / "mkdocs.yaml").is_file():
        return "mkdocs"
    return ""


def build_address(root: Path) -> str:
    """Where a build inside its project is published, as the project's config says (Docusaurus's ``url`` and
    ``baseUrl``, MkDocs' ``site_url``): '' for any other folder, or a config without an http(s) address."""
    folder = root if root.is_dir() else root.parent
    if not _is_built_site(folder):
        return ""
    project = folder.parent
    style = _config_style(project)
    if style == "docusaurus":
        return _docusaurus_url(_docusaurus_config(project))
    return _mkdocs_url(_mkdocs_config(project)) if style == "mkdocs" else ""


def _is_built_site(folder: Path) -> bool:
    """Whether a folder is a generator's output: a front page (index.html) and no Markdown beside it."""
    if not (folder / "index.html").is_file():
        return False
    return not any(path.suffix.lower() in MARKDOWN_EXTENSIONS for path in folder.iterdir() if path.is_file())


def _stem(path: PurePosixPath) -> str:
    name = path.name
    for suffix in MARKDOWN_EXTENSIONS:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _join(*parts: str) -> str:
    joined = "/".join(part.strip("/") for part in parts if part and part.strip("/"))
    return "/" + joined


def _base_route(route_base: str, route: str) -> str:
    # The docs root itself is "/docs/", as Docusaurus's normalizeUrl joins it (the site's root "/" with
    # routeBasePath "/"); everything else has no slash.
    joined = _join(route_base, route)
    return joined + ("/" if not route.strip("/") and joined != "/" else "")


def _number_prefix_parser(front_matter: dict[str, Any]) -> Callable[[str], str]:
    """Docusaurus strips number prefixes from a doc's file and folder names unless its front matter says
    ``parse_number_prefixes: false``."""
    return (lambda name: name) if front_matter.get("parse_number_prefixes") is False else strip_number_prefix


def _doc_base_id(path: PurePosixPath, front_matter: dict[str, Any]) -> str:
    """A doc's id within its folder: front matter ``id``, else its file name without a number prefix."""
    doc_id = front_matter.get("id")
    if isinstance(doc_id, str | int) and str(doc_id).strip():
        return str(doc_id).strip()
    return _number_prefix_parser(front_matter)(_stem(path))


def docusaurus_doc_route(path: PurePosixPath, front_matter: dict[str, Any], *, route_base: str = "docs") -> str:
    """The route of a doc at ``path`` (relative to the docs folder)."""
    unprefixed = _number_prefix_parser(front_matter)
    folders = [unprefixed(part) for part in path.parent.parts]
    folder_slug = "/".join(folders)
    name = unprefixed(_stem(path))
    slug = front_matter.get("slug")
    if isinstance(slug, str) and slug.strip():
        slug = slug.strip()
        route = slug if slug.startswith("/") else posixpath.normpath(posixpath.join("/" + folder_slug, slug))
        return _base_route(route_base, route)
    index_names = {"index", "readme"} | ({folders[-1].lower()} if folders else set())
    if name.lower() in index_names:
        return _base_route(route_base, folder_slug)
    return _join(route_base, folder_slug, _doc_base_id(path, front_matter))


def docusaurus_blog_route(path: PurePosixPath, front_matter: dict[str, Any], *, route_base: str = "blog") -> str:
    """The route of a blog post at ``path`` (relative to the blog folder)."""
    slug = front_matter.get("slug")
    if isinstance(slug, str) and slug.strip():
        return _join(route_base, slug.strip())
    relative = (path.parent / _stem(path)).as_posix()
    match = _BLOG_DATE.match(relative)
    if match:
        date = re.sub(r"[-/]", "/", match.group("date"))
        return _join(route_base, match.group("folder"), date, match.group("text"))
    if _stem(path).lower() == "index":
        relative = path.parent.as_posix()
    return _join(route_base, "" if relative == "." else relative)


def docusaurus_page_route(path: PurePosixPath, front_matter: dict[str, Any]) -> str:
    """The route of a Markdown page under ``src/pages``."""
    slug = front_matter.get("slug")
    if isinstance(slug, str) and slug.strip():
        return _join(slug.strip())
    stem = _stem(path)
    route = path.parent if stem.lower() == "index" else path.parent / stem
    return _join("" if route == PurePosixPath(".") else route.as_posix())


def mkdocs_route(path: PurePosixPath, *, directory_urls: bool = True) -> str:
    """MkDocs' URL of the page at ``path`` (relative to docs_dir): a directory URL (``setup.md`` -> ``/setup/``),
    or with ``use_directory_urls: false`` the page's file (``/setup.html``, ``/guide/index.html``)."""
    stem = _stem(path)
    parent = "" if path.parent.as_posix() == "." else path.parent.as_posix()
    index = stem.lower() in {"index", "readme"}
    if not directory_urls:
        return _join(parent, "index.html" if index else f"{stem}.html")
    if index:
        return _join(parent) + ("/" if parent else "")
    return _join(parent, stem) + "/"


def _docusaurus_content(path: PurePosixPath, layout: "SiteLayout") -> tuple[str, PurePosixPath, str]:
    """(kind, path within its folder, route base) of a file at ``path`` relative to a Docusaurus site root:
    kind "docs", "blog", "pages" or "" (none of them)."""
    parts = path.parts
    docs = sorted(((layout.docs_path, layout.docs_route), *layout.more_docs), key=lambda d: -len(_parts(d[0])))
    docs_here = next(((folder, base) for folder, base in docs if _under(parts, folder)), None)
    if docs_here is not None:
        folder, base = docs_here
        return "docs", PurePosixPath(*parts[len(_parts(folder)) :]), base
    if _under(parts, layout.blog_path):
        return "blog", PurePosixPath(*parts[len(_parts(layout.blog_path)) :]), layout.blog_route
    if parts[:2] == ("src", "pages"):
        return "pages", PurePosixPath(*parts[2:]), ""
    return "", path, ""


def docusaurus_route(
    path: PurePosixPath, front_matter: dict[str, Any], *, layout: "SiteLayout | None" = None
) -> tuple[str | None, str]:
    """(route, why not) for a file at ``path`` relative to a Docusaurus site root."""
    layout = layout or SiteLayout()
    parts = path.parts
    if any(_under(parts, folder) for folder, _ in layout.other_versions):
        return None, "another version of the docs than the site shows first"
    kind, relative, base = _docusaurus_content(path, layout)
    if kind == "docs":
        route = docusaurus_doc_route(relative, front_matter, route_base=base)
    elif kind == "blog":
        route = docusaurus_blog_route(relative, front_matter, route_base=base)
    elif kind == "pages":
        route = docusaurus_page_route(relative, front_matter)
    else:
        return None, "outside the site's docs, blog and src/pages folders"
    if any(part.startswith("_") for part in parts) or "__tests__" in parts:
        return None, "in a folder whose name starts with _ (Docusaurus publishes none of it)"
    # trailingSlash: true adds a slash to every route, false takes it from all but the site's root.
    if layout.trailing_slash is True and not route.endswith("/"):
        route += "/"
    elif layout.trailing_slash is False and route != "/":
        route = route.rstrip("/")
    return route, ""


def _mkdocs_setting(config: dict[str, Any], key: str) -> str:
    """A top-level setting of an MkDocs site's parsed config as text ('' when it is not set)."""
    value = config.get(key)
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()


class _LenientLoader(yaml.SafeLoader):
    """Safe YAML that reads mkdocs.yml's Python tags (!!python/name:..., !!python/object/apply:...) as the names
    and options they give, never importing anything, and its ``!ENV`` tags as MkDocs does."""


@dataclass(frozen=True)
class PythonTag:
    """A Python tag of mkdocs.yml, as written: ``!!python/name:pkg.function`` (no options) or
    ``!!python/object/apply:pkg.function {kwds: {...}}`` (its keyword arguments)."""

    name: str
    kwds: dict[str, Any] = field(default_factory=dict)


def _python_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> PythonTag | None:
    kind, _, name = suffix.partition(":")
    if kind not in ("name", "object/apply", "object/new", "object"):
        return None
    options = loader.construct_mapping(node, deep=True) if isinstance(node, yaml.MappingNode) else {}
    kwds = options.get("kwds")
    return PythonTag(name=name, kwds=kwds if isinstance(kwds, dict) else {})


def _env_tag(loader: yaml.SafeLoader, node: yaml.Node, *, environment: bool = True) -> Any:
    """``!ENV NAME`` or ``!ENV [NAME, OTHER, default]``: the first variable that is set (its value read as
    YAML), else the default (the last item, when there are two or more), else None."""
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    elif isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node, deep=True)
        names, default = (items[:-1], items[-1]) if len(items) > 1 else (items, None)
    else:
        return None
    for name in names if environment else []:
        value = os.environ.get(str(name))
        if value is not None:
            return yaml.safe_load(value) if value else value
    return default


class _NoEnvironmentLoader(_LenientLoader):
    """The same, with every ``!ENV`` tag at its default: for what a page shows (its macros' variables, the nav's
    titles), where a variable of the process reading the book (a secret key) must never appear."""


_LenientLoader.add_constructor("!ENV", _env_tag)
_LenientLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)
_LenientLoader.add_multi_constructor("", lambda loader, suffix, node: None)
_NoEnvironmentLoader.add_constructor("!ENV", functools.partial(_env_tag, environment=False))


_NORMAL_FORMS = ("NFC", "NFD", "NFKC", "NFKD")
# The toc slugify functions an MkDocs site may name, as HeadingIds calls them (any other keeps the default).
_TOC_SLUGIFY = {
    "markdown.extensions.toc.slugify": "toc",
    "markdown.extensions.toc.slugify_unicode": "toc-unicode",
    "pymdownx.slugs.slugify": "pymdownx",
}


def _mkdocs_heading_ids(config: dict[str, Any]) -> HeadingIds:
    """The toc extension's ``slugify`` and ``separator`` settings in an MkDocs config."""
    for options in _extension_options(config, "toc", "markdown.extensions.toc"):
        slugify, separator = options.get("slugify"), options.get("separator")
        kwds = slugify.kwds if isinstance(slugify, PythonTag) else {}
        return HeadingIds(
            slugify=_TOC_SLUGIFY.get(slugify.name, "toc") if isinstance(slugify, PythonTag) else "toc",
            separator=str(separator) if isinstance(separator, str) and separator else "-",
            case=str(kwds.get("case", "none")),
            # Any other normalisation form would fail every page (the site's own build fails on it too).
            normalize=str(kwds.get("normalize")) if kwds.get("normalize") in _NORMAL_FORMS else "NFC",
            percent_encode=bool(kwds.get("percent_encode", False)),
        )
    return HeadingIds()


def _mkdocs_config(root: Path, *, environment: bool = True) -> dict[str, Any]:
    """An MkDocs site's config (mkdocs.yml, else mkdocs.yaml) as data; {} when it is missing or not YAML. Without
    ``environment``, an ``!ENV`` tag gives its default, as if no variable were set."""
    loader = _LenientLoader if environment else _NoEnvironmentLoader
    for name in ("mkdocs.yml", "mkdocs.yaml"):
        config = root / name
        if config.is_file():
            try:
                data = yaml.load(config.read_text("utf-8", "replace"), Loader=loader)  # noqa: S506 - safe
            except yaml.YAMLError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def mkdocs_snippet_paths(root: Path) -> list[Path]:
    """Where an MkDocs site's snippets (pymdownx.snippets) are looked up: its ``base_path`` setting, relative to
    the site's folder (default: the folder itself)."""
    return _snippet_paths(_mkdocs_config(root), root=root)


def _extension_options(config: dict[str, Any], *names: str) -> Iterator[dict[str, Any]]:
    """The options each ``markdown_extensions`` entry of an MkDocs config gives the extension (by any of its
    ``names``), in order; an entry without options gives none."""
    extensions = config.get("markdown_extensions")
    for entry in extensions if isinstance(extensions, list) else []:
        options = next((entry[name] for name in names if isinstance(entry, dict) and name in entry), None)
        if isinstance(options, dict):
            yield options


def _snippet_paths(config: dict[str, Any], *, root: Path) -> list[Path]:
    for options in _extension_options(config, "pymdownx.snippets"):
        base = options.get("base_path")
        paths = [base] if isinstance(base, str) else base if isinstance(base, list) else []
        if paths:
            return [root / str(path) for path in paths]
    return [root]


def _snippet_append(config: dict[str, Any]) -> tuple[str, ...]:
    """The snippets pymdownx.snippets appends to every page (``auto_append``: a site's shared link references
    and abbreviations, such as Hatch's links.txt and abbrs.txt)."""
    for options in _extension_options(config, "pymdownx.snippets"):
        names = options.get("auto_append")
        if isinstance(names, list):
            return tuple(name.strip() for name in names if isinstance(name, str) and name.strip())
    return ()


def _include_markdown(config: dict[str, Any], *, docs_dir: str) -> IncludeMarkdown | None:
    """The ``include-markdown`` plugin's settings in an MkDocs config (None when the site does not use it)."""
    options = _plugin_options(config, "include-markdown")
    if options is None:
        return None
    directives = options.get("directives") if isinstance(options.get("directives"), dict) else {}
    defaults = IncludeMarkdown()
    offset = options.get("heading_offset")
    return IncludeMarkdown(
        docs_dir=docs_dir,
        opening_tag=_text_option(options, "opening_tag") or defaults.opening_tag,
        closing_tag=_text_option(options, "closing_tag") or defaults.closing_tag,
        include=_text_option(directives, "include") or defaults.include,
        include_markdown=_text_option(directives, "include-markdown") or defaults.include_markdown,
        encoding=_text_option(options, "encoding") or defaults.encoding,
        preserve_includer_indent=_flag_option(options, "preserve_includer_indent", defaults.preserve_includer_indent),
        dedent=_flag_option(options, "dedent", defaults.dedent),
        trailing_newlines=_flag_option(options, "trailing_newlines", defaults.trailing_newlines),
        comments=_flag_option(options, "comments", defaults.comments),
        heading_offset=offset if isinstance(offset, int) and not isinstance(offset, bool) else 0,
        start=_text_option(options, "start"),
        end=_text_option(options, "end"),
        recursive=_flag_option(options, "recursive", defaults.recursive),
        order=_text_option(options, "order") or defaults.order,
        exclude=_strings(options.get("exclude"), ()),
    )


def _macros(config: dict[str, Any], *, root: Path, docs_dir: str) -> MkDocsMacros | None:
    """The ``macros`` plugin's variables and markers in an MkDocs config (None when the site does not use it):
    the config itself as ``config``, the files ``include_yaml`` lists (inside the site's folder), and ``extra``,
    which wins, as the plugin loads them."""
    options = _plugin_options(config, "macros")
    if options is None:
        return None
    extra = config.get("extra") if isinstance(config.get("extra"), dict) else {}
    variables: dict[str, Any] = {"extra": extra, "config": config}
    listed = options.get("include_yaml")
    for entry in listed if isinstance(listed, list) else []:
        key, name = next(iter(entry.items())) if isinstance(entry, dict) and entry else (None, entry)
        data = _yaml_file(root, str(name))
        if isinstance(data, dict) or key is not None:
            variables.update({str(key): data} if key is not None else data)
    variables.update(extra)
    defaults = MkDocsMacros()
    return MkDocsMacros(
        variables=variables,
        variable_start=_text_option(options, "j2_variable_start_string") or defaults.variable_start,
        variable_end=_text_option(options, "j2_variable_end_string") or defaults.variable_end,
        comment_start=_text_option(options, "j2_comment_start_string") or defaults.comment_start,
        comment_end=_text_option(options, "j2_comment_end_string") or defaults.comment_end,
        block_start=_text_option(options, "j2_block_start_string") or defaults.block_start,
        block_end=_text_option(options, "j2_block_end_string") or defaults.block_end,
        render_by_default=_flag_option(options, "render_by_default", defaults.render_by_default),
        include_dir=root / (_text_option(options, "include_dir") or docs_dir),
        boundary=root,
        docs_dir=root / docs_dir,
        nav_titles=dict(_nav_titles(config.get("nav"))),
        undefined=_text_option(options, "on_undefined") or defaults.undefined,
        extensions=_strings(options.get("j2_extensions"), ()),
    )


def _jupyter(config: dict[str, Any]) -> MkDocsJupyter | None:
    """The ``mkdocs-jupyter`` plugin's settings in an MkDocs config (None when the site does not use it)."""
    options = _plugin_options(config, "mkdocs-jupyter")
    if options is None:
        return None
    defaults = MkDocsJupyter()
    removed = options.get("remove_tag_config") if isinstance(options.get("remove_tag_config"), dict) else {}
    view = NotebookView(
        show_input=_flag_option(options, "show_input", True) and not _flag_option(options, "no_input", False),
        remove_cell_tag=_first_tag(removed.get("remove_cell_tags")),
        remove_input_tag=_first_tag(removed.get("remove_input_tags")),
        remove_all_outputs_tag=_first_tag(removed.get("remove_all_outputs_tags")),
        remove_single_output_tag=_first_tag(removed.get("remove_single_output_tags")),
    )
    return MkDocsJupyter(
        include=_strings(options.get("include"), defaults.include),
        ignore=_strings(options.get("ignore"), defaults.ignore),
        ignore_h1_titles=_flag_option(options, "ignore_h1_titles", defaults.ignore_h1_titles),
        view=view,
    )


def _mkdocstrings(config: dict[str, Any], *, root: Path) -> MkDocstrings | None:
    """The ``mkdocstrings`` plugin's Python handler settings in an MkDocs config (None when it is not used): its
    ``paths`` (relative to the site's folder, which they must stay in; the folder itself by default) and its
    global ``options``."""
    options = _plugin_options(config, "mkdocstrings")
    if options is None:
        return None
    handlers = options.get("handlers")
    python = handlers.get("python") if isinstance(handlers, dict) else None
    python = python if isinstance(python, dict) else {}
    folders = [(root / name).resolve() for name in _strings(python.get("paths"), (".",))]
    paths = tuple(path for path in folders if path.is_dir() and path.is_relative_to(root.resolve()))
    handler_options = python.get("options")
    return MkDocstrings(paths=paths, options=dict(handler_options) if isinstance(handler_options, dict) else {})


def _first_tag(value: Any) -> str:
    # The plugin hands nbconvert only the first tag of each list (`{conf_value[0]}`): a second one removes nothing.
    if isinstance(value, (list, str)) and value:
        return str(value[0])
    return ""


def _strings(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """A plugin option that lists names or patterns, as strings (``default`` when it is not a list)."""
    return tuple(str(item) for item in value) if isinstance(value, list) else default


def _yaml_file(root: Path, name: str) -> Any:
    """A YAML file of the site's folder as data (None when it is missing, outside the folder or not YAML)."""
    path = inside(root / name, root)
    if path is None:
        return None
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        return None


def _plugin_options(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The options an MkDocs config gives the plugin ``name`` ({} for none), or None when it is not enabled."""
    found = next((options for entry, options in _plugin_entries(config) if entry == name), None)
    if found is None or (isinstance(found, dict) and found.get("enabled") is False):
        return None
    return found if isinstance(found, dict) else {}


def _text_option(options: dict[str, Any], key: str) -> str | None:
    value = options.get(key)
    return value if isinstance(value, str) and value else None


def _flag_option(options: dict[str, Any], key: str, default: bool) -> bool:
    value = options.get(key)
    return value if isinstance(value, bool) else default


# What MkDocs leaves out of every build (dot files and /templates/), before the site's own exclude_docs.
MKDOCS_EXCLUDED = (".*", "/templates/")


@dataclass(frozen=True)
class MkDocsBlog:
    """Material for MkDocs' blog plugin: where its posts are and how their URLs are made (its defaults)."""

    blog_dir: str = "blog"
    post_dir: str = "blog/posts"
    url_format: str = "{date}/{slug}"
    url_date_format: str = "yyyy/MM/dd"
    max_categories: int = 1
    slug_separator: str = "-"
    category_separator: str = "-"
    locale: str = "en"


def _mkdocs_blogs(config: dict[str, Any]) -> tuple[MkDocsBlog, ...]:
    """Each ``blog`` (``material/blog``) plugin an MkDocs config enables."""
    theme = config.get("theme")
    language = theme.get("language") if isinstance(theme, dict) else None
    blogs = []
    defaults = MkDocsBlog()
    for name, options in _plugin_entries(config):
        options = options if isinstance(options, dict) else {}
        if name not in ("blog", "material/blog") or options.get("enabled") is False:
            continue
        blog_dir = str(options.get("blog_dir") or defaults.blog_dir).strip("/")
        blogs.append(
            MkDocsBlog(
                blog_dir=blog_dir,
                post_dir=str(options.get("post_dir") or "{blog}/posts").replace("{blog}", blog_dir).strip("/"),
                url_format=str(options.get("post_url_format") or defaults.url_format),
                url_date_format=str(options.get("post_url_date_format") or defaults.url_date_format),
                max_categories=int(options.get("post_url_max_categories") or defaults.max_categories),
                slug_separator=str(options.get("post_slugify_separator") or defaults.slug_separator),
                category_separator=str(options.get("categories_slugify_separator") or defaults.category_separator),
                locale=str(language or defaults.locale),
            )
        )
    return tuple(blogs)


def _plugin_entries(config: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, options) of each plugin an MkDocs config lists (as a list of names and mappings, or one mapping)."""
    plugins = config.get("plugins") or []
    return list(plugins.items()) if isinstance(plugins, dict) else [_plugin_entry(entry) for entry in plugins]


def _plugin_entry(entry: Any) -> tuple[str, Any]:
    if isinstance(entry, dict) and entry:
        return next(iter(entry.items()))
    return (str(entry), {}) if isinstance(entry, str) else ("", {})


# A locale as mkdocs-static-i18n recognises one in a file suffix or a folder name, configured or not: "fr",
# "pt-BR", "zh-Hant-TW" or "en_US".
_LOCALE = re.compile(r"(^[a-z]{2}(-[A-Za-z]{4})?(-[A-Z]{2})?$)|(^[a-z]{2}_[A-Z]{2}$)")


@dataclass(frozen=True)
class MkDocsI18n:
    """The mkdocs-static-i18n plugin: which language the site builds at its root, and how translations are kept
    (``suffix``: ``setup.fr.md`` beside ``setup.md``; ``folder``: ``fr/setup.md`` beside ``en/setup.md``)."""

    default: str
    locales: tuple[str, ...] = ()
    structure: str = "suffix"

    def _locale(self, name: str) -> str | None:
        return name if name in self.locales or _LOCALE.match(name) else None

    def default_page(self, page: PurePosixPath) -> tuple[PurePosixPath | None, str]:
        """Where the site's default language publishes ``page`` (a path in docs_dir, as the plugin reads it), or
        (None, why) for a translation, which the site publishes under its language's own path."""
        if self.structure == "folder":
            locale = self._locale(page.parts[0]) if len(page.parts) > 1 else None
            rest = PurePosixPath(*page.parts[1:]) if locale else page
        else:
            stem = PurePosixPath(page.stem)
            locale = self._locale(stem.suffix[1:]) if stem.suffix else None
            rest = page.with_name(stem.stem + page.suffix) if locale else page
        if locale is None or locale == self.default:
            return rest, ""
        return None, f"the {locale} translation; the book is read in its site's default language, {self.default}"


def _mkdocs_i18n(config: dict[str, Any]) -> MkDocsI18n | None:
    """The mkdocs-static-i18n plugin's settings, when the config enables it and names a default language."""
    for name, options in _plugin_entries(config):
        if name != "i18n" or not isinstance(options, dict) or options.get("enabled") is False:
            continue
        languages = [language for language in options.get("languages") or [] if isinstance(language, dict)]
        default = options.get("build_only_locale")
        if not default:
            built = (language for language in languages if language.get("default") is True)
            default = next((language.get("locale") for language in built if language.get("build") is not False), None)
        if default:
            locales = tuple(str(language["locale"]) for language in languages if language.get("locale"))
            structure = str(options.get("docs_structure") or "suffix")
            return MkDocsI18n(default=str(default), locales=locales, structure=structure)
    return None


def _nav_titles(nav: Any) -> Iterator[tuple[str, str]]:
    """(page, title) of every page an MkDocs ``nav`` names with a title of its own (``- Install: setup.md``),
    inside sections too; external links and pages listed without a title are left out."""
    for item in nav if isinstance(nav, list) else []:
        if not isinstance(item, dict):
            continue
        for title, value in item.items():
            if isinstance(value, list):
                yield from _nav_titles(value)
            elif isinstance(value, str) and "://" not in value and title is not None:
                yield posixpath.normpath(value.strip().lstrip("/")), _shown_title(str(title))


# Zero-width spaces: where a long name may break (Python-Markdown's nav writes "markdown.&#8203;util").
_BREAK_HINTS = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def _shown_title(title: str) -> str:
    """A nav title as the page's name reads: themes render nav titles as HTML ("<code>markdown.&#8203;util</code>"
    shows as markdown.util)."""
    return _BREAK_HINTS.sub("", html_text(title)) if "<" in title or "&" in title else title


def docusaurus_page_title(
    *, path: PurePosixPath, title: str, front_matter: dict[str, Any], layout: "SiteLayout"
) -> str:
    """The title Docusaurus gives the file at ``path`` (relative to the site root): ``title`` (front matter's,
    else the first H1's); else a doc's id (front matter ``id``, else its file name without a number prefix) and
    a blog post's file name without its date, which it shows as the page's heading; '' for anything else."""
    if title:
        return title
    kind, relative, _ = _docusaurus_content(path, layout)
    if kind == "docs":
        return _doc_base_id(relative, front_matter)
    if kind == "blog":
        name = (relative.parent / _stem(relative)).as_posix()
        match = _BLOG_DATE.match(name)
        return match.group("text") if match else name.removesuffix("/index")
    return ""


def mkdocs_page_title(*, path: PurePosixPath, title: str, layout: "SiteLayout") -> str:
    """The title MkDocs gives the page at ``path`` (relative to the site root): its title in the nav, else
    ``title`` (front matter's, else the first H1's), else "Home" for the home page, else its file name in words
    (capitalised when all lower case). Material shows it as the page's heading when the page has no H1."""
    page, _ = _mkdocs_published(path, layout=layout)
    if page is not None:
        nav = layout.nav_title.get(page.as_posix())
        if nav:
            return nav
    if title:
        return title
    return mkdocs_file_title(page or path, in_docs=page is not None)


def _post_date(value: Any) -> date | None:
    """A post's creation date from its front matter: ``date: 2024-01-31`` or ``date: {created: ...}``."""
    if isinstance(value, dict):
        value = value.get("created")
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None


def material_post_route(
    page: PurePosixPath, *, blog: MkDocsBlog, front_matter: dict[str, Any], title: str, directory_urls: bool
) -> tuple[str | None, str]:
    """(route, why not) of a post of Material's blog, as its plugin builds it: ``post_url_format`` filled with
    the post's date (in ``post_url_date_format``), slug (front matter ``slug``, else its title slugified),
    categories and file name, under ``blog_dir``."""
    from babel.dates import format_date  # noqa: PLC0415 - only for sites with a blog

    created = _post_date(front_matter.get("date"))
    if created is None:
        return None, "a blog post without a date (the blog plugin needs one)"
    categories = front_matter.get("categories")
    categories = [str(c) for c in categories] if isinstance(categories, list) else []
    values = {
        "categories": "/".join(
            material_slug(c, separator=blog.category_separator) for c in categories[: blog.max_categories]
        ),
        "file": _stem(page),
        "slug": str(front_matter.get("slug") or material_slug(title or _stem(page), separator=blog.slug_separator)),
    }
    try:
        values["date"] = format_date(created, format=blog.url_date_format, locale=blog.locale)
        formatted = blog.url_format.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError):
        values["date"] = format_date(created, format=MkDocsBlog.url_date_format, locale="en")
        formatted = MkDocsBlog.url_format.format(**values)
    path = posixpath.normpath(formatted.strip("/"))
    return mkdocs_route(PurePosixPath(blog.blog_dir) / f"{path}.md", directory_urls=directory_urls), ""


def _mkdocs_excluded(config: dict[str, Any]) -> tuple[str, ...]:
    """The gitignore-style patterns of pages an MkDocs site does not publish: MkDocs' own, then its config's
    ``exclude_docs`` and ``draft_docs`` (drafts are left out of a build)."""
    lines = [line for key in ("exclude_docs", "draft_docs") for line in str(config.get(key) or "").splitlines()]
    return (*MKDOCS_EXCLUDED, *(line for line in lines if line.strip()))


def _theme_dir(config: dict[str, Any], *, docs_dir: str) -> str:
    """Where in docs_dir the theme's ``custom_dir`` is ('' when it is elsewhere, or not set). Material sites
    often keep their overrides there (``docs/overrides``): MkDocs copies those Jinja templates out as they are,
    but they are the theme's, not pages of the book."""
    theme = config.get("theme")
    custom = theme.get("custom_dir") if isinstance(theme, dict) else None
    if not isinstance(custom, str) or not custom.strip():
        return ""
    parts = _parts(posixpath.normpath(custom.strip()))
    return PurePosixPath(*parts[len(_parts(docs_dir)) :]).as_posix() if _under(parts, docs_dir) else ""


@functools.lru_cache(maxsize=64)
def _gitignore(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _parts(folder: str) -> tuple[str, ...]:
    folder = folder.strip("/")
    return PurePosixPath(folder).parts if folder not in ("", ".") else ()


def _under(parts: tuple[str, ...], folder: str) -> bool:
    prefix = _parts(folder)
    return bool(prefix) and parts[: len(prefix)] == prefix and len(parts) > len(prefix)


def _docusaurus_config(root: Path) -> str:
    configs = sorted(root.glob("docusaurus.config.*"))
    return configs[0].read_text("utf-8", "replace") if configs else ""


def _options(text: str, key: str, *, setting: tuple[str, ...] = ("path", "routeBasePath")) -> str:
    """The first ``key: {...}`` object literal in a JavaScript config that sets one of ``setting`` ('' when none
    does): the classic preset's docs or blog options, not themeConfig's ``docs: {sidebar: ...}``. Braces inside
    strings are rare in a site config, and ignored."""
    for match in re.finditer(rf"(?<![\w.$]){key}\s*:\s*\{{", text):
        options = _js_object_at(text, match.end() - 1)
        if any(re.search(rf"(?<![\w.$]){name}\s*:", _top_level(options)) for name in setting):
            return options
    return ""


def _top_level(text: str) -> str:
    """An object's text with what the objects inside it hold blanked out (their braces kept): only its own keys
    are left, each where it was."""
    depth, top = 0, []
    for char in text:
        depth -= char == "}"
        top.append(char if depth == 0 else " ")
        depth += char == "{"
    return "".join(top)


def _js_object_at(text: str, start: int) -> str:
    """The text inside the object literal whose ``{`` is at ``start``, up to its matching brace."""
    depth = 0
    for position in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return text[start + 1 : position]
    return ""


def _docs_plugins(config: str) -> list[str]:
    """The options of each ``['@docusaurus/plugin-content-docs', {...}]`` in a config: docs of their own."""
    return [
        _js_object_at(config, match.end() - 1) for match in re.finditer(r"plugin-content-docs['\"`]\s*,\s*\{", config)
    ]


def _js_string(text: str, key: str) -> str | None:
    """A ``key: 'value'`` written as a plain string at the top of an object's text (None when it is not)."""
    match = re.search(rf"(?<![\w.$]){key}\s*:\s*(['\"`])([^'\"`]*)\1", _top_level(text))
    return match.group(2) if match else None


def _maintains_case(config: str) -> bool:
    """Docusaurus's ``markdown: {anchors: {maintainCase: true}}``: heading ids keep the heading's case."""
    anchors = _options(_options(config, "markdown", setting=("anchors",)), "anchors", setting=("maintainCase",))
    return re.search(r"(?<![\w.$])maintainCase\s*:\s*true\b", _top_level(anchors)) is not None


def _setting(options: str, key: str, default: str) -> str:
    """A plugin's path or route base as written in its options (slashes trimmed), else its default."""
    value = _js_string(options, key)
    return (value if value is not None else default).strip("/")


# The settings of a docs plugin instance: with any of them, a `docs: {...}` object is the preset's docs options.
_DOCS_SETTINGS = (
    "path",
    "routeBasePath",
    "lastVersion",
    "versions",
    "onlyIncludeVersions",
    "includeCurrentVersion",
    "sidebarPath",
)
CURRENT_VERSION = "current"
_QUOTED = re.compile(r"""['"`]([^'"`]+)['"`]""")


@dataclass(frozen=True)
class DocsVersions:
    """Which version of a docs plugin instance the site shows by default, and where the others are."""

    folder: str  # the default version's folder: the docs path for the current version, else versioned_docs/...
    route: str  # its route base: routeBasePath, with the version's own path when the config gives one
    others: tuple[tuple[str, str], ...] = ()  # (folder, version name) of the versions not read


def _docs_versions(*, root: Path, options: str, folder: str, route: str) -> DocsVersions:
    """A docs instance's versions as Docusaurus reads them: ``versions.json`` (``<id>_versions.json``) beside
    the config, newest first, with the current version (its docs folder) ahead of them unless
    ``includeCurrentVersion: false``, filtered by ``onlyIncludeVersions``. The default version is ``lastVersion``,
    else the newest released one, else the current one; it is served at the route base (or at its own
    ``versions: {name: {path}}``), the others under /next/ and /<name>/."""
    plugin = _js_string(options, "id") or "default"
    prefix = "" if plugin == "default" else f"{plugin}_"
    released = _version_names(root / f"{prefix}versions.json")
    top = _top_level(options)
    names = [*([] if re.search(r"includeCurrentVersion\s*:\s*false", top) else [CURRENT_VERSION]), *released]
    only = re.search(r"onlyIncludeVersions\s*:\s*\[([^\]]*)\]", top)
    if only:
        names = [name for name in names if name in _QUOTED.findall(only.group(1))]
    last = _js_string(options, "lastVersion") or next((n for n in names if n != CURRENT_VERSION), CURRENT_VERSION)

    def folder_of(name: str) -> str:
        return folder if name == CURRENT_VERSION else f"{prefix}versioned_docs/version-{name}"

    own_path = _version_option(options, version=last, key="path").strip("/")
    return DocsVersions(
        folder=folder_of(last),
        route="/".join(part for part in (route, own_path) if part),
        others=tuple((folder_of(name), name) for name in [CURRENT_VERSION, *released] if name != last),
    )


def _version_names(path: Path) -> list[str]:
    try:
        names = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [str(name) for name in names] if isinstance(names, list) else []


def _version_option(options: str, *, version: str, key: str) -> str:
    """``versions: {'<version>': {<key>: '...'}}`` of a docs instance's options ('' when not written)."""
    versions = re.search(r"(?<![\w.$])versions\s*:\s*\{", _top_level(options))
    if not versions:
        return ""
    table = _js_object_at(options, versions.end() - 1)
    entry = re.search(rf"(?<![\w.$])(['\"`]?){re.escape(version)}\1\s*:\s*\{{", _top_level(table))
    return (_js_string(_js_object_at(table, entry.end() - 1), key) or "") if entry else ""


@dataclass(frozen=True)
class SiteLayout:
    """Where a site publishes its pages: what its config says, else the generator's defaults."""

    base_url: str = ""
    docs_path: str = "docs"  # Docusaurus docs' folder (the classic preset's docs.path)
    docs_route: str = "docs"  # and its routeBasePath
    more_docs: tuple[tuple[str, str], ...] = ()  # (folder, routeBasePath) of other docs plugin instances
    other_versions: tuple[tuple[str, str], ...] = ()  # (folder, name) of docs versions the site does not show first
    blog_path: str = "blog"
    blog_route: str = "blog"  # Docusaurus blog's routeBasePath
    trailing_slash: bool | None = None  # Docusaurus trailingSlash (None: routes as they are)
    markdown_format: str = ""  # Docusaurus markdown.format: mdx, md or detect ('': the default, mdx)
    docs_dir: str = "docs"  # MkDocs docs_dir
    directory_urls: bool = True  # MkDocs use_directory_urls
    excluded: tuple[str, ...] = MKDOCS_EXCLUDED  # MkDocs: pages not published (gitignore patterns in docs_dir)
    theme_dir: str = ""  # MkDocs: the theme's custom_dir, when it is inside docs_dir (as a path in docs_dir)
    blogs: tuple[MkDocsBlog, ...] = ()  # MkDocs: Material's blog plugins
    snippet_paths: tuple[Path, ...] = ()  # MkDocs: where pymdownx.snippets looks up included files
    snippet_append: tuple[str, ...] = ()  # MkDocs: the snippets pymdownx.snippets appends to every page
    include_markdown: IncludeMarkdown | None = None  # MkDocs: the mkdocs-include-markdown-plugin, when enabled
    macros: MkDocsMacros | None = None  # MkDocs: the mkdocs-macros-plugin's variables, when enabled
    heading_ids: HeadingIds = HeadingIds()  # how headings get their ids, when not as the generator's default
    i18n: MkDocsI18n | None = None  # MkDocs: the mkdocs-static-i18n plugin (the site's languages)
    nav_titles: tuple[tuple[str, str], ...] = ()  # MkDocs: (page in docs_dir, title) the nav gives a page
    jupyter: MkDocsJupyter | None = None  # MkDocs: the mkdocs-jupyter plugin (notebooks as pages), when enabled
    autodoc: MkDocstrings | None = None  # MkDocs: mkdocstrings' settings (`::: package.module` shows API docs)

    @functools.cached_property
    def nav_title(self) -> dict[str, str]:
        """MkDocs: the nav's title of each page it names with one, by the page's path in docs_dir."""
        return dict(self.nav_titles)

    @property
    def content_folders(self) -> tuple[str, ...]:
        """A Docusaurus site's docs folders (of every docs plugin) and its blog folder, as its config gives them."""
        return (self.docs_path, *(folder for folder, _ in self.more_docs), self.blog_path)


def site_layout(*, style: str, root: Path | None, site_url: str = "", docs_route: str | None = None) -> SiteLayout:
    """The layout of the site whose config is in ``root`` (None: a site without one, the defaults).
    ``site_url`` and ``docs_route``, when given, win over the config (read once here)."""
    if style == "docusaurus" and root is not None:
        config = _docusaurus_config(root)
        base_url = site_url or _docusaurus_url(config)
        slash = re.search(r"(?<![\w.$])trailingSlash\s*:\s*(true|false)\b", config)
        docs, blog = _options(config, "docs", setting=_DOCS_SETTINGS), _options(config, "blog")
        markdown_format = _js_string(_options(config, "markdown", setting=("format",)), "format")
        route = docs_route.strip("/") if docs_route is not None else _setting(docs, "routeBasePath", "docs")
        # Each docs instance is read in the version its site shows by default.
        instances = [
            _docs_versions(root=root, options=options, folder=_setting(options, "path", "docs"), route=base)
            for options, base in [
                (docs, route),
                *((o, _setting(o, "routeBasePath", "docs")) for o in _docs_plugins(config)),
            ]
        ]
        return SiteLayout(
            base_url=base_url,
            docs_path=instances[0].folder,
            docs_route=instances[0].route,
            more_docs=tuple((instance.folder, instance.route) for instance in instances[1:]),
            other_versions=tuple(other for instance in instances for other in instance.others),
            blog_path=_setting(blog, "path", "blog"),
            blog_route=_setting(blog, "routeBasePath", "blog"),
            trailing_slash=None if slash is None else slash.group(1) == "true",
            markdown_format=markdown_format if markdown_format in ("md", "mdx", "detect") else "",
            heading_ids=HeadingIds(maintain_case=_maintains_case(config)),
        )
    if style == "mkdocs" and root is not None:
        config = _mkdocs_config(root)
        shown = _mkdocs_config(root, environment=False)  # what reaches a page's text
        docs_dir = _mkdocs_setting(config, "docs_dir").strip("/") or "docs"
        return SiteLayout(
            base_url=site_url or _mkdocs_url(config),
            docs_dir=docs_dir,
            directory_urls=_mkdocs_setting(config, "use_directory_urls").lower() not in {"false", "no", "off"},
            excluded=_mkdocs_excluded(config),
            theme_dir=_theme_dir(config, docs_dir=docs_dir),
            blogs=_mkdocs_blogs(config),
            snippet_paths=tuple(_snippet_paths(config, root=root)),
            snippet_append=_snippet_append(config),
            include_markdown=_include_markdown(config, docs_dir=docs_dir),
            macros=_macros(shown, root=root, docs_dir=docs_dir),
            heading_ids=_mkdocs_heading_ids(config),
            i18n=_mkdocs_i18n(config),
            nav_titles=tuple(_nav_titles(shown.get("nav"))),
            jupyter=_jupyter(config),
            autodoc=_mkdocstrings(config, root=root),
        )
    return SiteLayout(base_url=site_url, docs_route=(docs_route if docs_route is not None else "docs").strip("/"))


def docusaurus_outer_folders(*, layout: SiteLayout, root: Path) -> list[Path]:
    """The content folders a Docusaurus site's config places beside the site's folder rather than in it (docs
    ``path: '../docs'``, as monorepos such as Jest's and Prettier's do). Only folders inside the site folder's
    parent count: the config cannot point a load anywhere on the machine."""
    site = root.resolve()
    folders = []
    for configured in layout.content_folders:
        parts = _parts(configured)
        if not parts or parts[0] != "..":
            continue
        folder = (root / configured).resolve()
        if folder.is_dir() and folder.is_relative_to(site.parent) and not folder.is_relative_to(site):
            folders.append(folder)
    return sorted(set(folders))


def configured_site_url(*, style: str, root: Path) -> str:
    """Where the site's own config says it is published: mkdocs.yml's ``site_url``, or docusaurus.config's
    ``url`` joined with its ``baseUrl`` (written as plain strings). '' when it says nothing usable (only http(s)
    addresses become links)."""
    if style == "mkdocs":
        return _mkdocs_url(_mkdocs_config(root))
    if style == "docusaurus":
        return _docusaurus_url(_docusaurus_config(root))
    return ""


def _mkdocs_url(config: dict[str, Any]) -> str:
    value = _mkdocs_setting(config, "site_url")
    return _http_only(value.split()[0] if value else "")


def _docusaurus_url(text: str) -> str:
    url = re.search(r"\burl:\s*['\"`]([^'\"`]+)['\"`]", text)
    base = re.search(r"\bbaseUrl:\s*['\"`]([^'\"`]*)['\"`]", text)
    path = base.group(1).strip("/") if base else ""
    return _http_only(url.group(1).rstrip("/") + "/" + (f"{path}/" if path else "") if url else "")


def _http_only(address: str) -> str:
    return address if re.match(r"https?://[^/\s]+", address) else ""


def site_url(route: str, *, base_url: str = "") -> str:
    """A route on the site as a link: percent-encoded, under ``base_url`` when given."""
    encoded = quote(route, safe="/-._~!$&'()*+,;=:@")
    return (base_url.rstrip("/") + encoded) if base_url else encoded


def _mkdocs_published(path: PurePosixPath, *, layout: SiteLayout) -> tuple[PurePosixPath | None, str]:
    """A file's path in an MkDocs site's docs_dir, or (None, why) when the build leaves it out."""
    prefix = PurePosixPath(layout.docs_dir).parts
    if path.parts[: len(prefix)] != prefix:
        return None, f"outside the site's {layout.docs_dir}/ folder"
    page = PurePosixPath(*path.parts[len(prefix) :])
    if _gitignore(layout.excluded).match_file(page.as_posix()):
        return None, "left out of the build by exclude_docs or draft_docs, or by MkDocs itself"
    if layout.i18n is not None:
        return layout.i18n.default_page(page)
    return page, ""


def asset_reference(*, style: str, path: PurePosixPath, layout: SiteLayout) -> tuple[str | None, str]:
    """(link, why not) of a file a site publishes as it is (a PDF, a text or HTML file), for a site style.

    MkDocs copies every file of docs_dir that is not a page to the same path on the site; Docusaurus serves
    ``static/`` at the site's root. A file in a Docusaurus content folder is published only under a hashed name
    when a page links it: it is read, with no link ('' ). Anything else is not on the site (None)."""
    if style == "mkdocs":
        published, why = _mkdocs_published(path, layout=layout)
        if published is None:
            return None, why
        if layout.theme_dir and _under(published.parts, layout.theme_dir):
            # Copied out as they are, yet templates and partials of the theme (Jinja), not the book's text.
            return None, "a template of the theme: its custom_dir"
        return site_url("/" + published.as_posix(), base_url=layout.base_url), ""
    if path.parts[:1] == ("static",) and len(path.parts) > 1:
        return site_url("/" + PurePosixPath(*path.parts[1:]).as_posix(), base_url=layout.base_url), ""
    if any(_under(path.parts, folder) for folder in (*layout.content_folders, "src/pages")):
        return "", ""
    return None, "outside the site's content and static folders"


def page_reference(
    *,
    style: str,
    path: PurePosixPath,
    front_matter: dict[str, Any],
    layout: SiteLayout | None = None,
    title: str = "",
) -> tuple[str | None, str]:
    """(citation link, why not) of a page at ``path`` relative to the site root, for a site style (``title``:
    the page's, which names a blog post's URL on an MkDocs site)."""
    if style not in STYLES or style == "plain":
        raise ValueError(f"page_reference needs a site style, not {style!r}.")
    layout = layout or SiteLayout()
    notebook = style == "mkdocs" and layout.jupyter is not None and path.suffix.lower() in NOTEBOOK_SUFFIXES
    if path.suffix.lower() not in PAGE_SUFFIXES[style] and not notebook:
        return None, f"not a page ({style} builds pages from {', '.join(sorted(PAGE_SUFFIXES[style]))} files)"
    if style == "docusaurus":
        route, why = docusaurus_route(path, front_matter, layout=layout)
    else:
        page, why = _mkdocs_published(path, layout=layout)
        if page is None:
            return None, why
        blog = next((b for b in layout.blogs if _under(page.parts, b.post_dir)), None)
        if blog is not None:
            route, why = material_post_route(
                page, blog=blog, front_matter=front_matter, title=title, directory_urls=layout.directory_urls
            )
        else:
            route, why = mkdocs_route(page, directory_urls=layout.directory_urls), ""
    return (site_url(route, base_url=layout.base_url) if route is not None else None), why
