"""Reader feedback and unanswered questions through the API: what is recorded, and every refusal."""

import logging

import pytest
from django.db import connection
from django.urls import reverse

from chat.models import AnswerCount, Feedback, Gap, GapGroup
from tests.chat.test_api import assert_error, messages_url, new_session

pytestmark = pytest.mark.django_db

UNANSWERABLE = "What is the boiling point of mercury in kelvin?"


def feedback_url(session_id: str) -> str:
    return reverse("chat-session-feedback", args=[session_id])


def ask(api, session_id: str, message: str, **extra) -> dict:
    response = api.post(messages_url(session_id), {"message": message, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def rate(api, session_id: str, answer_id: str, rating: str, comment: str | None = None):
    body = {"answer_id": answer_id, "rating": rating}
    if comment is not None:
        body["comment"] = comment
    return api.post(feedback_url(session_id), body, format="json")


def test_every_reply_has_an_answer_id_kept_with_its_turn(api, knowledge):
    session_id = new_session(api)
    reply = ask(api, session_id, "When did the Golden Gate Bridge open?")
    assert len(reply["answer_id"]) == 32
    turns = api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"]
    assert turns[1]["data"]["answer_id"] == reply["answer_id"]
    assert ask(api, session_id, "And Tower Bridge?")["answer_id"] != reply["answer_id"]


def test_thumbs_up_keeps_the_rating_question_answer_and_sources_without_the_session(api, knowledge):
    session_id = new_session(api)
    reply = ask(api, session_id, "When did the Golden Gate Bridge open?")
    response = rate(api, session_id, reply["answer_id"], "up")
    assert response.status_code == 200
    assert response.json() == {"answer_id": reply["answer_id"], "rating": "up", "comment": ""}
    feedback = Feedback.objects.get()
    assert feedback.rating == "up"
    assert feedback.question == "When did the Golden Gate Bridge open?"
    assert feedback.answer == reply["answer"]
    assert feedback.generator == "extractive" and feedback.status == "answered"
    assert feedback.sources[0]["title"] == "Bridges"
    assert feedback.sources[0]["chunk_id"] == reply["sources"][0]["chunk_id"]
    assert list(feedback.documents.all()) == [knowledge["Bridges"]]
    stored = " ".join(str(value) for value in Feedback.objects.values().get().values())
    assert session_id not in stored and "127.0.0.1" not in stored
    assert not Gap.objects.exists()  # a helpful answer is not a gap


def test_a_second_vote_changes_the_first_and_down_keeps_a_gap_until_changed_back(api, knowledge):
    session_id = new_session(api)
    reply = ask(api, session_id, "Who built the Hubble Space Telescope?")
    assert rate(api, session_id, reply["answer_id"], "up").status_code == 200
    response = rate(api, session_id, reply["answer_id"], "down", "It should say who ground the mirror too.")
    assert response.status_code == 200
    assert Feedback.objects.count() == 1
    feedback = Feedback.objects.get()
    assert feedback.rating == "down" and feedback.comment == "It should say who ground the mirror too."
    gap = Gap.objects.get()
    assert gap.reason == "rated_down"
    assert gap.question == "Who built the Hubble Space Telescope?"
    assert gap.group is not None and gap.group.label == gap.question
    assert gap.nearest and gap.nearest[0]["title"] == "Telescopes"
    assert 0 < gap.nearest[0]["similarity"] <= 1
    # Voting down twice keeps one gap; changing to up takes it back.
    rate(api, session_id, reply["answer_id"], "down")
    assert Gap.objects.count() == 1
    rate(api, session_id, reply["answer_id"], "up")
    assert not Gap.objects.exists()
    assert Feedback.objects.get().rating == "up"


def test_unanswered_question_is_kept_as_a_gap_with_what_the_book_says_closest(api, knowledge):
    session_id = new_session(api)
    reply = ask(api, session_id, UNANSWERABLE)
    assert reply["status"] == "no_answer"
    gap = Gap.objects.get()
    assert gap.reason == "no_answer" and gap.question == UNANSWERABLE and gap.answer_id == reply["answer_id"]
    assert gap.query == reply["query"]
    assert len(gap.nearest) == 3
    assert {passage["title"] for passage in gap.nearest} <= {"Telescopes", "Bridges", "Cheese"}
    similarities = [passage["similarity"] for passage in gap.nearest]
    assert similarities == sorted(similarities, reverse=True)
    assert GapGroup.objects.get().label == UNANSWERABLE
    assert AnswerCount.objects.get(status="no_answer").count == 1


def test_selection_that_does_not_answer_is_a_gap_with_the_selection(api, knowledge):
    session_id = new_session(api)
    selection = (
        "Tower Bridge in London was completed in 1894. Its bascules are raised for tall ships on the River Thames."
    )
    reply = ask(api, session_id, "What does this mean?", selected_text=selection)
    assert reply["status"] == "selection_only"
    gap = Gap.objects.get()
    assert gap.reason == "selection_only" and gap.selected_text == selection


def test_answers_are_counted_per_day_and_status(api, knowledge):
    session_id = new_session(api)
    ask(api, session_id, "When did the Golden Gate Bridge open?")
    ask(api, session_id, "Where did cheddar cheese originate?")
    ask(api, session_id, UNANSWERABLE)
    counts = dict(AnswerCount.objects.values_list("status", "count"))
    assert counts == {"answered": 2, "no_answer": 1}


def test_recording_off_keeps_only_ratings_and_counts(api, knowledge, settings):
    settings.CHAT_RECORD_QUESTIONS = False
    session_id = new_session(api)
    unanswered = ask(api, session_id, UNANSWERABLE)
    answered = ask(api, session_id, "When did the Golden Gate Bridge open?")
    rate(api, session_id, answered["answer_id"], "down", "my mail is reader@example.org")
    rate(api, session_id, unanswered["answer_id"], "down")
    assert not Gap.objects.exists() and not GapGroup.objects.exists()
    assert Feedback.objects.count() == 2
    for feedback in Feedback.objects.all():
        assert feedback.question == feedback.answer == feedback.comment == feedback.selected_text == ""
        assert feedback.rating == "down"
    assert AnswerCount.objects.get(status="no_answer").count == 1


def test_personal_details_are_redacted_before_anything_is_stored(api, knowledge):
    session_id = new_session(api)
    question = "I am jane.doe@example.com, call +1 (415) 555-0132 about card 4111111111111111: mercury boiling point?"
    reply = ask(api, session_id, question)
    assert reply["status"] == "no_answer"
    rate(api, session_id, reply["answer_id"], "down", "Reach me at jane.doe@example.com or 020 7946 0958")
    gap = Gap.objects.get(reason="no_answer")
    assert gap.question == "I am [email], call [phone] about card [number]: mercury boiling point?"
    feedback = Feedback.objects.get()
    assert feedback.question == gap.question
    assert feedback.comment == "Reach me at [email] or [phone]"


def test_redaction_can_be_turned_off(api, knowledge, settings):
    settings.CHAT_REDACT_QUESTIONS = False
    session_id = new_session(api)
    ask(api, session_id, "Can jane.doe@example.com read about mercury's boiling point?")
    assert "jane.doe@example.com" in Gap.objects.get().question


def test_a_database_error_while_recording_still_answers_the_reader_and_counts_the_answer(api, knowledge, caplog):
    with connection.cursor() as cursor:  # every insert into the gap table now fails, inside Postgres
        cursor.execute("ALTER TABLE chat_gap ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    session_id = new_session(api)
    with caplog.at_level(logging.ERROR, logger="chat.feedback_services"):
        reply = ask(api, session_id, UNANSWERABLE)
    assert reply["status"] == "no_answer"
    assert "could not record an answer's question" in caplog.text
    assert not Gap.objects.exists()
    assert AnswerCount.objects.get(status="no_answer").count == 1  # the answer was given: it counts
    turns = api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"]
    assert len(turns) == 2  # the conversation itself is kept


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"answer_id": "0" * 32, "rating": "up"}, 404, "answer_not_found"),
        ({"answer_id": "ANSWER", "rating": "up"}, 400, "invalid_answer_id"),
        ({"rating": "up"}, 400, "invalid_answer_id"),
        ({"answer_id": None, "rating": "up"}, 400, "invalid_answer_id"),
        ({"rating": "sideways", "answer_id": "0" * 32}, 400, "invalid_rating"),
        ({"answer_id": "0" * 32}, 400, "invalid_rating"),
        ({"answer_id": "0" * 32, "rating": "down", "comment": "x" * 501}, 400, "comment_too_long"),
        ({"answer_id": "0" * 32, "rating": "down", "comment": ["a list"]}, 400, "invalid_request"),
    ],
)
def test_bad_feedback_is_refused_with_a_stable_code(api, knowledge, body, status, code):
    session_id = new_session(api)
    ask(api, session_id, "When did the Golden Gate Bridge open?")
    response = api.post(feedback_url(session_id), body, format="json")
    assert_error(response, status, code)
    assert not Feedback.objects.exists()


