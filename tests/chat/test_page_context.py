"""Page-aware answers through the API: the reader's page favours its document, never excludes the others, and
never makes an off-topic question answerable."""

import pytest
from django.urls import reverse

from knowledge.selectors import page_document

pytestmark = pytest.mark.django_db(transaction=True)

LATHE = """# The lathe

## Safety rules

Wear safety goggles at the lathe, tie back long hair, and never leave the chuck key in the chuck.

## Turning a spindle

Mount the blank between centres, set the tool rest close to the wood, and start at the slowest speed.
"""

DRILL = """# The drill press

## Safety rules

Wear safety goggles at the drill press, clamp the workpiece to the table, and never hold small parts by hand.

## Drilling to depth

Set the depth stop before you start, and drill in short pecks to clear the chips.
"""

SHOP = "https://workshop.example.org"
QUESTION = "What are the safety rules?"


@pytest.fixture
def workshop(make_document):
    lathe = make_document(title="The lathe", text=LATHE)
    drill = make_document(title="The drill press", text=DRILL)
    lathe.reference = f"{SHOP}/tools/lathe/"
    drill.reference = "/tools/drill-press"  # relative: the book's own path
    for document in (lathe, drill):
        document.save(update_fields=["reference"])
    return {"lathe": lathe, "drill": drill}


def converse(api, message: str, **extra) -> dict:
    response = api.post(reverse("chat-converse"), {"message": message, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def titles(reply: dict) -> list[str]:
    return [source["title"] for source in reply["sources"]]


def test_the_readers_page_favours_its_document_both_ways(api, workshop):
    from_lathe = converse(api, QUESTION, page={"url": f"{SHOP}/tools/lathe/", "title": "The lathe"})
    from_drill = converse(api, QUESTION, page={"url": "http://localhost:3000/tools/drill-press/#safety-rules"})
    assert from_lathe["page_context"] == from_drill["page_context"] == "matched"
    assert titles(from_lathe)[0] == "The lathe" and "chuck key" in from_lathe["answer"]
    assert titles(from_drill)[0] == "The drill press" and "clamp the workpiece" in from_drill["answer"]


def test_a_page_of_another_site_or_none_changes_nothing(api, workshop):
    plain = converse(api, QUESTION)
    elsewhere = converse(api, QUESTION, page={"url": "https://news.example.com/tools/planer/"})
    assert (plain["page_context"], elsewhere["page_context"]) == ("none", "unmatched")
    assert elsewhere["sources"] == plain["sources"] and elsewhere["answer"] == plain["answer"]


@pytest.mark.parametrize(
    "page",
    [
        "https://workshop.example.org/tools/lathe/",  # not an object
        {"url": "javascript:alert(document.domain)"},
        {"url": 42},
        {"title": "no url"},
        {"url": "https://workshop.example.org/" + "x" * 3000},
        None,
    ],
)
def test_a_malformed_page_is_ignored_not_refused(api, workshop, page):
    reply = converse(api, QUESTION, page=page)
    assert reply["page_context"] == "none"


def test_a_page_never_makes_an_off_topic_question_answerable(api, workshop):
    reply = converse(api, "What is the boiling point of mercury in kelvin?", page={"url": f"{SHOP}/tools/lathe/"})
    assert reply["status"] == "no_answer" and reply["page_context"] == "matched"


def test_a_follow_up_keeps_the_page_of_the_question_before_it(api, workshop):
    first = converse(api, "How do I turn a spindle?", page={"url": f"{SHOP}/tools/lathe/", "title": "The lathe"})
    follow_up = converse(api, QUESTION, session_id=first["session_id"])
    assert follow_up["page_context"] == "matched" and titles(follow_up)[0] == "The lathe"
    turns = api.get(reverse("chat-session-detail", args=[first["session_id"]])).json()["turns"]
    page = {"url": f"{SHOP}/tools/lathe/", "title": "The lathe"}
    assert turns[0]["data"]["page"] == turns[2]["data"]["page"] == page


def test_the_section_the_url_names_counts_more(api, make_document):
    # Two sections of one page answer the question about as well; the #fragment picks the reader's.
    guide = make_document(
        title="Finishing",
        text="# Finishing\n\n## Oil finish\n\nApply the oil finish with a soft cloth and let each coat dry a day."
        "\n\n## Wax finish\n\nApply the wax finish with a soft cloth and buff each coat after an hour.\n",
    )
    guide.reference = "/finishing/"
    guide.save(update_fields=["reference"])
    question = "How do I apply the finish with a cloth?"
    wax = converse(api, question, page={"url": f"{SHOP}/finishing/#wax-finish"})
    oil = converse(api, question, page={"url": f"{SHOP}/finishing/#oil-finish"})
    assert wax["sources"][0]["section"] == "Finishing > Wax finish"
    assert oil["sources"][0]["section"] == "Finishing > Oil finish"


def test_page_context_can_be_turned_off(api, workshop, settings):
    settings.CHAT_PAGE_WEIGHT = 0.0
    from chat.engine import reset_chat_engine

    reset_chat_engine()
    reply = converse(api, QUESTION, page={"url": f"{SHOP}/tools/lathe/"})
    assert reply["page_context"] == "none"


def test_the_openai_compatible_endpoint_takes_the_page(api, workshop):
    body = {
        "model": "book",
        "messages": [{"role": "user", "content": QUESTION}],
        "page": {"url": f"{SHOP}/tools/drill-press"},
    }
    completion = api.post(reverse("openai-chat-completions"), body, format="json").json()
    assert completion["page_context"] == "matched" and completion["sources"][0]["title"] == "The drill press"


def test_pages_resolve_by_path_whatever_the_host_scheme_slash_or_encoding(workshop, make_document):
    lathe, drill = workshop["lathe"].id, workshop["drill"].id
    spaced = make_document(title="First steps", text="# First steps\n\nHello.")
    spaced.reference = "https://workshop.example.org/guide/first%20steps/"
    spaced.save(update_fields=["reference"])
    cases = {
        f"{SHOP}/tools/lathe/": (lathe, ""),
        "http://workshop.example.org/tools/lathe": (lathe, ""),
        "https://preview.example.net/tools/lathe/?utm=x#safety-rules": (lathe, "safety-rules"),
        "https://workshop.example.org/tools/drill-press/": (drill, ""),
        "https://workshop.example.org/guide/first%20steps": (spaced.id, ""),
    }
    for url, (document_id, anchor) in cases.items():
        match = page_document(url=url)
        assert (match.document_id, match.anchor) == (document_id, anchor), url
    for url in (f"{SHOP}/", f"{SHOP}/tools/", f"{SHOP}/tools/lathe/extra", "ftp://workshop.example.org/tools/lathe"):
        assert page_document(url=url) is None, url


def test_whether_a_question_is_answered_never_depends_on_the_page(api, workshop):
    pages = [None, {"url": f"{SHOP}/tools/lathe/"}, {"url": f"{SHOP}/tools/drill-press/#drilling-to-depth"}]
    questions = [QUESTION, "How deep should I drill?", "What is the boiling point of mercury?", "Who won in 1998?"]
    for question in questions:
        statuses = {converse(api, question, page=page)["status"] for page in pages}
        assert len(statuses) == 1, (question, statuses)
