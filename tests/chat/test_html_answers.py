"""Answers from an uploaded HTML page through the API: a page as Docusaurus built it, cited at its heading's id."""

from pathlib import Path

import pytest

from .test_book_answers import ask

pytestmark = pytest.mark.django_db

BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built-pages"


@pytest.fixture
def firmware(make_document):
    """The weather book's firmware page, as Docusaurus built it, uploaded."""
    return make_document(
        title="Firmware",
        reference="https://weather.example.org/docs/software/firmware",
        file_name="firmware.html",
        file_data=(BUILT / "docusaurus-firmware.html").read_bytes(),
    )


def test_an_answer_from_a_built_page_links_to_the_id_of_its_heading(api, firmware):
    reply = ask(api, "What happens to a reading when the server cannot be reached?")
    assert "written to flash and sent with the next successful upload" in reply["answer"]
    source = reply["sources"][0]
    assert source["section"] == "Firmware > The main loop"
    # The id Docusaurus gave the heading ({#main-loop} in the Markdown), not a slug of its words.
    assert source["url"] == "https://weather.example.org/docs/software/firmware#main-loop"


def test_an_admonition_on_a_built_page_is_answered_with_its_title(api, firmware):
    reply = ask(api, "Which boards does the firmware support?")
    assert "The firmware runs on the ESP32, the ESP32-S3 and the Raspberry Pi Pico W." in reply["answer"]