def test_feedback_for_an_unknown_or_malformed_session(api, knowledge):
    body = {"answer_id": "0" * 32, "rating": "up"}
    assert_error(
        api.post(feedback_url("6f1c9b4e-2d3a-4c5b-8e7f-0a1b2c3d4e5f"), body, format="json"), 404, "session_not_found"
    )
    assert_error(api.post(feedback_url("not-a-uuid"), body, format="json"), 400, "invalid_session_id")


def test_an_answer_of_another_session_cannot_be_rated(api, knowledge):
    first, second = new_session(api), new_session(api)
    reply = ask(api, first, "When did the Golden Gate Bridge open?")
    assert_error(rate(api, second, reply["answer_id"], "up"), 404, "answer_not_found")


def test_feedback_is_throttled_per_session_like_messages(api, knowledge, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "chat_session": "3/min"},
    }
    session_id = new_session(api)
    reply = ask(api, session_id, "When did the Golden Gate Bridge open?")
    assert rate(api, session_id, reply["answer_id"], "up").status_code == 200
    assert rate(api, session_id, reply["answer_id"], "down").status_code == 200
    response = rate(api, session_id, reply["answer_id"], "up")
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"]


def test_feedback_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/chat/sessions/{id}/feedback/"]["post"]
    assert {"200", "400", "404", "429"} <= set(operation["responses"])
    request = schema["components"]["schemas"]["FeedbackRequest"]
    assert set(request["required"]) == {"answer_id", "rating"}
    rating = request["properties"]["rating"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][rating]["enum"] == ["up", "down"]
    assert request["properties"]["comment"]["maxLength"] == 500
    assert "answer_id" in schema["components"]["schemas"]["Reply"]["required"]
