"""Answers from a PDF through the API: cited in the section its outline names, linked to their page."""

import pytest

from tests.pdf_factory import MANUAL, OUTLINE, make_pdf

from .test_book_answers import ask

pytestmark = pytest.mark.django_db


def test_an_answer_from_a_pdf_links_to_its_page(api, make_document):
    make_document(
        title="Station manual",
        reference="https://station.example.org/files/manual.pdf",
        file_name="manual.pdf",
        file_data=make_pdf(MANUAL, outline=OUTLINE),
    )
    reply = ask(api, "How fast a wind can the anemometer read?")
    assert reply["answer"].startswith("“The anemometer reads up to 60 m/s.” [1]")
    source = reply["sources"][0]
    assert (source["title"], source["section"]) == ("Station manual", "2 Sensors > Wind")
    # Browsers' PDF viewers open the file at the page its fragment names.
    assert source["url"] == "https://station.example.org/files/manual.pdf#page=4"
