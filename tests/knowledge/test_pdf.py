"""PDF books read page by page, in their outline's sections, without running heads, page numbers and leaders."""

from pathlib import Path

import pytest
from haystack import Document
from haystack.dataclasses import ByteStream

from knowledge.ingestion import MarkdownSplitter
from knowledge.loading import title_for
from knowledge.markdown import parse_markdown
from knowledge.pdf import PAGE_BREAK, PAGED_META, PdfToDocument, pdf_markdown
from tests.pdf_factory import HEAD, MANUAL, OUTLINE, make_pdf


def passages(pdf: bytes) -> list[tuple[str, str, str]]:
    (document,) = PdfToDocument().run(sources=[ByteStream(pdf, meta={"title": "Manual"})])["documents"]
    assert document.meta == {"title": "Manual", PAGED_META: True}
    chunks = MarkdownSplitter(split_length=60, split_overlap=10).run(documents=[document])["documents"]
    return [(chunk.meta["anchor"], chunk.meta["section"], chunk.content) for chunk in chunks]


def test_a_pdfs_passages_are_in_its_outlines_sections_and_link_to_their_pages():
    assert passages(make_pdf(MANUAL, outline=OUTLINE)) == [
        ("page=1", "", "Weather Station Manual\n\nSecond edition"),
        ("page=2", "", "Contents"),  # its leaders and page numbers are not text
        # A line that stops short ends its paragraph or list item. Markdown's characters read as printed.
        (
            "page=3",
            "1 Setup",
            "Mount the mast on a post at least two metres high. The kit holds:\n\n• the mast\n• two clamps\n\n"
            "Use <M6> bolts, not *M5* ones: the_clamp needs them.",
        ),
        ("page=4", "2 Sensors", "Each sensor plugs into the controller's front panel."),  # hyphenation joined
        ("page=4", "2 Sensors > Wind", "The anemometer reads up to 60 m/s."),  # "2.1 Wind" printed
        # "Care" is not printed on its page: it heads the page. A line never reads as Markdown.
        ("page=5", "Care", "# of sensors: up to eight.\n\n1. Unplug the controller.\n\nClean the vane every month."),
    ]


def test_without_an_outline_passages_still_link_to_their_pages():
    found = passages(make_pdf(MANUAL))
    assert [(anchor, section) for anchor, section, _ in found][:3] == [("page=1", ""), ("page=2", ""), ("page=3", "")]
    assert not any(HEAD in text or text.endswith((" 3", " 4", " 5")) for _, _, text in found[2:])


def test_a_passage_never_spans_two_pages():
    pages = [f"{word} begins here\nand goes on\nto the end of the page" for word in ("One", "Two", "Three")]
    found = passages(make_pdf(pages))
    assert [(anchor, text.split()[0]) for anchor, _, text in found] == [
        ("page=1", "One"),
        ("page=2", "Two"),
        ("page=3", "Three"),
    ]


def test_a_line_at_the_top_of_only_two_pages_is_text_unless_it_carries_a_page_number():
    pages = ["Safety first\nA.", "Safety first\nB.", "Chapter 2 Wiring 7\nC.", "Chapter 2 Wiring 8\nD."]
    text = pdf_markdown(make_pdf(pages))
    assert [page.strip() for page in text.split(PAGE_BREAK)] == ["Safety first\nA.", "Safety first\nB.", "C.", "D."]


def test_an_unreadable_pdf_is_skipped():
    assert PdfToDocument().run(sources=[ByteStream(b"%PDF-1.4 broken")])["documents"] == []


@pytest.mark.parametrize("text", ["\f", "Plain text.\fMore."])
def test_a_page_break_in_a_document_that_is_not_paged_is_left_to_the_text(text):
    # Only the PDF converter's documents are read as pages.
    chunks = MarkdownSplitter().run(documents=[Document(content=text)])["documents"]
    assert all(not chunk.meta["anchor"].startswith("page=") for chunk in chunks)


