"""mkdocstrings' API directives read as mkdocstrings-python renders them (checked against a real MkDocs 1.6 build
with mkdocstrings 1.0 and mkdocstrings-python 2.0: the same headings, heading ids and docstring tables)."""

import pytest

from knowledge.autodoc import MkDocstrings, render_autodoc, with_autorefs
from knowledge.markdown import parse_markdown

VALVE = '''"""Drip-line valves and their controller."""

MAX_MINUTES = 30
"""The longest a valve stays open at a time."""


class Controller:
    """Opens and closes the drip line on a schedule.

    Attributes:
        schedule: When the valve opens, as a cron expression.
    """

    def __init__(self, schedule: str = "0 6 * * *") -> None:
        self.schedule = schedule

    def open(self, minutes: int = 10, *, zone: str = "beds") -> bool:
        """Open the valve for a while.

        Args:
            minutes: How long to water, at most MAX_MINUTES.
            zone: Which zone of the garden to water.

        Returns:
            Whether the valve opened.

        Raises:
            ValueError: When minutes is over MAX_MINUTES.
        """
        return True

    def close(self) -> None:
        """Close the valve."""

    def _private(self) -> None:
        """Not shown."""

    def undocumented(self) -> None:
        pass


def water_now(zone: str) -> None:
    """Water one zone at once, whatever the schedule."""
'''


@pytest.fixture
def package(tmp_path) -> MkDocstrings:
    (tmp_path / "src" / "garden").mkdir(parents=True)
    (tmp_path / "src" / "garden" / "__init__.py").write_text('"""Garden automation."""\n')
    (tmp_path / "src" / "garden" / "valve.py").write_text(VALVE)
    return MkDocstrings(paths=(tmp_path / "src",))


def sections(markdown: str) -> list[tuple[str, str, str]]:
    return [(b.section, b.anchor, b.text) for b in parse_markdown(markdown, style="mkdocs").blocks]


def test_a_module_reads_as_its_docstring_then_its_documented_members(package):
    page = render_autodoc("# Valve API\n\n::: garden.valve\n", settings=package)
    # Grouped by category (attributes, classes, functions), alphabetical within; private and undocumented left out.
    assert [anchor for _, anchor, _ in sections(page)] == [
        "",
        "garden.valve.MAX_MINUTES",
        "garden.valve.Controller",
        "garden.valve.Controller",
        "garden.valve.Controller",
        "garden.valve.Controller.close",
        *["garden.valve.Controller.open"] * 7,
        "garden.valve.water_now",
    ]
    assert sections(page)[0] == ("Valve API", "", "Drip-line valves and their controller.")
    opened = [text for section, _, text in sections(page) if section.endswith("open(minutes=10, *, zone='beds')")]
    assert opened == [
        "Open the valve for a while.",
        "Parameters:",
        "Name: minutes; Type: int; Description: How long to water, at most MAX_MINUTES.; Default: 10\n"
        "Name: zone; Type: str; Description: Which zone of the garden to water.; Default: 'beds'",
        "Returns:",
        "Type: bool; Description: Whether the valve opened.",
        "Raises:",
        "Type: ValueError; Description: When minutes is over MAX_MINUTES.",
    ]
    text = "\n".join(text for *_, text in sections(page))
    assert "Name: minutes; Type: int" in text and "Type: ValueError; Description: When minutes" in text
    headings = [name for _, name, _ in parse_markdown(page, style="mkdocs").headings]
    assert headings[1:3] == ["MAX_MINUTES = 30", "Controller"]
    assert "Not shown" not in text and "undocumented" not in page


def test_options_of_the_site_and_of_the_directive_are_followed(package):
    directive = (
        "## ::: garden.valve.Controller\n    options:\n      show_root_heading: true\n"
        "      members: [open]\n      members_order: source\n\nAfter the directive.\n"
    )
    page = render_autodoc(directive, settings=package)
    parsed = parse_markdown(page, style="mkdocs")
    assert [(level, name, anchor) for level, name, anchor in parsed.headings] == [
        (2, "garden.valve.Controller", "garden.valve.Controller"),
        (3, "open(minutes=10, *, zone='beds')", "garden.valve.Controller.open"),
    ]
    assert parsed.blocks[-1].text == "After the directive."
    everything = MkDocstrings(paths=package.paths, options={"filters": [], "show_if_no_docstring": True})
    names = [name for _, name, _ in parse_markdown(render_autodoc("::: garden.valve", settings=everything)).headings]
    assert {"_private()", "undocumented()", "__init__(schedule='0 6 * * *')"} <= set(names)


def test_what_the_books_code_does_not_hold_is_left_out_and_fenced_directives_stay(package):
    page = render_autodoc(
        "Intro.\n\n::: os.path\n\n::: garden.nowhere\n    options:\n      heading_level: 3\n"
        "Right after.\n\n```\n::: garden.valve\n```\n",
        settings=package,
    )
    assert [text for *_, text in sections(page)] == ["Intro.", "Right after.", "```\n::: garden.valve\n```"]


