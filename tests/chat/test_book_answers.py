"""Answers from a real Markdown book through the API: the Docusaurus fixture book, the offline answerer,
the real embedding model and real PostgreSQL."""

import contextlib
import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from knowledge.models import SourceDocument

BOOK = Path(__file__).resolve().parents[1] / "fixtures" / "weather-book"
SITE = "https://weather.example.org"
CONVERSE = reverse("chat-converse")
MARKDOWN = re.compile(r"\*\*|__|`|\]\(|^#+ |\|\s*---|:::", re.MULTILINE)
# The one piece of Markdown an answer may hold: a code block (its language and title after the fence) after the
# sentence that introduces it.
CODE_BLOCK = re.compile(r"\n\n(`{3,})[^\n`]*\n(.*?)\n\1(?=\n|$)", re.DOTALL)


@contextlib.contextmanager
def ingested(blocker, folder: Path, *options: str) -> Iterator[None]:
    """A fixture book ingested for a test module, and removed after it."""
    with blocker.unblock():
        call_command("ingest", str(folder), *options, "--no-progress", stdout=StringIO())
        yield
        SourceDocument.objects.all().delete()
        # Deleted rows stay in the HNSW graph until vacuumed and would crowd later tests' small searches.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM knowledge_chunk")


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """The fixture book, ingested once for this module."""
    with ingested(django_db_blocker, BOOK, "--site-url", f"{SITE}/"):
        yield


def ask(api, message: str, **extra) -> dict:
    response = api.post(CONVERSE, {"message": message, **extra}, format="json")
    assert response.status_code == 200, response.content
    reply = response.json()
    for text in [CODE_BLOCK.sub("", reply["answer"]), *(source["snippet"] for source in reply["sources"])]:
        assert not MARKDOWN.search(text), text  # reader text only, never Markdown syntax
    return reply


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("book")]


def test_a_table_row_answers_with_its_header(api):
    reply = ask(api, "What is the humidity accuracy of the SHT31?")
    assert reply["status"] == "answered"
    assert "Sensor: SHT31" in reply["answer"] and "Humidity accuracy: ±2 % RH" in reply["answer"]
    assert reply["sources"][0]["url"] == f"{SITE}/docs/sensors/temperature-and-humidity#22-sensor-comparison"


def test_a_row_of_an_html_table_answers_alone(api):
    # <table> written in the page: Docusaurus renders a table, so one row is quoted, not its cells run together.
    reply = ask(api, "Which cable gland fits the anemometer cable?")
    assert reply["answer"] == (
        "“Cable glands: Gland: PG9; Cable diameter: 4–8 mm; Typical cable: Anemometer and rain gauge (RJ11)” [1]"
    )
    assert reply["sources"][0]["url"] == f"{SITE}/docs/enclosure-and-power#cable-glands"


def test_a_numeric_list_item_is_quoted_with_its_lead_in(api):
    reply = ask(api, "How much does the recommended mast weigh?")
    assert "with these specifications: Weight: 14 kg." in reply["answer"]
    assert reply["sources"][0]["url"] == f"{SITE}/docs/maintenance#the-mast"


def test_code_is_quoted_with_the_sentence_that_introduces_it(api):
    reply = ask(api, "How do I send a reading to the server?")
    lead = "“Send one reading per request with POST /api/readings, a JSON body and a bearer token:” [1]"
    assert reply["answer"].startswith(lead + "\n\n```bash\ncurl -X POST https://weather.example.org/api/readings \\\n")
    assert CODE_BLOCK.search(reply["answer"]).group(2).endswith('"temperature_c": 4.2}\'')
    assert reply["sources"][0]["url"] == f"{SITE}/docs/software/server-api#sending-a-reading"


def test_code_a_page_imports_with_raw_loader_is_quoted_as_its_code_block_shows_it(api):
    # `import Watchdog from '!!raw-loader!./examples/watchdog.py'` and `<CodeBlock …>{Watchdog}</CodeBlock>`.
    reply = ask(api, "How does the firmware restart a frozen board?")
    assert reply["answer"].startswith("“A station on a mast is hard to reach, so the firmware arms the board's")
    code = CODE_BLOCK.search(reply["answer"])
    assert code.group(0).lstrip("\n").startswith('```python title="watchdog.py"\n# watchdog.py: restart the board')
    assert "wdt = WDT(timeout=150_000)" in code.group(2)
    assert reply["sources"][0]["url"] == f"{SITE}/docs/software/firmware#recovering-from-a-freeze"


LOGGING = f"{SITE}/docs/logging#installing-the-logging-server"