def test_a_bookmark_heads_the_line_that_prints_its_title_not_a_sentence_that_ends_with_it():
    pdf = make_pdf(["Intro\nThe Wind\nblows here.\n2.1 Wind\nIt is measured."], outline=[("Wind", 0, 0)])
    assert pdf_markdown(pdf) == "Intro\n\nThe Wind\nblows here.\n\n## Wind\n\nIt is measured."


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Weather Station Manual", "Weather Station Manual"),
        ("Microsoft Word - manual.docx", "Station manual"),  # an exporter's placeholder: the file's name
        ("station.tex", "Station manual"),
        ("Intro to Node.js", "Intro to Node.js"),
        ("", "Station manual"),
    ],
)
def test_a_pdf_is_titled_by_its_own_title_unless_an_exporter_wrote_a_placeholder(title, expected):
    assert title_for(Path("station-manual.pdf"), make_pdf(["Text."], title=title)) == expected


def test_a_line_that_fills_its_width_goes_on_in_the_next_and_one_that_stops_short_ends_its_paragraph():
    full = "The anemometer turns with the wind and its reed switch closes once"
    pages = [
        f"{full}\nper turn, which the logger counts.\n• A cup anemometer\n"
        f"{full}\nper turn, and a line that ends in a comma,\nends nothing: the line after it goes on.\nNext paragraph."
    ]
    text = pdf_markdown(make_pdf(pages))
    assert text == (
        f"{full}\nper turn, which the logger counts.\n\n- A cup anemometer\n\n"
        f"{full}\nper turn, and a line that ends in a comma,\nends nothing: the line after it goes on.\n\n"
        "Next paragraph."
    )


def test_ligatures_as_fonts_print_them_are_spelt_out(monkeypatch):
    from pypdf import PageObject

    printed = "The \ufb01eld of \ufb02ow and e\ufb03cient coef\u00adficients."

    def extract_text(page, *, visitor_text):
        visitor_text(printed, None, None, {"/BaseFont": "/Helvetica"}, 11)
        return printed

    monkeypatch.setattr(PageObject, "extract_text", extract_text)
    assert pdf_markdown(make_pdf(["x"])) == "The field of flow and efficient coefficients."


def test_numbered_steps_are_a_list_after_the_line_that_introduces_them():
    steps = "To replace the battery:\n1. Open the lid.\n2. Remove the old battery.\n3. Insert the new one, plus up."
    text = pdf_markdown(make_pdf([f"{steps}\nThe station restarts by itself once the lid is closed again after that."]))
    assert [(block.kind, block.text) for block in parse_markdown(text).blocks] == [
        ("paragraph", "To replace the battery:"),
        ("list", "1. Open the lid.\n2. Remove the old battery.\n3. Insert the new one, plus up."),
        ("paragraph", "The station restarts by itself once the lid is closed again after that."),
    ]


def test_lines_set_in_a_monospaced_font_are_code():
    page = (
        "Print the version from the board's REPL:\n\timport sys\n\tprint(sys.implementation.version)\n"
        "It prints a tuple such as (1, 22, 0); run `ls -l` in a shell.\nA *README* line."
    )
    blocks = parse_markdown(pdf_markdown(make_pdf([page]))).blocks
    assert [(block.kind, block.text) for block in blocks] == [
        ("paragraph", "Print the version from the board's REPL:"),
        ("code", "```\nimport sys\nprint(sys.implementation.version)\n```"),
        ("paragraph", "It prints a tuple such as (1, 22, 0); run `ls -l` in a shell. A *README* line."),
    ]


def test_text_pypdf_returns_without_showing_it_to_the_visitor_is_read_as_prose(monkeypatch):
    from pypdf import PageObject

    monkeypatch.setattr(PageObject, "extract_text", lambda page, *, visitor_text: "Only returned.")
    assert pdf_markdown(make_pdf(["x"])) == "Only returned."
