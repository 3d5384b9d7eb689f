"""The content loop in the admin, as a logged-in curator uses it: gaps, re-check, feedback, exports, the panel."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from chat.models import Feedback, Gap, GapGroup
from tests.chat.test_api import messages_url, new_session
from tests.chat.test_feedback import feedback_url

pytestmark = pytest.mark.django_db

GAPS = reverse("admin:chat_gapgroup_changelist")
FEEDBACK = reverse("admin:chat_feedback_changelist")
EIFFEL_QUESTION = "Who designed the Eiffel Tower?"
EIFFEL = """# Towers

## Eiffel Tower

The Eiffel Tower in Paris was designed by the engineers Maurice Koechlin and Émile Nouguier for Gustave Eiffel's
company, and it was completed in 1889 for the World's Fair.
"""


def ask(api, session_id: str, message: str) -> dict:
    response = api.post(messages_url(session_id), {"message": message}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def asked(api, knowledge):
    """A reader's session: two unanswered questions of one meaning, one of another, an answer rated each way."""
    session_id = new_session(api)
    ask(api, session_id, EIFFEL_QUESTION)
    ask(api, session_id, "Which engineers designed the Eiffel Tower?")
    ask(api, session_id, "What is the boiling point of mercury in kelvin?")
    good = ask(api, session_id, "When did the Golden Gate Bridge open?")
    bad = ask(api, session_id, "Who built the Hubble Space Telescope?")
    api.post(feedback_url(session_id), {"answer_id": good["answer_id"], "rating": "up"}, format="json")
    body = {"answer_id": bad["answer_id"], "rating": "down", "comment": '=HYPERLINK("http://evil")'}
    api.post(feedback_url(session_id), body, format="json")
    return session_id


def test_gap_and_feedback_pages_are_for_staff_only(asked):
    for url in (GAPS, FEEDBACK, reverse("admin:index")):
        assert Client().get(url).status_code == 302
    user = get_user_model().objects.create_user(username="reader", password="a-long-test-pass")
    client = Client()
    client.force_login(user)
    for url in (GAPS, FEEDBACK):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_gaps_are_grouped_with_count_examples_and_what_the_book_says_closest(staff_client, asked):
    page = staff_client.get(GAPS).content.decode()
    eiffel = GapGroup.objects.get(label=EIFFEL_QUESTION)
    assert eiffel.gaps.count() == 2
    assert GapGroup.objects.count() == 3  # Eiffel (2 asked), mercury, and the rated-down Hubble answer
    assert "Which engineers designed the Eiffel Tower?" in page  # an example question
    assert "What the book says closest" in page
    document_url = reverse(
        "admin:knowledge_sourcedocument_change", args=[Gap.objects.first().nearest[0]["document_id"]]
    )
    assert document_url in page
    assert "similarity" in page
    # The largest group comes first.
    assert page.index(EIFFEL_QUESTION) < page.index("boiling point of mercury")


def test_dismissed_and_resolved_groups_are_hidden_by_default_and_filterable(staff_client, asked):
    mercury = GapGroup.objects.get(label__contains="mercury")
    response = staff_client.post(GAPS, {"action": "dismiss", "_selected_action": [mercury.pk]}, follow=True)
    assert "Dismissed 1 group(s)." in response.content.decode()
    mercury.refresh_from_db()
    assert mercury.status == "dismissed"
    assert "boiling point of mercury" not in staff_client.get(GAPS).content.decode()
    assert "boiling point of mercury" in staff_client.get(GAPS, {"status": "dismissed"}).content.decode()
    assert "boiling point of mercury" in staff_client.get(GAPS, {"status": "all"}).content.decode()
    staff_client.post(GAPS + "?status=dismissed", {"action": "reopen", "_selected_action": [mercury.pk]})
    mercury.refresh_from_db()
    assert mercury.status == "open"


def test_hand_made_filter_values_show_nothing_instead_of_failing(staff_client, asked):
    for url in (GAPS, FEEDBACK, reverse("admin:knowledge_sourcedocument_changelist")):
        for query in ("status=bogus", "document=abc", "rating__exact=sideways"):
            assert staff_client.get(f"{url}?{query}").status_code in {200, 302}
        # PostgreSQL cannot compare with a NUL character: refused up front, not a server error.
        for query in ("status=%00", "status__exact=%00", "q=%00"):
            response = staff_client.get(f"{url}?{query}")
            assert response.status_code == 400
            assert "NUL character" in response.content.decode()