@pytest.mark.parametrize(
    ("question", "answer", "url"),
    [
        # Docusaurus tabs labelled by <Tabs values={[...]}>, on a .md page (MDX, as Docusaurus reads it).
        pytest.param(
            "How do I install the logging server on macOS?",
            "“macOS:” [1]\n\n```bash\nbrew install weatherlog\n```",
            LOGGING,
            id="tab-label",
        ),
        pytest.param(
            "How do I install the logging server on a Raspberry Pi?",
            "```bash\nsudo apt install python3-weatherlog\n",
            LOGGING,
            id="tab-value-label",
        ),
        pytest.param(  # indented inside its tab, and text: MDX has no indented code
            "How do I install the logging server on Windows?",
            "run weatherlog-setup.exe as an administrator",
            LOGGING,
            id="tab-indented-text",
        ),
        pytest.param(
            "Which file holds the logging server's settings?",
            '“The server reads its settings from one file:” [1]\n\n```toml title="/etc/weatherlog/logger.toml"\n',
            LOGGING,
            id="code-title",
        ),
        # "The logging server in this book accepts readings over HTTPS..." shares more words with the question;
        # the lead-in with its curl command is what the reader can act on.
        pytest.param(
            "How do I send a reading to the logging server?",
            "```bash\ncurl -X POST https://weather.example.org/api/readings",
            f"{SITE}/docs/software/server-api#sending-a-reading",
            id="how-to-command",
        ),
        # `import UsbSafety from './_usb-safety.mdx'` ... `<UsbSafety />`: the partial is no page of its own.
        pytest.param(
            "What must I disconnect before plugging the board into a computer?",
            "Disconnect the solar panel before you plug the board into a computer",
            f"{SITE}/docs/software/firmware#installing-micropython",
            id="partial",
        ),
    ],
)
def test_answers_read_the_page_as_its_site_shows_it(api, question, answer, url):
    reply = ask(api, question)
    assert answer in reply["answer"]
    assert reply["sources"][0]["url"] == url


def test_links_use_the_site_routes_and_anchors(api):
    reply = ask(api, "How much rain is one tip of the bucket?")
    assert reply["sources"][0]["url"].startswith(f"{SITE}/docs/sensors/wind%20and%20rain/rain#")
    reply = ask(api, "Why does my station read too warm on sunny days?")
    assert reply["sources"][0]["url"] == f"{SITE}/docs/troubleshooting#too-warm"  # an explicit {#custom-id}


def test_exercise_questions_are_never_quoted(api):
    reply = ask(api, "Which sensor in the comparison table has the best humidity accuracy?")
    assert "?" not in reply["answer"]
    assert all("exercises" not in source["url"] for source in reply["sources"])


def test_front_matter_and_mdx_never_reach_an_answer(api):
    reply = ask(api, "Which MicroPython version does the firmware need?")
    assert "1.22" in reply["answer"]
    assert "import" not in reply["answer"] and "Highlight" not in reply["answer"]


def test_a_selection_is_explained_from_its_context(api):
    selection = "Relative humidity sensors suffer near 100 %"
    reply = ask(api, "What does this mean?", selected_text=selection)
    assert reply["status"] == "answered"
    assert "condenses on the sensing film" in reply["answer"] or "heater" in reply["answer"]
    assert reply["answer"].strip("“”[]0123456789 ") != selection
    assert reply["sources"][0]["kind"] == "selection"


@pytest.mark.parametrize(
    "question",
    [
        "What is the accuracy of the BMP390 pressure sensor?",  # a model the book never mentions
        "How do tornado sirens work?",
        "How do I connect my station to Weather Underground?",
        "Who painted the Mona Lisa?",
    ],
)
def test_questions_the_book_does_not_cover_are_declined(api, question):
    assert ask(api, question)["status"] == "no_answer"


@pytest.mark.parametrize("question", ["What is this book about?", "Who is this handbook for?", "What will I learn?"])
def test_questions_about_the_book_are_answered_from_its_front_page(api, question):
    reply = ask(api, question)
    assert reply["status"] == "answered", reply
    assert {source["url"].split("#")[0] for source in reply["sources"]} == {f"{SITE}/docs/"}
    # How the book introduces itself comes first (no passage is similar enough to such a question to pass
    # the evidence gate; searched, it was declined).
    assert reply["answer"].startswith("“This handbook walks you through building a small weather station")


def test_a_question_about_the_book_with_a_selection_is_about_the_selection(api):
    reply = ask(api, "What is this book about?", selected_text="Relative humidity sensors suffer near 100 %")
    assert reply["sources"][0]["kind"] == "selection"
