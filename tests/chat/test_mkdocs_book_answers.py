"""Answers from a real MkDocs (Material) book through the API: admonitions, collapsible blocks, content tabs,
attribute lists and footnotes read as the site shows them, links with MkDocs routes and anchors. The offline
answerer, the real embedding model and real PostgreSQL."""

import re
from pathlib import Path

import pytest

from knowledge.models import Chunk

from .test_book_answers import ask, ingested

BOOK = Path(__file__).resolve().parents[1] / "fixtures" / "garden-book"
SITE = "https://garden.example.org"


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """The fixture book, ingested once for this module; its address comes from mkdocs.yml's site_url."""
    with ingested(django_db_blocker, BOOK):
        yield


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("book")]


def cited_for(reply: dict, quote: str) -> dict:
    """The source the answer cites for ``quote`` (a pattern of the quoted text, or of the quote and what follows
    its citation), whichever number it has among the sources."""
    match = re.search(rf"“{quote}” \[(\d)\]" if "“" not in quote else quote, reply["answer"])
    assert match, reply["answer"]
    (source,) = [source for source in reply["sources"] if source["index"] == int(match.group(1))]
    return source


def test_no_extension_syntax_reaches_the_index():
    text = "\n".join(Chunk.objects.values_list("text", flat=True))
    for syntax in (
        *("!!!", "???", '=== "', "{ #", "{ .", "[^", ":material-", "--8<--", "*[pH]", "++", "=="),
        *("///", "type: tip", "open: true"),  # pymdownx.blocks' fences and options
        *("{%", "include-markdown", "gloves-start", "blade"),  # an include-markdown directive and what it leaves out
        *("markdown>", 'markdown="', "{ width", "#!bash", ":   "),  # md_in_html, attr_list, inlinehilite, def_list
    ):
        assert syntax not in text, syntax


def test_an_admonition_answers_with_its_title_and_links_to_a_custom_anchor(api):
    reply = ask(api, "How many hours of direct sun do vegetables need?")
    assert reply["answer"].startswith("“Sunlight: Vegetables need at least six hours of direct sun a day.” [1]")
    assert reply["sources"][0]["url"] == f"{SITE}/getting-started/#site-choice"  # '## Where to dig { #site-choice }'


def test_collapsible_blocks_tabs_and_footnotes_are_text(api):
    reply = ask(api, "Why should I not compost meat?")
    assert "attract rats" in reply["answer"]
    assert reply["sources"][0]["url"] == f"{SITE}/soil/compost/#what-to-compost"
    assert "every morning" in ask(api, "How often should I water in summer?")["answer"]
    assert "not needed" in ask(api, "Do I need a laboratory soil test?")["answer"]


def test_a_pymdownx_block_answers_with_its_title_and_text(api):
    # `/// details | Turning the heap` with its options indented under it, closed by `///`.
    reply = ask(api, "How often should I turn the compost heap?")
    assert reply["answer"].startswith(
        "“Turning the heap: Turn the heap with a garden fork every two weeks: air keeps the microbes working.” [1]"
    )
    assert reply["sources"][0]["url"] == f"{SITE}/soil/compost/#looking-after-the-heap"


def test_a_section_with_an_attribute_list_keeps_its_own_anchor(api):
    reply = ask(api, "How do I improve clay soil?")
    assert "bucket of compost" in reply["answer"]
    assert reply["sources"][0]["url"] == f"{SITE}/soil/#improving-clay"
    assert reply["sources"][0]["section"].endswith("Improving clay")


def test_a_question_about_the_book_is_answered_from_its_home_page(api):
    reply = ask(api, "Who is this handbook for?")
    assert reply["status"] == "answered"
    assert reply["answer"].startswith("“This handbook walks you through a small kitchen garden")
    assert reply["sources"][0]["url"] == f"{SITE}/"


def test_a_snippet_is_answered_from_the_page_that_includes_it(api):
    # `--8<-- "includes/frost.md:last-frost"`: one section of a file outside the docs folder.
    reply = ask(api, "When is the last spring frost?")
    assert "falls in mid-May" in reply["answer"]
    assert reply["sources"][0]["url"] == f"{SITE}/getting-started/#when-to-sow"