def test_recheck_resolves_a_group_once_the_book_answers_it(staff_client, asked, make_document):
    eiffel = GapGroup.objects.get(label=EIFFEL_QUESTION)
    response = staff_client.post(GAPS, {"action": "recheck", "_selected_action": [eiffel.pk]}, follow=True)
    assert "0 of 2 question(s) are answered now; it stays open." in response.content.decode()
    eiffel.refresh_from_db()
    assert eiffel.status == "open" and eiffel.checked_at is not None

    make_document(title="Towers", text=EIFFEL)  # the curator adds what was missing
    response = staff_client.post(GAPS, {"action": "recheck", "_selected_action": [eiffel.pk]}, follow=True)
    assert "all 2 question(s) are answered now; the group is resolved." in response.content.decode()
    eiffel.refresh_from_db()
    assert eiffel.status == "resolved"
    assert EIFFEL_QUESTION not in staff_client.get(GAPS).content.decode()
    assert not Feedback.objects.filter(question=EIFFEL_QUESTION).exists()
    assert Gap.objects.count() == 4  # re-asking records nothing new


def test_feedback_list_filters_search_and_csv_export(staff_client, asked, knowledge):
    page = staff_client.get(FEEDBACK).content.decode()
    assert "Who built the Hubble Space Telescope?" in page and "When did the Golden Gate Bridge open?" in page
    down = staff_client.get(FEEDBACK, {"rating__exact": "down"}).content.decode()
    assert "Hubble" in down and "Golden Gate" not in down
    cited = staff_client.get(FEEDBACK, {"document": knowledge["Bridges"].pk}).content.decode()
    assert "Golden Gate" in cited and "Hubble Space Telescope?" not in cited
    found = staff_client.get(FEEDBACK, {"q": "Hubble"}).content.decode()
    assert "Hubble" in found and "Golden Gate Bridge open" not in found

    ids = list(Feedback.objects.values_list("pk", flat=True))
    response = staff_client.post(FEEDBACK, {"action": "export_csv", "_selected_action": ids})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["created_at", "rating", "comment", "question"]
    by_rating = {row[1]: row for row in rows[1:]}
    assert by_rating["down"][3] == "Who built the Hubble Space Telescope?"
    assert by_rating["down"][2] == '\'=HYPERLINK("http://evil")'  # never a live formula in a spreadsheet
    assert "Bridges" in by_rating["up"][6]


def test_documents_show_how_often_rated_answers_cited_them(staff_client, asked, knowledge):
    page = staff_client.get(reverse("admin:knowledge_sourcedocument_changelist")).content.decode()
    assert "👍 cited" in page and "👎 cited" in page
    documents = reverse("admin:knowledge_sourcedocument_changelist")
    ordered = staff_client.get(documents, {"o": "-7"}).context["cl"].result_list
    counts = {document.title: (document.cited_up, document.cited_down) for document in ordered}
    assert counts == {"Bridges": (1, 0), "Telescopes": (0, 1), "Cheese": (0, 0)}
    change = staff_client.get(reverse("admin:knowledge_sourcedocument_change", args=[knowledge["Bridges"].pk]))
    assert change.status_code == 200 and "Reader feedback" in change.content.decode()
    assert staff_client.get(reverse("admin:knowledge_sourcedocument_add")).status_code == 200


def test_admin_index_panel_shows_answers_shares_and_top_gaps(staff_client, asked):
    response = staff_client.get(reverse("admin:index"))
    page = response.content.decode()
    summary = response.context["summary"]
    assert summary.answers == 5 and summary.not_answered == 3 and summary.rated_down == 1
    assert 'id="coverage-answers">5<' in page
    assert "60% (3)" in page and "20% (1)" in page
    assert [group.label for group in summary.top_gaps][0] == EIFFEL_QUESTION
    assert reverse("admin:chat_gapgroup_change", args=[summary.top_gaps[0].pk]) in page


def test_admin_index_gives_the_widget_tag_and_checks_the_books_sites_against_cors(staff_client, settings):
    from knowledge.models import SourceDocument

    for reference in [
        "https://book.example.org/docs/intro",
        "https://book.example.org/docs/setup",
        "https://old.example.net/guide/",
    ]:
        SourceDocument.objects.create(title=reference, reference=reference, text="Some text.")
    settings.CORS_ALLOWED_ORIGINS = ["https://book.example.org"]
    settings.CHAT_API_KEYS = ["a-secret-reader-key"]
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert '&lt;script src="http://testserver/static/chat/widget.js" defer&gt;&lt;/script&gt;' in page
    sites = page[page.index('id="embed-sites"') :]
    book, old = sites.index("https://book.example.org"), sites.index("https://old.example.net")
    assert "(2 documents)" in sites and "(1 document)" in sites
    assert "can reach this server" in sites[book:old] and "not allowed yet" in sites[old:]
    # The key is named, never shown.
    assert 'id="embed-key-note"' in page and "a-secret-reader-key" not in page

    settings.CORS_ALLOWED_ORIGINS = ["https://book.example.org", "https://old.example.net"]
    settings.CHAT_API_KEYS = []
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert "not allowed yet" not in page and 'id="embed-key-note"' not in page
