"""What an MDX page exports as a constant and shows in its text: ``export const version = '1.22';`` then
``Needs {version} or later.`` reads "Needs 1.22 or later.", as the site renders it.

Only literal values are read (strings, numbers, booleans, null, and arrays and objects of them), the way a
JavaScript engine would read them; anything computed (a function call, another name, `${…}` in a template) is
not evaluated, and an expression that uses it stays as written.
"""

import ast
import re
from typing import Any

_EXPORT = re.compile(r"\Aexport\s+const\s+(?P<name>[A-Za-z_$][\w$]*)\s*=\s*(?P<value>.*?)\s*;?\s*\Z", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|`(?P<template>[^`$\\]*)`"""
    r"""|(?P<number>[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_$][\w$]*)|(?P<mark>[{}\[\],:]))"""
)
_WORDS = {"true": "True", "false": "False", "null": "None", "undefined": "None"}
MAX_LITERAL = 10_000
# A reference in the text: a name, then properties or indices (`board.flash`, `boards[0]`, `limits['max']`).
_STEP = re.compile(r"\.\s*([A-Za-z_$][\w$]*)|\[\s*(?:(\d+)|'([^'\n]*)'|\"([^\"\n]*)\")\s*\]")
REFERENCE = r"[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\s*\[\s*(?:\d+|'[^'\n]*'|\"[^\"\n]*\")\s*\])*"
_MISSING: Any = object()


def exported_constant(statement: str) -> dict[str, Any]:
    """{name: value} for an ``export const name = <literal>`` statement; {} for any other."""
    match = _EXPORT.match(statement.strip())
    if match is None or len(match["value"]) > MAX_LITERAL:
        return {}
    value = js_literal(match["value"])
    return {} if value is _MISSING else {match["name"]: value}


def js_literal(source: str) -> Any:
    """The value a JavaScript literal writes (an object's keys as strings), or _MISSING when it is not one."""
    tokens = _tokens(source)
    parts: list[str] = []
    for index, (kind, token) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if kind == "name" and following == ":":
            parts.append(repr(token))  # an object's key
        elif kind == "name":
            if token not in _WORDS:
                return _MISSING  # another name: computed, not written
            parts.append(_WORDS[token])
        elif kind == "template":
            parts.append(repr(token))
        else:
            parts.append(token.lstrip("+") if kind == "number" else token)
    if not parts:
        return _MISSING
    try:
        return ast.literal_eval("".join(parts))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _MISSING


def _tokens(source: str) -> list[tuple[str, str]]:
    """The literal's tokens as (kind, text); [] when something in it is not a literal's."""
    found: list[tuple[str, str]] = []
    position = 0
    text = source.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return []
        kind = match.lastgroup or ""
        found.append((kind, match[kind]))
        position = match.end()
    return found


def reference_text(reference: str, constants: dict[str, Any]) -> str | None:
    """What ``{reference}`` renders as in the page's text (React's rules: a string or number as written,
    true, false and null as nothing, an array as its items run together), or None when it cannot be read."""
    name = re.match(r"[A-Za-z_$][\w$]*", reference)
    value = constants.get(name[0], _MISSING)
    for step in _STEP.finditer(reference, name.end()):
        key = next(group for group in step.groups() if group is not None)
        if isinstance(value, dict):
            value = value.get(key)  # a property an object lacks is undefined: it shows nothing
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return _rendered(value)


def _rendered(value: Any) -> str | None:
    if value is _MISSING or isinstance(value, dict):
        return None  # React cannot show an object
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        items = [_rendered(item) for item in value]
        return None if any(item is None for item in items) else "".join(items)
    return str(value)