def test_a_docstring_in_another_style_is_parsed_as_the_site_says(tmp_path):
    (tmp_path / "pump.py").write_text(
        'def start(rate):\n    """Start the pump.\n\n    Parameters\n    ----------\n    rate : float\n'
        '        Litres a minute.\n    """\n'
    )
    settings = MkDocstrings(paths=(tmp_path,), options={"docstring_style": "numpy"})
    page = render_autodoc("::: pump", settings=settings)
    assert "| rate | float | Litres a minute. | required |" in page


def test_a_package_shows_its_submodules_only_when_the_site_asks(package):
    assert "garden.valve" not in render_autodoc("::: garden", settings=package)
    settings = MkDocstrings(paths=package.paths, options={"show_submodules": True})
    headings = parse_markdown(render_autodoc("::: garden", settings=settings), style="mkdocs").headings
    assert [(level, anchor) for level, _, anchor in headings][:3] == [
        (2, "garden.valve"),
        (3, "garden.valve.MAX_MINUTES"),
        (3, "garden.valve.Controller"),
    ]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        (["!^_[^_]"], {"Controller", "close", "open", "MAX_MINUTES", "water_now"}),
        (["^open$", "^Controller$"], {"Controller", "open"}),  # only inclusions: what matches none is left out
        (["!^_[^_]", "^_private$"], {"Controller", "close", "open", "_private", "MAX_MINUTES", "water_now"}),
    ],
)
def test_filters_follow_mkdocstrings_rule_the_last_match_decides(package, filters, kept):
    settings = MkDocstrings(paths=package.paths, options={"filters": filters})
    headings = parse_markdown(render_autodoc("::: garden.valve", settings=settings), style="mkdocs").headings
    assert {anchor.rsplit(".", 1)[-1] for _, _, anchor in headings} == kept


def test_a_documented_init_is_a_member_or_merged_into_its_class_as_the_site_says(tmp_path):
    (tmp_path / "pump.py").write_text(
        "class Pump:\n"
        '    """A garden pump."""\n\n'
        "    def __init__(self, rate: float = 1.5, *sources, **limits) -> None:\n"
        '        """Make a pump.\n\n        Args:\n            rate: Litres a minute.\n        """\n'
    )
    plain = parse_markdown(render_autodoc("::: pump", settings=MkDocstrings(paths=(tmp_path,))), style="mkdocs")
    assert [name for _, name, _ in plain.headings] == ["Pump", "__init__(rate=1.5, *sources, **limits)"]
    merged = MkDocstrings(paths=(tmp_path,), options={"merge_init_into_class": True})
    parsed = parse_markdown(render_autodoc("::: pump", settings=merged), style="mkdocs")
    assert [(name, anchor) for _, name, anchor in parsed.headings] == [
        ("Pump(rate=1.5, *sources, **limits)", "pump.Pump")
    ]
    assert [block.text for block in parsed.blocks] == [
        "A garden pump.",
        "Make a pump.",
        "Parameters:",
        "Name: rate; Type: float; Description: Litres a minute.; Default: 1.5",
    ]


def test_the_members_option_names_the_documented_objects_own_members_only(package):
    settings = MkDocstrings(paths=package.paths, options={"members": ["Controller"]})
    headings = parse_markdown(render_autodoc("::: garden.valve", settings=settings), style="mkdocs").headings
    assert [anchor for _, _, anchor in headings] == [
        "garden.valve.Controller",
        "garden.valve.Controller.close",  # the class's members follow the filters, not the list
        "garden.valve.Controller.open",
    ]


def test_cross_references_autorefs_resolves_read_as_their_text():
    # Python-Markdown's pages and docstrings: "[`Markdown`][markdown.Markdown]" and "[markdown.util][]" link to
    # API objects through mkdocs-autorefs (mkdocstrings brings it); the page defines neither label.
    text = (
        "# Library\n\nUse [`Markdown`][markdown.Markdown], [markdown.util][] and the [syntax rules][].\n"
        "Indexing `a[i][j]` stays, as do [1][2] and [a][not an id].\n\n"
        "[syntax rules]: https://example.org/\n\n```python\nrows[k][v]\n```\n"
    )
    blocks = parse_markdown(with_autorefs(text), style="mkdocs").blocks
    assert [block.text for block in blocks] == [
        "Use Markdown, markdown.util and the syntax rules. Indexing a[i][j] stays, as do [1][2] and [a][not an id].",
        "```python\nrows[k][v]\n```",
    ]
    assert with_autorefs("# Plain\n\nNo references.\n") == "# Plain\n\nNo references.\n"
