"""mkdocstrings' API pages: each ``::: package.module`` directive read as the documentation mkdocstrings-python
renders there, from the package's code in the book (griffe reads it statically: nothing is imported or run).

What is rendered follows mkdocstrings-python's defaults and the options the site and the directive set: the
object's docstring (its heading only with ``show_root_heading``), then its public documented members grouped by
category (attributes, classes, functions, modules) and sorted as ``members_order`` says, each under a heading
whose id is its path (``garden.valve.Controller.open``), as the site's anchors are; docstring sections as the
tables the site shows (Parameters, Returns, Raises, Attributes). Source code, which the site folds away, is left
out, and so is an object the book's code does not hold (a package installed from elsewhere).
"""

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .book_files import inside
from .markdown import fence_roles

logger = logging.getLogger(__name__)

# mkdocstrings' autodoc directive (its own pattern): `::: package.module.Class`, or `## ::: package.module` to give
# the object's heading a level, followed by its options indented under it.
DIRECTIVE = re.compile(r"^(?P<heading>#{1,6} *)?::: ?(?P<name>\S.*?) *$")
# mkdocstrings-python's defaults for what it renders.
DEFAULTS: dict[str, Any] = {
    "heading_level": 2,
    "show_root_heading": False,
    "show_root_full_path": True,
    "members": None,
    "members_order": "alphabetical",
    "group_by_category": True,
    "filters": ["!^_[^_]"],
    "show_if_no_docstring": False,
    "show_submodules": False,
    "merge_init_into_class": False,
    "show_signature": True,
    "docstring_style": "google",
}
_CATEGORIES = ("attribute", "class", "function", "module")
# What Markdown would read as markup in a heading written from code (`__init__` is no emphasis).
_MARKUP = re.compile(r"([\\`*_\[\]<>{}#|!~])")
_MAX_DEPTH = 6