def test_text_an_include_markdown_directive_includes_is_answered_under_its_own_heading(api):
    # `{% include-markdown "../../includes/safety.md" start=… end=… %}` over several lines: the part of a file
    # outside the docs folder between two comments, its heading an anchor of the including page.
    reply = ask(api, "Why should I wear gloves to handle manure?")
    assert reply["answer"].startswith("“Wear gloves when you handle manure: garden soil can carry tetanus bacteria")
    assert reply["sources"][0]["url"] == f"{SITE}/soil/compost/#gloves-and-tetanus"


def test_a_sentence_naming_a_setting_is_answered_with_the_setting_from_the_included_file(api):
    # "...never waters for longer than `max_minutes`" after ```toml title="valve.toml"``` holding a snippet of
    # includes/valve.toml: the sentence names the setting, the file's line gives its value.
    reply = ask(api, "How long can the valve controller water at most?")
    quote = (
        r"^“The controller never waters for longer than max_minutes at a time\.” \[(\d)\]\n\n"
        r'```toml title="valve\.toml"\nmax_minutes = 20\n```'
    )
    assert cited_for(reply, quote)["url"] == f"{SITE}/watering/schedule/#the-valve-controller"


def test_keys_and_marked_text_are_answered_as_the_page_shows_them(api):
    # "hold ++shift+p++ on the keypad: the controller ==keeps its schedule==" (pymdownx.keys and pymdownx.mark).
    reply = ask(api, "How do I pause a running watering?")
    assert reply["answer"].startswith(
        "“To pause a running watering, hold Shift+P on the keypad: the controller keeps its schedule"
    )


def test_a_notebook_page_answers_from_its_text_and_its_saved_outputs(api):
    # docs/watering/rain-log.ipynb, a page through mkdocs-jupyter: a pandas table the notebook displayed, and a
    # sentence one of its cells printed. A cell the site removes by its tag is not in the index.
    reply = ask(api, "How much rain did the barrel collect in July?")
    source = cited_for(reply, r"^“Collected rain: 1; month: July; rain_mm: 31; litres: 186” \[(\d)\]$")  # the row alone
    assert (source["url"], source["title"]) == (f"{SITE}/watering/rain-log/#collected-rain", "Rain barrel log")
    reply = ask(api, "How much of the watering did the rain barrel cover?")
    source = cited_for(reply, r"The barrel covered 70% of the watering\.")
    assert source["url"] == f"{SITE}/watering/rain-log/#watering-covered"
    text = "\n".join(Chunk.objects.values_list("text", flat=True))
    assert not any(markup in text for markup in ('"cell_type"', "<style", "dataframe", "figure.dpi", "iVBOR"))


def test_an_api_page_answers_from_the_documentation_mkdocstrings_renders_from_the_books_code(api):
    # docs/watering/controller-api.md is `::: garden_valve`: the page shows the package's docstrings, its
    # parameters as a table, under headings whose ids are the objects' paths.
    reply = ask(api, "What does the controller's open method return when the rain sensor is wet?")
    # The answer is Markdown: the signature's * is escaped, so no renderer reads it as emphasis.
    source = cited_for(
        reply,
        r"open\(minutes=15, \\\*, zone='beds'\): Type: bool; Description: True when the valve opened; "
        r"False when the rain sensor is wet and the watering is skipped\.",
    )
    assert source["url"] == f"{SITE}/watering/controller-api/#garden_valve.Controller.open"
    assert source["section"] == "Valve controller API > Controller > open(minutes=15, *, zone='beds')"


def test_a_definition_list_answers_with_the_term_and_its_definition(api):
    # "Tilth" then ":   The crumbly top layer…" (def_list): the page shows the term over its definition.
    reply = ask(api, "What is tilth?")
    source = cited_for(reply, r"Tilth: The crumbly top layer of a well-worked soil, fine enough to sow seed into\.")
    assert source["url"] == f"{SITE}/#words-gardeners-use"


def test_cards_in_a_grid_answer_with_their_title_and_text(api):
    # A Material grid of cards (md_in_html's `<div class="grid cards" markdown>`, an icon and a button styled by
    # attr_list): each card's bold title leads its text.
    reply = ask(api, "How much water does a drip line on a timer save?")
    source = cited_for(reply, r"Water on a schedule: A drip line on a timer saves about half the water of a hose\.")
    assert source["url"] == f"{SITE}/#where-to-start"


def test_inline_code_is_answered_without_its_highlighting_language(api):
    # `#!bash garden-valve list --next 7d` (pymdownx.inlinehilite) shows as the command alone.
    reply = ask(api, "How do I see the waterings planned for next week?")
    assert "run garden-valve list --next 7d: it prints the next week's waterings" in reply["answer"]