@dataclass(frozen=True)
class MkDocstrings:
    """An MkDocs site's mkdocstrings settings: where its Python handler finds packages (``paths``, inside the
    book only) and its global options."""

    paths: tuple[Path, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


def _escaped(text: str) -> str:
    return _MARKUP.sub(r"\\\1", text)


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _signature(obj: Any) -> str:
    """A function's heading as the site writes it: its name and parameters with their defaults, no ``self``."""
    parameters = []
    star = False
    for parameter in obj.parameters:
        if parameter.name in ("self", "cls") and not parameters:
            continue
        kind = parameter.kind.value
        if kind == "keyword-only" and not star:
            parameters.append("*")
            star = True
        variadic = {"variadic positional": "*", "variadic keyword": "**"}.get(kind, "")
        star = star or kind == "variadic positional"
        name = variadic + parameter.name
        parameters.append(f"{name}={parameter.default}" if parameter.default is not None and not variadic else name)
    return f"{obj.name}({', '.join(parameters)})"


def _kept(name: str, *, filters: list[str]) -> bool:
    """mkdocstrings-python's rule for ``filters``: the last filter that matches the name decides (one starting
    with ``!`` excludes); when none matches, the name is kept unless every filter is an inclusion."""
    kept, kinds = None, set()
    for pattern in filters:
        exclude = pattern.startswith("!")
        kinds.add(exclude)
        if re.search(pattern.removeprefix("!"), name):
            kept = not exclude
    return kinds != {False} if kept is None else kept


class _Renderer:
    def __init__(self, *, options: dict[str, Any]) -> None:
        self.options = {**DEFAULTS, **options}

    def page(self, obj: Any, *, heading_level: int | None) -> str:
        level = heading_level or int(self.options["heading_level"])
        parts: list[str] = []
        if self.options["show_root_heading"]:
            name = obj.path if self.options["show_root_full_path"] else obj.name
            parts.append(self._heading(obj, level=level, name=name))
            level += 1
        parts.extend(self._docstring(obj))
        parts.extend(self._members(obj, level=level, depth=0))
        return "\n\n".join(part for part in parts if part.strip())

    def _init(self, obj: Any) -> Any:
        """A class's own ``__init__``, when ``merge_init_into_class`` makes it part of the class's entry."""
        init = obj.members.get("__init__") if obj.is_class and self.options["merge_init_into_class"] else None
        return init if init is not None and not init.is_alias and init.is_function else None

    def _heading(self, obj: Any, *, level: int, name: str | None = None) -> str:
        text = name or obj.name
        signed = self._init(obj) or (obj if obj.is_function else None)
        if signed is not None and self.options["show_signature"]:
            text = text + _signature(signed).removeprefix(signed.name)
        elif obj.is_attribute and getattr(obj, "value", None) is not None and self.options["show_signature"]:
            text = f"{text} = {obj.value}"
        return f"{'#' * min(level, 6)} {_escaped(text)} {{ #{_escaped(obj.path)} }}"

    def _wanted(self, name: str, member: Any, *, root: bool) -> bool:
        if member.is_alias:
            return False  # imported names: documented where they are defined
        # `members` names the documented object's own members; theirs follow the filters.
        chosen = self.options["members"] if root else None
        if chosen is False or (isinstance(chosen, list) and name not in chosen):
            return False
        if isinstance(chosen, list):
            return True
        if not _kept(name, filters=self.options["filters"] or []):
            return False
        if member.is_module and not self.options["show_submodules"]:
            return False
        if name == "__init__" and self.options["merge_init_into_class"]:
            return False  # its docstring is part of the class's
        return bool(member.docstring) or bool(self.options["show_if_no_docstring"])

    def _members(self, obj: Any, *, level: int, depth: int) -> Iterator[str]:
        if depth >= _MAX_DEPTH:
            return
        members = [member for name, member in obj.members.items() if self._wanted(name, member, root=depth == 0)]
        if self.options["members_order"] != "source":
            members.sort(key=lambda member: member.name)
        else:
            members.sort(key=lambda member: member.lineno or 0)
        if self.options["group_by_category"]:
            order = {kind: index for index, kind in enumerate(_CATEGORIES)}
            members.sort(key=lambda member: order.get(member.kind.value, len(order)))
        for member in members:
            yield self._heading(member, level=level)
            yield from self._docstring(member)
            if member.is_class or member.is_module:
                yield from self._members(member, level=level + 1, depth=depth + 1)

    def _docstring(self, obj: Any) -> Iterator[str]:
        yield from self._own_docstring(obj)
        init = self._init(obj)
        if init is not None:
            yield from self._own_docstring(init)

    def _own_docstring(self, obj: Any) -> Iterator[str]:
        docstring = obj.docstring
        if docstring is None:
            return
        style = self.options["docstring_style"]
        try:
            sections = docstring.parse(style) if style else None
        except Exception:  # noqa: BLE001 - a docstring griffe cannot parse shows as written
            sections = None
        if sections is None:
            yield docstring.value
            return
        for section in sections:
            yield from _section(section, obj=obj)


def _section(section: Any, *, obj: Any) -> Iterator[str]:
    kind = section.kind.value
    value = section.value
    if kind == "text":
        yield str(value)
    elif kind in ("parameters", "other parameters"):
        title = "Parameters:" if kind == "parameters" else "Other Parameters:"
        signature = {parameter.name: parameter for parameter in getattr(obj, "parameters", [])}
        rows = []
        for entry in value:
            # A default the docstring does not give is the signature's; a parameter with none is "required".
            default = (
                entry.default if entry.default is not None else getattr(signature.get(entry.name), "default", None)
            )
            rows.append([entry.name, entry.annotation or "", entry.description, default or "required"])
        yield title + "\n\n" + _table(["Name", "Type", "Description", "Default"], rows)
    elif kind == "attributes":
        rows = [[entry.name, entry.annotation or "", entry.description] for entry in value]
        yield "Attributes:\n\n" + _table(["Name", "Type", "Description"], rows)
    elif kind in ("returns", "yields", "receives", "raises", "warns"):
        rows = [[entry.annotation or "", entry.description] for entry in value]
        yield f"{kind.capitalize()}:\n\n" + _table(["Type", "Description"], rows)
    elif kind == "examples":
        yield "Examples:"
        for part_kind, text in value:
            yield f"```pycon\n{text}\n```" if getattr(part_kind, "value", part_kind) == "examples" else str(text)
    elif kind == "admonition":
        yield f"{section.title or value.annotation}: {value.description}"
    elif kind == "deprecated":
        yield f"Deprecated: {value.description}"


def render_autodoc(text: str, *, settings: MkDocstrings) -> str:
    """The page with each directive replaced by the Markdown of what mkdocstrings-python shows there (left out
    when the object is not in the book's code). Fenced code is left as it is."""
    lines = text.split("\n")
    roles = dict(fence_roles(lines))
    out: list[str] = []
    index = 0
    loader = None
    while index < len(lines):
        match = DIRECTIVE.match(lines[index]) if roles.get(index) == "text" else None
        if match is None:
            out.append(lines[index])
            index += 1
            continue
        end = index + 1
        while end < len(lines) and (lines[end].startswith(("    ", "\t")) or not lines[end].strip()):
            end += 1
        block = "\n".join(line[4:] if line.startswith("    ") else line.lstrip("\t") for line in lines[index + 1 : end])
        loader = loader or _loader(settings)
        out.append(_rendered(match, block=block, loader=loader, settings=settings))
        out.append("")
        index = end
    return "\n".join(out)


# mkdocs-autorefs, which mkdocstrings brings: a reference link whose label the page does not define
# ("[`Markdown`][markdown.Markdown]", "[markdown.Markdown][]") links to the heading or API object of that id
# anywhere on the site, and reads as its text. Labels are ids (a letter first: "[0][1]" is no reference).
_AUTOREF = re.compile(r"\]\[([A-Za-z_][\w.:-]*)\]|\[([A-Za-z_][\w.:-]*)\]\[\]")
_DEFINITION = re.compile(r"^ {0,3}\[([^\[\]\n]+)\]:", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+).+?\1")


def with_autorefs(text: str) -> str:
    """The page with a definition for each cross-reference autorefs resolves, so that it reads as a link (its
    text), not as the brackets Markdown leaves of an undefined reference."""
    lines = text.split("\n")
    roles = dict(fence_roles(lines))
    prose = _CODE_SPAN.sub("", "\n".join(line for index, line in enumerate(lines) if roles.get(index) == "text"))
    defined = {_label(label) for label in _DEFINITION.findall(prose)}
    wanted: dict[str, str] = {}
    for match in _AUTOREF.finditer(prose):
        label = match.group(1) or match.group(2)
        if _label(label) not in defined:
            wanted.setdefault(_label(label), label)
    if not wanted:
        return text
    return text.rstrip("\n") + "\n\n" + "\n".join(f"[{label}]: #{label}" for label in wanted.values()) + "\n"


def _label(label: str) -> str:
    return " ".join(label.split()).casefold()  # as CommonMark matches reference labels


def _loader(settings: MkDocstrings) -> Any:
    import griffe  # noqa: PLC0415 - only books with API pages need it

    # A docstring's slips ("no type for parameter 'litres'") are the book's business: its own build reports them.
    logging.getLogger("griffe").setLevel(logging.ERROR)

    style = settings.options.get("docstring_style", DEFAULTS["docstring_style"])
    parser = griffe.Parser(style) if style in {p.value for p in griffe.Parser} else None
    return griffe.GriffeLoader(
        search_paths=[str(path) for path in settings.paths], docstring_parser=parser, allow_inspection=False
    )


def _rendered(match: re.Match, *, block: str, loader: Any, settings: MkDocstrings) -> str:
    identifier = match.group("name").strip()
    try:
        config = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError:
        config = {}
    local = config.get("options") if isinstance(config, dict) and isinstance(config.get("options"), dict) else {}
    level = (match.group("heading") or "").count("#") or None
    try:
        obj = _object(loader, identifier)
        return _Renderer(options={**settings.options, **local}).page(obj, heading_level=level)
    except Exception as error:  # noqa: BLE001 - griffe raises many kinds of error for code it cannot find or read
        logger.info("mkdocstrings object %s not read from the book (%s)", identifier, type(error).__name__)
        return ""


def _object(loader: Any, identifier: str) -> Any:
    package = identifier.split(".", 1)[0]
    if package not in loader.modules_collection.members:
        loader.load(package)
        loader.resolve_aliases(implicit=False)
    obj = loader.modules_collection[identifier]
    if obj.filepath and not any(inside(Path(obj.filepath), root) for root in loader.finder.search_paths):
        raise LookupError(identifier)
    return obj
